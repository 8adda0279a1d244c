// The producer studio (#/studio): choose an ESP from the ranking, write a prompt (the ESP sees its
// commitment, and the prompt once the fee is locked), pay the quoted fee lock from the wallet,
// watch the task live (server-sent events), open the sealed delivery with the wallet-derived
// delivery key, register the image (commit, then reveal), list it.
// Every signature and transaction goes through the wallet (EIP-1193); the SDK (js/sdk, bundled
// into sdk.bundle.js by js/sdk/scripts/bundle-web.sh) does the cryptography and the checks.
import {
  AigcApiError, AigcSdkError, DeliveryMismatchError, createAigcClient, createPublicClient,
  createWalletClient, custom, formatEther, parseEther,
} from "./sdk.bundle.js";
import { WalletError, authHeaders, checkMarketNetwork, session } from "./wallet.js";

/** The task's states in order, as the studio shows them. */
const STEPS = [
  ["posted", "Task posted to the ESP (it sees only a commitment to your prompt)"],
  ["quoted", "The ESP quoted a price (signed EIP-712 quote)"],
  ["locked", "Fee locked on chain and the quote acknowledged (the ESP now reads your prompt)"],
  ["delivered", "The ESP delivered the sealed image"],
  ["claimed", "The ESP claimed the fee (its secret is now on chain)"],
  ["registered", "Image registered as a token"],
];
const ORDER = Object.fromEntries(STEPS.map(([s], i) => [s, i]));

/** Words for the API's and the SDK's stable codes a producer can meet here. */
const MESSAGES = {
  bad_price: "A listing's price must be more than 0 ETH: nothing was signed.",
  esp_not_registered: "That ESP is not registered (any more): choose another one.",
  no_eligible_esp: "No ESP can take the task right now.",
  bad_quote: "The quote is not signed by the ESP it names: nothing was paid.",
  prompt_commitment_mismatch: "The server would show the ESP a commitment to another prompt than yours: nothing was paid.",
  not_quoted: "The task has no quote yet.",
  not_claimed: "The ESP has not claimed the fee yet, so the delivery cannot be opened.",
  delivery_mismatch: "The delivered image differs from what the ESP attested.",
  delivery_unopenable: "The delivery does not open with your key.",
  esp_mismatch: "The server names another ESP for this delivery than the one your fee lock paid: it is not shown.",
  bad_attestation: "The delivery is not attested by the ESP you paid, for this image: it is not shown, and nothing was committed.",
  delivery_message_mismatch: "The server asks your wallet to sign an unexpected delivery-key message: nothing was signed.",
  tx_reverted: "The transaction was reverted on chain.",
  no_fraud: "The delivery matches its attestation: there is no fraud to report.",
  bad_key: "That key is not the one the ESP committed to: the report was refused.",
  not_signed_in: "Sign in with your wallet first.",
  rate_limited: "Too many requests: wait a moment and try again.",
  validation_error: "The request was not valid: check the prompt and the price.",
  // the SDK's checks of what the API asks the wallet to sign (nothing was signed)
  tx_mismatch: "The server asked your wallet to sign a transaction other than the one you asked for: nothing was signed or paid.",
  wrong_chain: "Your wallet is on another network than the marketplace: switch back, then try again (nothing was signed).",
  price_above_max: "The quote is above the maximum price you offered: nothing was paid.",
  task_mismatch: "The server filed the task differently from what you asked (ESP, maximum price or account): nothing was paid.",
  deployment_mismatch: "The server names other contracts than the marketplace's: nothing was signed.",
  wrong_sender: "Your wallet switched accounts: sign in again with the account you started with (nothing was signed).",
  account_changed: "Your wallet switched to another account mid-way: switch back, or sign in again with the new one (nothing was signed).",
  not_producer: "This task belongs to another account than your wallet's current one: switch back (nothing was paid).",
  hash_mismatch: "The marketplace computes another content hash for this image than the token's: it was not published.",
  forbidden: "Only the token's producer or owner may publish its image.",
};

/** Turns anything thrown into {code, message} a person can act on. */
export function explain(err) {
  if (err instanceof WalletError) return err;
  let e = err;
  for (let i = 0; e && i < 8; i++, e = e.cause) {
    if (e.code === 4001) return new WalletError("rejected", "You rejected the request in your wallet; nothing was signed or sent.");
    if (e.code === 4100) return new WalletError("unauthorized", "Your wallet has not authorised this site: connect it first.");
  }
  if (err instanceof DeliveryMismatchError) return new WalletError("delivery_mismatch", `${MESSAGES.delivery_mismatch} Report it: the key proves it.`);
  if (err instanceof AigcApiError || err instanceof AigcSdkError) {
    const text = String(err.message).replace(/^(\d+ )?[a-z_]+: /, "");
    return new WalletError(err.code, MESSAGES[err.code] || text);
  }
  return new WalletError("wallet_error", `Something failed: ${err && err.shortMessage ? err.shortMessage : String(err && err.message || err)}`);
}

/** The SDK client over the page's wallet: reads and signatures both through EIP-1193. */
export function sdkClient() {
  const transport = custom(globalThis.ethereum);
  const aigc = createAigcClient({
    baseUrl: location.origin,
    publicClient: createPublicClient({ transport, pollingInterval: 250 }),
    walletClient: createWalletClient({ account: session().address, transport }),
  });
  const s = session();
  aigc.session = { token: s.token, address: s.address, expiresAt: String(s.expiresAt) };
  return aigc;
}

/**
 * Follows a task's server-sent events (GET /v1/tasks/{id}/events, read as a stream so the
 * bearer token travels in a header) and calls `onTask` with each state; reconnects when the
 * server ends the stream before a final state, waiting longer after each failure, and as
 * long as `Retry-After` says when the account holds too many open streams (429).
 */
export function watchTask(taskId, onTask, onError) {
  const ctrl = new AbortController();
  const FINAL = new Set(["registered", "refunded", "fraud_proven"]);
  (async () => {
    let failures = 0;
    let done = false;
    while (!done && !ctrl.signal.aborted) {
      try {
        const res = await fetch(`/v1/tasks/${taskId}/events`, { headers: authHeaders(), signal: ctrl.signal });
        if (res.status === 429) {
          // too many open streams for this account (other tabs): wait as told, then try again
          const wait = Number(res.headers.get("Retry-After")) || 15;
          await new Promise((r) => setTimeout(r, Math.min(60, wait) * 1000));
          continue;
        }
        if (!res.ok) {
          const body = await res.json().catch(() => ({}));
          const e = body.error || {};
          throw new AigcApiError(res.status, e.code || `http_${res.status}`, e.message || "cannot follow the task");
        }
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = "";
        for (;;) {
          const { value, done: end } = await reader.read();
          if (end) break;
          buffer += value;
          let cut;
          while ((cut = buffer.indexOf("\n\n")) >= 0) {
            const frame = buffer.slice(0, cut);
            buffer = buffer.slice(cut + 2);
            const data = frame.split("\n").filter((l) => l.startsWith("data: ")).map((l) => l.slice(6)).join("\n");
            if (!data) continue; // a keep-alive comment
            const task = JSON.parse(data);
            failures = 0;
            onTask(task);
            if (FINAL.has(task.status)) done = true;
          }
        }
      } catch (err) {
        if (ctrl.signal.aborted) return;
        if (err instanceof AigcApiError && err.status < 500) { onError(err); return; }
        failures += 1;
        await new Promise((r) => setTimeout(r, Math.min(30_000, 500 * 2 ** failures)));
      }
    }
  })();
  return () => ctrl.abort();
}

const fmtEth = (wei) => `${formatEther(BigInt(wei))} ETH`;

/**
 * Renders the studio into `root`. `ui` carries app.js's helpers: el, showError, announce, short,
 * connect (the sign-in button's action).
 */
export async function studio(root, ui) {
  const { el, short } = ui;
  const problem = (err) => ui.showError(explain(err));
  root.replaceChildren(el("h1", {}, "Studio"));
  if (!session().address) {
    root.append(el("p", {}, "Connect your wallet and sign in to generate images."),
      el("button", { type: "button", onclick: ui.connect }, "Connect wallet"));
    return;
  }
  const aigc = sdkClient();
  let ranking;
  try {
    const res = await fetch("/v1/esps", { headers: authHeaders() });
    if (!res.ok) throw new AigcApiError(res.status, `http_${res.status}`, "cannot read the ESP ranking");
    ranking = await res.json();
  } catch (err) {
    root.append(problem(err));
    return;
  }
  if (ranking.items.length === 0) {
    root.append(el("p", { class: "muted" }, "No ESP is registered yet: nobody can take a task."));
    return;
  }
  const espChoices = el("fieldset", { class: "esps" },
    el("legend", {}, "Edge service provider (ranked by reputation as you see them)"),
    ranking.items.map((e, i) => el("label", { class: "esp-choice", "data-esp": e.address },
      el("input", { type: "radio", name: "esp", value: e.address, checked: i === 0, "data-price": e.price }),
      el("span", {}, el("strong", { title: e.address }, short(e.address)),
        ` · reputation ${e.reputation.toFixed(3)} · selection ${(100 * e.selection_probability).toFixed(1)}% · price ${fmtEth(e.price)}`))));
  const firstPrice = ranking.items[0].price;
  const form = el("form", { class: "studio", "aria-label": "New generation" },
    espChoices,
    el("label", {}, "Prompt", el("textarea", { name: "prompt", required: true, maxlength: 500, rows: 3 })),
    el("div", { class: "row" },
      el("label", {}, "Most you will pay (ETH)", el("input", { type: "text", name: "max_price", inputmode: "decimal", required: true, value: formatEther(BigInt(firstPrice)), pattern: "^[0-9]+(\\.[0-9]+)?$" })),
      el("label", {}, "Seed", el("input", { type: "text", name: "seed", inputmode: "numeric", value: "0", pattern: "^[0-9]{1,18}$" }))),
    el("button", { type: "submit", id: "generate" }, "Generate"));
  espChoices.addEventListener("change", (e) => {
    if (e.target.name === "esp") form.elements.max_price.value = formatEther(BigInt(e.target.dataset.price));
  });
  const work = el("section", { id: "task", "aria-label": "Task progress" });
  root.append(form, work);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const data = Object.fromEntries(new FormData(form));
    generate(aigc, ui, work, form, data).catch((err) => work.append(problem(err)));
  });
}

async function generate(aigc, ui, work, form, data) {
  const { el, short } = ui;
  const problem = (err) => ui.showError(explain(err));
  let maxPrice;
  try {
    maxPrice = parseEther(String(data.max_price).trim());
  } catch {
    work.replaceChildren(ui.showError(new WalletError("bad_price", "The price must be a number of ETH, like 0.001.")));
    return;
  }
  form.elements.generate.disabled = true;
  const note = el("p", { role: "status" }, "Your wallet derives your delivery key (one signature; it moves no funds)…");
  work.replaceChildren(el("h2", {}, "Progress"), note);
  let task;
  try {
    await checkMarketNetwork();
    await aigc.getDeployment();
    await aigc.registerDeliveryKey();
    note.textContent = "Posting the task…";
    task = await aigc.postTask({ prompt: data.prompt, maxPrice, seed: BigInt(data.seed || 0), esp: data.esp });
  } catch (err) {
    form.elements.generate.disabled = false;
    note.replaceWith(problem(err));
    return;
  }
  const steps = el("ol", { class: "steps", "data-task": task.id },
    STEPS.map(([s, text]) => el("li", { "data-step": s }, text)));
  const actions = el("div", { class: "actions" });
  work.replaceChildren(el("h2", {}, `Task ${short(task.id)}`), steps, actions);
  const shown = new Set();
  const act = (key, build) => {
    if (shown.has(key)) return;
    shown.add(key);
    actions.append(build());
  };
  const stop = watchTask(task.id, (t) => {
    const at = ORDER[t.status] ?? -1;
    steps.dataset.status = t.status;
    for (const li of steps.children) li.classList.toggle("done", ORDER[li.dataset.step] <= at);
    ui.announce(`Task ${t.status}`);
    if (t.status === "quoted") act("pay", () => payBox(aigc, ui, t));
    if (t.status === "claimed" || t.status === "registered") act("open", () => openBox(aigc, ui, t));
    if (t.refusal) act("refusal", () => el("p", { role: "status", class: "error", "data-refusal": t.refusal.code },
      `The ESP refused the task (${t.refusal.code}): ${t.refusal.message}. ` + (t.lock
        ? "Nothing was delivered and no fee claimed: your fee lock refunds after its deadline."
        : "Nothing was paid: the task ends here.")));
    if (t.status === "refunded" || t.status === "fraud_proven") actions.append(el("p", { role: "status" }, `The task ended: ${t.status.replace("_", " ")}.`));
  }, (err) => actions.append(problem(err)));
  window.addEventListener("hashchange", stop, { once: true });
}

function payBox(aigc, ui, raw) {
  const { el } = ui;
  const out = el("p", { role: "status" });
  const button = el("button", { type: "button", id: "pay" }, `Pay ${fmtEth(raw.price)} and acknowledge the quote`);
  const box = el("div", { class: "step-box" },
    el("p", {}, `The ESP quoted ${fmtEth(raw.price)}, claimable until ${new Date(Number(raw.deadline) * 1000).toLocaleString()}. `,
      "Your wallet locks the fee (the ESP gets it only by revealing the secret that opens your delivery) and acknowledges the signed quote. ",
      "The ESP reads your prompt only once the lock is on chain: it cannot make your image before you have paid for it."),
    button, out);
  button.addEventListener("click", async () => {
    button.disabled = true;
    out.textContent = "Checking the quote and waiting for your wallet…";
    try {
      const task = await aigc.getTask({ taskId: raw.id });
      const paid = await aigc.payFee({ task });
      out.className = "ok";
      out.dataset.tx = paid.lockTx;
      out.textContent = `Fee locked (transaction ${ui.short(paid.lockTx)}) and quote acknowledged.`;
    } catch (err) {
      button.disabled = false;
      out.replaceChildren(ui.showError(explain(err)));
    }
  });
  return box;
}

function openBox(aigc, ui, raw) {
  const { el } = ui;
  const out = el("div", { role: "status" });
  const button = el("button", { type: "button", id: "open" }, "Open the delivery");
  const box = el("div", { class: "step-box" },
    el("p", {}, "The sealed image opens in this page with your delivery key and the secret the ESP revealed on chain; it is checked against the ESP's attestation."),
    button, out);
  button.addEventListener("click", async () => {
    button.disabled = true;
    out.textContent = "Opening…";
    try {
      const task = await aigc.getTask({ taskId: raw.id });
      const opened = await aigc.openDelivery({ task });
      const url = URL.createObjectURL(new Blob([opened.image], { type: "image/png" }));
      out.replaceChildren(
        el("img", { class: "delivered", src: url, alt: `The delivered image for: ${task.prompt}` }),
        el("p", { class: "ok" }, `Matches the attestation (content hash ${ui.short(opened.contentHash)}).`),
        registerBox(aigc, ui, task, opened.contentHash, opened.image));
    } catch (err) {
      button.disabled = false;
      out.replaceChildren(ui.showError(explain(err)));
      if (err instanceof DeliveryMismatchError) {
        button.disabled = true; // opening again gives the same bytes: the proof is what is left
        out.append(fraudBox(aigc, ui, raw.id, err.key));
      }
    }
  });
  return box;
}

/**
 * The fraud report (POST /v1/tasks/{id}/fraud): reveals this delivery's key (it opens this
 * delivery only), so the API can check the sealed bytes against the ESP's signed attestation
 * and record the fraud against the ESP.
 */
function fraudBox(aigc, ui, taskId, key) {
  const { el } = ui;
  const out = el("div", { role: "status", class: "fraud-result" });
  const button = el("button", { type: "button", id: "report-fraud" }, "Report the fraud");
  button.addEventListener("click", async () => {
    button.disabled = true;
    out.textContent = "Sending the proof…";
    try {
      const task = await aigc.reportFraud({ taskId, key });
      out.replaceChildren(el("p", { class: "ok", "data-fraud": task.status },
        "Fraud proven: the API checked the sealed image against the ESP's attestation and recorded it against the ESP."));
    } catch (err) {
      button.disabled = false;
      out.replaceChildren(ui.showError(explain(err)));
    }
  });
  return el("div", { class: "step-box" },
    el("p", {}, "The key that opened this delivery proves it: it opens this delivery only, so revealing it costs you nothing else."),
    button, out);
}

/**
 * Registers the opened image (commit, then reveal); then, unless the producer unticks it,
 * publishes its bytes at the marketplace (PUT /v1/products/{id}/image, through the SDK). The
 * registration stands whatever the upload does: a refused upload is told, retried from here or
 * from the token's page.
 */
function registerBox(aigc, ui, task, contentHash, image) {
  const { el } = ui;
  const out = el("div", { role: "status" });
  const button = el("button", { type: "button", id: "register" }, "Register (commit, then reveal)");
  const publish = el("input", { type: "checkbox", id: "publish-image", name: "publish-image", checked: true });
  button.addEventListener("click", async () => {
    button.disabled = true;
    out.textContent = "Your wallet sends the commitment, then the reveal…";
    let reg;
    try {
      reg = await aigc.register({ task, contentHash });
    } catch (err) {
      button.disabled = false;
      out.replaceChildren(ui.showError(explain(err)));
      return;
    }
    const id = reg.tokenId.toString();
    publish.disabled = true;
    const upload = el("div", { class: "publish-image", role: "status" });
    out.replaceChildren(
      el("p", { class: "ok", "data-token": id }, "Registered as token ",
        el("a", { href: `#/product/${id}` }, ui.short(`0x${reg.tokenId.toString(16).padStart(64, "0")}`)),
        ` (reveal ${ui.short(reg.revealTx)}).`),
      upload,
      listBox(aigc, ui, reg.tokenId));
    if (publish.checked) publishImage(aigc, ui, reg.tokenId, image, upload);
  });
  return el("div", { class: "step-box" },
    el("label", { class: "check" }, publish,
      " Publish the image at the marketplace (needed for buyers, the market's attestation check and a committee review)"),
    button, out);
}

/** How often, and how many times, the upload is tried again while the API has not indexed the new token (404). */
const INDEX_RETRY_MS = 1500;
const INDEX_TRIES = 40;

/**
 * Uploads the registered image's bytes, waiting for the API to index the new token first (its
 * indexer follows the chain a few seconds behind: 404 not_found until then); a failure is told
 * with a retry (the token stays registered).
 */
async function publishImage(aigc, ui, tokenId, image, out) {
  const { el } = ui;
  out.dataset.state = "publishing";
  out.replaceChildren(el("p", {}, "Publishing the image at the marketplace…"));
  try {
    let product;
    for (let tries = 1; ; tries++) {
      try {
        product = await aigc.publishImage({ tokenId, image });
        break;
      } catch (err) {
        if (!(err instanceof AigcApiError && err.status === 404 && err.code === "not_found") || tries >= INDEX_TRIES) throw err;
        out.replaceChildren(el("p", {}, "Publishing the image at the marketplace (waiting for it to index your token)…"));
        await new Promise((r) => setTimeout(r, INDEX_RETRY_MS));
      }
    }
    out.dataset.state = "published";
    const checked = product.raw.attestation === "mismatch"
      ? "the ESP's attested values are not this image's: the token is not for sale"
      : "the ESP's attested values match it";
    out.replaceChildren(el("p", { class: "ok" }, `Image published: buyers see it and ${checked}.`));
  } catch (err) {
    out.dataset.state = "failed";
    const retry = el("button", { type: "button", class: "retry-publish-image" }, "Publish the image again");
    retry.addEventListener("click", () => publishImage(aigc, ui, tokenId, image, out));
    const told = err instanceof AigcApiError && err.code === "not_found"
      ? new WalletError("not_found", "The marketplace has not indexed your token yet: publish the image again in a moment.")
      : explain(err);
    out.replaceChildren(ui.showError(told),
      el("p", { class: "muted" }, "Your token is registered all the same: publish the image again here or from the token's page."),
      retry);
  }
}

function listBox(aigc, ui, tokenId) {
  const { el } = ui;
  const out = el("p", { role: "status" });
  const form = el("form", { class: "row", "aria-label": "List for sale" },
    el("label", {}, "Price (ETH), optional", el("input", { type: "text", name: "price", inputmode: "decimal", required: true, pattern: "^[0-9]+(\\.[0-9]+)?$" })),
    el("button", { type: "submit", id: "list" }, "List for sale"));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    let price;
    try { price = parseEther(form.elements.price.value.trim()); } catch {
      out.replaceChildren(ui.showError(new WalletError("bad_price", "The price must be a number of ETH, like 0.01.")));
      return;
    }
    out.textContent = "Your wallet signs the offer (EIP-712)…";
    try {
      await aigc.list({ tokenId, price });
      out.className = "ok";
      out.textContent = `Listed for ${fmtEth(price)}.`;
    } catch (err) {
      out.replaceChildren(ui.showError(explain(err)));
    }
  });
  return el("div", { class: "step-box" }, form, out);
}

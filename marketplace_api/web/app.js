// The marketplace in a browser: gallery and provenance pages over the same-origin API.
// Plain ES module, no build step and no runtime dependency: `aigc serve` serves it as is.
import { WalletError, authHeaders, checkMarketNetwork, session, signIn, signOut, switchNetwork, watchWallet } from "./wallet.js";

const PAGE = 24;
/** A requested review's draw: asked again this often while the chain has no block past its draw block, this many times. */
const DRAW_RETRY_MS = 3000;
const DRAW_TRIES = 20;

/** Messages for the API's stable error codes; anything else shows the API's own message. */
const MESSAGES = {
  not_found: "Nothing is registered under that id.",
  rate_limited: "Too many requests: wait a moment and try again.",
  payload_too_large: "That image is too large to search with.",
  unsupported_media_type: "That file is not an image the marketplace can read (PNG, JPEG, WebP).",
  degenerate_image: "That image is too plain (nearly one colour) to compare with others.",
  validation_error: "The request was not valid.",
  unauthorized: "Your sign-in has expired: connect your wallet again.",
  forbidden: "Your account may not do that.",
  cannot_estimate: "The chain would refuse this transaction now (the dispute may have moved on): reload the page.",
  chain_error: "The chain node cannot be reached: try again in a moment.",
  unknown_product: "One of the two tokens is not indexed yet: try again in a moment.",
  RegistryDisputeExists: "This pair was already challenged: each pair is challenged once.",
  RegistryDisputeState: "The challenge is not in a state that allows this step (already contested or decided).",
  RegistryDisputeWindow: "The dispute window does not allow this step now.",
  RegistryNotOwner: "Only the token's owner can do this.",
  RegistryNotAdmissible: "The two images are not close enough for the contract to admit the challenge.",
  RegistryChallengeOutOfOrder: "Only the earlier registration can challenge the later one.",
  RegistryWrongValue: "The deposit sent is not the one the contract asks for.",
  RegistryTokenRevoked: "That token is revoked.",
};

/** An error in words: the table's sentence for its code, else its own message. */
const friendly = (err) => (MESSAGES[err.code] ? new ApiError(err.status || 0, err.code, MESSAGES[err.code]) : err);

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function api(path, init) {
  let res;
  try {
    res = await fetch(path, init);
  } catch {
    throw new ApiError(0, "network", "The marketplace cannot be reached. Check your connection.");
  }
  const body = await res.json().catch(() => null);
  if (!res.ok) {
    const err = body && body.error ? body.error : {};
    const code = err.code || `http_${res.status}`;
    throw new ApiError(res.status, code, MESSAGES[code] || err.message || `Request failed (${res.status})`);
  }
  return body;
}

const main = () => document.getElementById("main");
const announce = (text) => { document.getElementById("status").textContent = text; };

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

/** Wei (a uint as the API sends it) as ETH, exactly: every digit kept, no floating point (a price
 * below 10^12 wei showed as "0 ETH", and past 2^53 wei it was rounded). */
function fmtEth(wei) {
  const v = BigInt(wei);
  const frac = (v % 10n ** 18n).toString().padStart(18, "0").replace(/0+$/, "");
  return `${v / 10n ** 18n}${frac ? "." + frac : ""} ETH`;
}

const short = (hex) => (hex && hex.length > 14 ? `${hex.slice(0, 8)}…${hex.slice(-4)}` : hex || "");

function showError(err) {
  const box = el("p", { class: "error", role: "alert" }, err.message);
  box.dataset.code = err.code || "";
  return box;
}

function badge(status) {
  return el("span", { class: `badge ${status}` }, status);
}

function card(p) {
  const picture = p.has_image
    ? el("img", { class: "thumb", src: `/v1/products/${p.token_id}/image`, alt: `Image of token ${short(p.token_id)}`, loading: "lazy", width: 192, height: 192 })
    : el("div", { class: "noimg" }, "image not uploaded");
  return el("li", { class: "card", "data-token": p.token_id },
    el("a", { href: `#/product/${p.token_id}` },
      picture,
      el("div", { class: "meta" },
        el("div", {}, badge(p.status), " ", el("span", { class: "muted" }, `block ${p.registered_block}`)),
        el("div", {}, "producer ", short(p.producer)),
        el("div", {}, "ESP ", short(p.esp)))));
}

function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== "" && v !== undefined && v !== null) q.set(k, v);
  return q.toString();
}

function parseHashQuery() {
  const [, qs = ""] = location.hash.split("?");
  return Object.fromEntries(new URLSearchParams(qs));
}

async function gallery() {
  const params = parseHashQuery();
  const offset = Math.max(0, Number.parseInt(params.offset || "0", 10) || 0);
  const filters = {
    owner: params.owner || "", producer: params.producer || "", esp: params.esp || "", status: params.status || "",
  };
  const root = main();
  root.replaceChildren(el("h1", {}, "Gallery"));
  const address = (name, label) => el("label", {}, label,
    el("input", { type: "text", name, value: filters[name], placeholder: "0x…", pattern: "^0x[0-9a-fA-F]{40}$", autocomplete: "off", title: "an address: 0x and 40 hexadecimal digits" }));
  const form = el("form", { class: "filters", role: "search", "aria-label": "Filter the gallery" },
    address("owner", "Owner address"),
    address("producer", "Producer address"),
    address("esp", "ESP address"),
    el("label", {}, "Status",
      el("select", { name: "status" },
        el("option", { value: "", selected: filters.status === "" }, "any"),
        el("option", { value: "active", selected: filters.status === "active" }, "active"),
        el("option", { value: "revoked", selected: filters.status === "revoked" }, "revoked"))),
    el("button", { type: "submit" }, "Filter"));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const data = Object.fromEntries(new FormData(form));
    location.hash = `#/?${query({ owner: data.owner.trim(), producer: data.producer.trim(), esp: data.esp.trim(), status: data.status })}`;
  });
  const search = el("form", { class: "filters", "aria-label": "Find similar images" },
    el("label", {}, "Find similar: upload an image", el("input", { type: "file", name: "image", accept: "image/png,image/jpeg,image/webp", required: true })),
    el("button", { type: "submit" }, "Search"));
  search.addEventListener("submit", (e) => { e.preventDefault(); findSimilar(search); });
  root.append(form, search);
  const results = el("section", { "aria-label": "Products" });
  root.append(results);
  try {
    const page = await api(`/v1/products?${query({ ...filters, limit: PAGE, offset })}`);
    if (page.items.length === 0) {
      const filtered = Object.values(filters).some((v) => v !== "");
      results.append(el("p", { class: "muted" }, offset ? "No more products."
        : filtered ? "No product matches these filters." : "No products registered yet."));
    } else {
      results.append(el("ul", { class: "grid" }, page.items.map(card)));
    }
    const base = query(filters);
    const pager = el("nav", { class: "pager", "aria-label": "Pages" },
      offset > 0 ? el("a", { href: `#/?${query({ ...filters, offset: Math.max(0, offset - PAGE) })}`, rel: "prev" }, "← Newer") : null,
      el("span", { class: "muted" }, `${offset + 1}–${offset + page.items.length}`),
      page.items.length === PAGE ? el("a", { href: `#/?${base ? base + "&" : ""}offset=${offset + PAGE}`, rel: "next" }, "Older →") : null);
    results.append(pager);
    announce(`${page.items.length} products shown`);
  } catch (err) {
    results.append(showError(err));
  }
}

async function findSimilar(form, fileOverride) {
  const file = fileOverride || form.querySelector("input[type=file]").files[0];
  const out = document.getElementById("similar") || el("section", { id: "similar", "aria-label": "Similar images" });
  form.after(out);
  out.replaceChildren(el("h2", {}, "Similar registered images"));
  if (!file) { out.append(showError(new ApiError(0, "no_file", "Choose an image first."))); return; }
  const body = new FormData();
  body.append("image", file);
  try {
    const res = await api("/v1/search/similar", { method: "POST", body });
    if (res.matches.length === 0) out.append(el("p", { class: "muted" }, "No registered image is similar."));
    else out.append(el("ul", { class: "grid" }, res.matches.map((m) => {
      const c = card(m);
      c.querySelector(".meta").append(el("div", {}, `distance ${m.distance}`));
      return c;
    })));
    return res.matches;
  } catch (err) {
    out.append(showError(err));
    return null;
  }
}

function describe(item) {
  const kinds = {
    registered: "Registered on chain (commit, then reveal with the ESP's attestation)",
    transferred: "Transferred",
    reclaimed: "Reclaimed by the earlier payer (exact copy registered first by a later one)",
    challenged: "Challenged as a copy",
    contested: "Challenge contested by the accused",
    decided: "Challenge decided on chain by the detail rule",
    reinstated: "Reinstated (its challenger's token was revoked)",
    revoked: "Revoked",
  };
  let text = kinds[item.kind] || item.kind;
  if (item.kind === "challenged" && item.equivocal) text = "Challenged as a copy by a payer of the same ESP (an equivocation: it cannot revoke)";
  if (item.kind === "decided" && item.verdict) text = VERDICTS[item.verdict] || `Challenge decided: ${item.verdict}`;
  const extra = [];
  if (item.from && item.to) extra.push(`from ${short(item.from)} to ${short(item.to)}`);
  if (item.original) extra.push(`original ${short(String(item.original))}`);
  if (item.duplicate) extra.push(`copy ${short(String(item.duplicate))}`);
  return el("li", {}, el("strong", {}, text), item.block !== undefined ? el("span", { class: "muted" }, ` · block ${item.block}`) : null,
    extra.length ? el("div", { class: "muted" }, extra.join(", ")) : null);
}

async function product(id) {
  const root = main();
  root.replaceChildren(el("p", { class: "muted" }, "Loading…"));
  let p;
  try {
    p = await api(`/v1/products/${encodeURIComponent(id)}`);
  } catch (err) {
    root.replaceChildren(el("h1", {}, "Product"), showError(err), el("p", {}, el("a", { href: "#/" }, "Back to the gallery")));
    return;
  }
  const facts = [
    ["Status", badge(p.status)],
    ["Token id", p.token_id],
    ["Owner", p.owner],
    ["Producer", el("a", { href: `#/?producer=${p.producer}`, title: "Everything this producer registered" }, p.producer)],
    ["ESP", el("a", { href: `#/esp/${p.esp}`, title: "This ESP's dashboard" }, p.esp)],
    ["Model", p.model_id],
    ["Seed", p.seed],
    ["Task (paid lock)", p.task_id],
    ["Priority block", p.priority_block],
    ["Registered in block", p.registered_block],
    ["Fingerprint", p.fingerprint],
    ["Detail hash", p.detail_hash || "—"],
    // Recomputed by the API from the image it holds (never the attestation's word).
    ["Attested values", {
      matches: "match the image",
      mismatch: "not the image's: its ESP attested another image's values (not for sale)",
    }[p.attestation] || "unchecked (no image attached)"],
  ];
  // Whether a generation proof (docs/provenance.md "Generation proofs") is published: filled in
  // below from GET /v1/products/{id}/generation.
  const proof = el("div", { class: "generation-proof", "data-state": "loading" }, "…");
  facts.push(["Generation proof", proof]);
  if (p.reclaimable_until != null) {
    // the Registry's escrow refuses it until then (RegistryTokenReclaimable): when, in blocks and
    // about how long, once the chain's head is read (GET /healthz)
    const hold = el("span", { class: "reclaimable", "data-until": String(p.reclaimable_until) },
      `until block ${p.reclaimable_until} by an earlier payer of its ESP (not for sale before)`);
    facts.push(["Reclaimable", hold]);
    Promise.all([import("./sdk.bundle.js"), api("/healthz")]).then(([sdk, h]) => {
      const when = sdk.describeReclaimable({ untilBlock: BigInt(p.reclaimable_until), head: BigInt(h.block) });
      hold.dataset.blocks = String(when.blocks);
      hold.textContent = `${when.text} by an earlier payer of its ESP (not for sale before)`;
    }).catch(() => {}); // the block alone is said
  }
  const picture = p.has_image
    ? el("img", { class: "full", src: `/v1/products/${p.token_id}/image`, alt: `Image of token ${short(p.token_id)}` })
    : el("div", {}, el("p", { class: "muted" }, "The owner has not uploaded the image yet."), publishImageForm(p));
  const history = el("ol", { class: "timeline", "aria-label": "Provenance timeline" }, (p.history || []).map(describe));
  const similar = el("section", { id: "similar", "aria-label": "Similar images" });
  root.replaceChildren(
    el("h1", {}, `Token ${short(p.token_id)}`),
    el("div", { class: "product" },
      el("div", {}, picture),
      el("div", {},
        el("h2", {}, "Provenance"),
        el("dl", { class: "facts" }, facts.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)])),
        el("h2", {}, "Timeline"),
        (p.history || []).length ? history : el("p", { class: "muted" }, "No events indexed yet."))),
    similar,
    el("p", {}, el("a", { href: "#/" }, "Back to the gallery")));
  generationProof(p, proof);
  const court = courtActions(p);
  if (court) similar.before(court);
  // Its mis-attestation claim at the court, when there is one: what the API indexed
  // (p.misattestation), for anyone; with a wallet, read again from the chain (misattestationOf;
  // a batch item's too: claimMisattestedItem), with the finalize button while it is open.
  const claimLine = el("p", { class: "claim-state", hidden: true });
  const claimBox = el("section", { class: "misattestation notice", "aria-label": "Mis-attestation claim", hidden: true }, claimLine);
  similar.before(claimBox);
  if (p.misattestation) {
    indexedMisattestation(p.misattestation, claimLine);
    claimBox.hidden = false;
  }
  if (globalThis.ethereum) {
    const finalize = el("button", { type: "button", class: "finalize-misattested", hidden: true }, "Finalize the claim");
    const out = el("p", { role: "status" });
    finalize.addEventListener("click", async () => {
      await courtClick(finalize, out, (sdk) => sdk.finalizeMisattested({ token: p.token_id }),
        (r) => `Finalized in transaction ${short(r.hash)}. ${MISATTESTATION_DECIDED[r.state] || ""}`);
      showMisattestation(p.token_id, claimLine, null, finalize);
    });
    claimBox.append(finalize, out);
    showMisattestation(p.token_id, claimLine, null, finalize).then((c) => { if (c) claimBox.hidden = c.state === "none"; });
  }
  if (p.status === "active" && p.misattestation?.state === "open") {
    // not sold while the claim is open (the API refuses it: 409 misattestation_claim_open)
    similar.before(el("p", { class: "notice not-for-sale", "data-code": "misattestation_claim_open" },
      "Not for sale while the mis-attestation claim is open: upheld, the court revokes this token, and a buyer would hold a revoked token."));
  } else if (p.status === "active") {
    // The buying code (and the SDK bundle under it) loads only for a token that is for sale.
    fetch(`/v1/listings?status=open&token_id=${p.token_id}&limit=1`).then((r) => r.json()).then(async (page) => {
      const listing = (page.items || []).find((l) => l.token_id === p.token_id);
      if (!listing) return;
      const market = await import("./market.js");
      similar.before(market.buyBox(ui(), listing));
    }).catch((err) => similar.before(showError(err)));
  }
  if (p.has_image) {
    try {
      const blob = await (await fetch(`/v1/products/${p.token_id}/image`)).blob();
      const form = el("form", { hidden: true });
      similar.before(form);
      const matches = await findSimilar(form, new File([blob], "image.png", { type: "image/png" }));
      suggestTwins(p, matches || []);
      const list = document.getElementById("similar");
      list.querySelectorAll(`li[data-token="${p.token_id}"]`).forEach((n) => n.remove());
      if (!list.querySelector("li")) list.append(el("p", { class: "muted" }, "No other registered image is similar."));
    } catch (err) {
      similar.append(showError(err));
    }
  }
  announce(`Token ${short(p.token_id)}, ${p.status}`);
}

/** The BatchCourt's refusals and the SDK's own (court steps, royalty collection), in words (the rest show their message). */
const COURT_MESSAGES = {
  CourtWinnerActive: "The batch item that won is not revoked: its win stands, and nothing can be reinstated.",
  CourtDisputeState: "The court's decision on this pair is not a settled win (or it was reinstated already).",
  CourtWrongValue: "The bond sent is not the one the contract asks for.",
  CourtNotSameEsp: "Two different ESPs attested the two items: the court's ruling does not apply (a challenge decides between them).",
  CourtTokenRevoked: "One of the two items is revoked already.",
  CourtNotOwner: "One producer registered both items and holds neither any more: the court does not revoke a buyer's token.",
  CourtChallengeOutOfOrder: "The two payers' generation locks are in the same block: the court cannot tell which came first.",
  CourtBadProof: "An item's opening does not match its batch on chain.",
  manifest_not_published: "A batch's manifest is not published yet: the court opens both items from their manifests.",
  not_same_image: "These are not two registrations of one image (or one item was named twice).",
  unknown_product: "One of the two tokens is not a batch item the marketplace has indexed.",
  cannot_estimate: "The chain would refuse this transaction from your account now (does your wallet hold the bond?).",
  tx_mismatch: "The marketplace returned a transaction other than the one asked for: nothing was signed.",
  bad_royalty_lock: "The royalty lock this alert describes is not one that pays you the royalty it announces: nothing was signed.",
  bad_preimage: "The secret in this alert does not open the royalty lock: nothing was signed.",
  lock_not_open: "This royalty lock is no longer open on chain (collected or refunded already): there is nothing to collect.",
  // the withdrawal refused near (or past) the end of the lock's claim window: the API's 409 with
  // fields.last_claim_block and fields.block, the SDK's ClaimWindowClosedError (lastBlock, block)
  claim_window_closed: (err) => {
    const { last, head } = claimWindowOf(err);
    const when = last === null ? "within a few blocks" : `at block ${last}${head === null ? "" : ` (the chain is at block ${head})`}`;
    return `This royalty lock's claim window ends ${when}: a withdrawal sent now could be mined after it and fail, so nothing was sent. The royalty can no longer be collected; the buyer takes it back at the lock's timelock.`;
  },
  LockClaimWindowClosed: "This royalty lock's claim window has closed: it can no longer be collected, only refunded to the buyer at its timelock. Nothing was sent.",
  not_signed_in: "Connect your wallet first.",
  // the mis-attestation claim (BatchCourt.claimMisattested / finalizeMisattested)
  CommitteeTooSmall: "Too few jurors are enrolled in the committee to review a claim now: nothing was paid. Try again once more have enrolled.",
  CourtDisputeExists: "A mis-attestation claim against this copy is open already: finalize it once its review is over.",
  CourtDisputeWindow: (err) => `The jurors' review is not over yet: finalize after block ${(err.fields && err.fields.deadline) || "its reveal deadline"} (nothing was sent).`,
  CourtUnknownToken: "The chain holds no such token.",
};

/**
 * The last block a lock's claim window accepts a withdrawal in, and the chain's head, from a
 * claim_window_closed refusal (the API's `fields`, or the SDK's ClaimWindowClosedError); null
 * where the refusal does not say.
 */
function claimWindowOf(err) {
  const f = (err && err.fields) || {};
  const pick = (...xs) => { const x = xs.find((v) => v !== undefined && v !== null); return x === undefined ? null : String(x); };
  return { last: pick(f.last_claim_block, err && err.lastBlock), head: pick(f.block, err && err.block) };
}

/** Runs `action(sdk)` from `button`, saying the outcome in `out` (`done(result)`: the words). */
async function courtClick(button, out, action, done) {
  if (!session().address) {
    out.replaceChildren(showError(new ApiError(0, "not_signed_in", "Connect your wallet first (the button at the top).")));
    return;
  }
  button.disabled = true;
  out.className = "";
  out.textContent = "Checking the transaction, then waiting for your wallet…";
  try {
    const { sdkClient } = await import("./studio.js");
    const result = await action(sdkClient());
    out.className = "ok";
    out.dataset.tx = result.hash;
    out.textContent = done(result);
    button.hidden = true;
  } catch (thrown) {
    button.disabled = false;
    const err = walletRefusal(thrown) || thrown;
    const code = (err && err.code) || "error";
    const said = COURT_MESSAGES[code];
    const text = (typeof said === "function" ? said(err) : said) || MESSAGES[code] || String((err && err.message) || err);
    out.replaceChildren(showError(new ApiError((err && err.status) || 0, code, text)));
  }
}

/** A batch item's id is below 2**96 (batchId << 32 | index); a single token's is its content hash. */
const isBatchItem = (id) => BigInt(id) < 2n ** 96n;

/**
 * The BatchCourt's two steps a token page offers (docs/batches.md): on a single token revoked by
 * a court win that was settled and whose batched winner was revoked since, "Reinstate" (anyone,
 * posting the Registry's bond: BatchCourt.reinstate); on an active batch item, the ruling on one
 * image held as two batch items under one ESP (BatchCourt.revokeDuplicateItem). Both go through
 * the SDK, which checks the API's transaction (the court, the call, the tokens, the value) before
 * the wallet is asked.
 */
function courtActions(p) {
  if (p.collection !== "batch" && p.status === "revoked") {
    const box = el("section", { class: "court-reinstate notice", "aria-label": "Reinstate this token", hidden: true });
    reinstateOffer(p, box);
    return box;
  }
  if (p.collection === "batch" && p.status === "active") return twinItemForm(p);
  return null;
}

async function reinstateOffer(p, box) {
  const me = BigInt(p.token_id);
  const last = new Map(); // original -> the pair's latest verdict
  for (const h of p.history || []) {
    if (h.kind !== "decided" || h.duplicate === undefined || BigInt(h.duplicate) !== me) continue;
    last.set(String(h.original), h.verdict);
  }
  for (const [original, verdict] of last) {
    if (verdict !== "settled" || !isBatchItem(original)) continue;
    const winner = await api(`/v1/products/${encodeURIComponent(original)}`).catch(() => null);
    if (!winner || winner.status !== "revoked") continue;
    const out = el("p", { role: "status" });
    const button = el("button", { type: "button", class: "reinstate" }, "Reinstate this token");
    button.addEventListener("click", () => courtClick(button, out,
      (sdk) => sdk.courtReinstate({ original, duplicate: p.token_id }),
      (r) => `Reinstated in transaction ${short(r.hash)}: the token is active again (the page shows it once indexed).`));
    box.append(
      el("h2", {}, "This token can be reinstated"),
      el("p", {}, "Batch item ", el("a", { href: `#/product/${original}` }, short(original)),
        " won a court challenge against this token, and has itself been revoked as a copy since. Anyone may reverse that win: the token is active again, backed by a new bond that the sender posts (the Registry's bond, read from the chain)."),
      button, out);
    box.hidden = false;
    return;
  }
}

function twinItemForm(p) {
  const out = el("p", { role: "status" });
  const form = el("form", { class: "court-twin row", "aria-label": "Two batch items of this image" },
    el("label", {}, "Another batch item holding this same image, attested by the same ESP (token id)",
      el("input", { type: "text", name: "second", required: true, autocomplete: "off", pattern: "^(0x[0-9a-fA-F]{1,24}|[0-9]{1,29})$", title: "a batch item's token id, decimal or 0x-hex" })),
    el("button", { type: "submit", class: "ruling-item" }, "Ask the court's ruling"),
    out);
  const button = form.querySelector("button");
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const second = form.elements.second.value.trim();
    courtClick(button, out,
      (sdk) => sdk.courtRevokeDuplicateItem({ first: p.token_id, second }),
      (r) => r.revoked === null
        ? `Ruling sent in transaction ${short(r.hash)}.`
        : `Ruling sent in transaction ${short(r.hash)}: ${BigInt(r.revoked) === BigInt(p.token_id) ? "this item" : `item ${short(String(r.revoked))}`} is revoked as the second registration.`);
  });
  return el("details", { class: "court-twin-box" },
    el("summary", {}, "Registered twice as batch items? Ask the court's ruling"),
    el("p", { class: "muted" }, "When one ESP attested one image as two batch items, anyone may have the BatchCourt revoke the second registration (the later lock's when two payers paid for it, else the later published one its producer still holds) and is paid the challenge reward."),
    form);
}

/** Prefills the twin form with an identical (distance 0) active batch item of the same ESP. */
function suggestTwins(p, matches) {
  const form = document.querySelector("form.court-twin");
  if (!form) return;
  const twin = matches.find((m) => m.distance === 0 && m.collection === "batch" && m.status === "active"
    && m.token_id !== p.token_id && String(m.esp).toLowerCase() === String(p.esp).toLowerCase());
  if (!twin) return;
  form.elements.second.value = String(BigInt(twin.token_id));
  form.closest("details").open = true;
}

/**
 * For the signed-in producer or owner of a token whose image the marketplace does not hold: a
 * file picker that publishes the image (PUT /v1/products/{id}/image, through the SDK). The API
 * checks the file's content hash against the token, so another file is refused (422
 * hash_mismatch) and nothing is stored; once published the page shows the image.
 */
function publishImageForm(p) {
  const { address } = session();
  const me = address && address.toLowerCase();
  if (!me || (me !== String(p.producer).toLowerCase() && me !== String(p.owner).toLowerCase())) return null;
  const out = el("div", { role: "status" });
  const form = el("form", { class: "publish-image", "aria-label": "Publish the image" },
    el("label", {}, "The token's image (the PNG you registered)",
      el("input", { type: "file", name: "image", accept: "image/png", required: true })),
    el("button", { type: "submit" }, "Publish the image"),
    el("p", { class: "muted" }, "Buyers, the market's attestation check, a committee review and a generation proof need it."),
    out);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const file = form.elements.image.files[0];
    if (!file) { out.replaceChildren(showError(new ApiError(0, "no_file", "Choose the image first."))); return; }
    const button = form.querySelector("button");
    button.disabled = true;
    out.textContent = "Publishing the image…";
    try {
      const { sdkClient } = await import("./studio.js");
      await sdkClient().publishImage({ tokenId: p.token_id, image: file });
      await product(p.token_id);
      announce("Image published");
    } catch (err) {
      button.disabled = false;
      const text = {
        hash_mismatch: "That file is not this token's image: its content hash differs from the registered one. Nothing was published.",
        not_png: "That file is not a PNG: choose the PNG the token was registered with.",
        forbidden: "Only the token's producer or owner may publish its image.",
        not_signed_in: "Connect your wallet first.",
      }[err && err.code];
      const own = MESSAGES[err && err.code] || String((err && err.message) || err).replace(/^(\d+ )?[a-z_]+: /, "");
      out.replaceChildren(showError(new ApiError((err && err.status) || 0, (err && err.code) || "error", text || own)));
    }
  });
  return form;
}

/**
 * The product page's "Generation proof" line: the published opening (the prompt and seed the API
 * regenerated the image from), or none; for the signed-in producer of a token without one, a
 * button that publishes it (its own delivered task's prompt and generation seed, through the SDK).
 */
async function generationProof(p, cell) {
  const say = (state, ...children) => { cell.dataset.state = state; cell.replaceChildren(...children); };
  try {
    const o = await api(`/v1/products/${p.token_id}/generation`);
    say("published", "Published: the prompt ", el("q", { class: "prompt" }, o.prompt), ` with seed ${o.seed} regenerates this image on ${o.model_id} (checked by the marketplace; committee jurors check it again before voting on a copy accusation).`);
    return;
  } catch (err) {
    if (err.code !== "not_found") { say("unknown", showError(err)); return; }
  }
  say("none", "None published: a copy accusation is judged on the images alone.");
  const { address } = session();
  if (!address || address.toLowerCase() !== String(p.producer).toLowerCase() || p.status !== "active") return;
  const out = el("span", { role: "status" });
  const button = el("button", { type: "button", class: "publish-proof" }, "Publish the generation proof");
  button.addEventListener("click", async () => {
    button.disabled = true;
    out.textContent = " Regenerating the image from your prompt and seed…";
    try {
      const { sdkClient } = await import("./studio.js");
      await sdkClient().publishGenerationOpening({ tokenId: p.token_id });
      await generationProof(p, cell);
    } catch (err) {
      button.disabled = false;
      const text = {
        no_generation: "None of your delivered tasks is this image: you know no generation proof of it.",
        no_generation_seed: "Your ESP did not deliver the seed it generated with: no proof can be published.",
        image_missing: "Upload the token's image first: the marketplace checks the proof against it.",
        not_reproduced: "Your prompt and seed do not regenerate this image: nothing was published.",
        model_not_runnable: "The marketplace cannot run the model that made this image: nothing was published.",
        opening_exists: "Another generation proof is already published.",
      }[err && err.code];
      out.replaceChildren(showError(text ? new ApiError(err.status || 0, err.code, text) : err));
    }
  });
  cell.append(" ", el("span", { class: "muted" }, "Publishing it makes your prompt public."), " ", button, out);
}

function renderWallet() {
  const box = document.getElementById("wallet");
  const { address } = session();
  if (address) {
    const out = el("button", { type: "button", onclick: () => { signOut(); renderWallet(); route(); } }, "Sign out");
    box.replaceChildren(el("span", { title: address }, `Signed in as ${short(address)}`), out);
  } else {
    box.replaceChildren(el("button", { type: "button", id: "connect", onclick: connect }, "Connect wallet"));
  }
}

/** Shows a wallet or API error where the person is looking, with the way out when there is one. */
function walletProblem(err) {
  const box = showError(err);
  if (err.code === "wrong_network") {
    const chain = Number((err.message.match(/runs on network (\d+)/) || [])[1]);
    if (chain) {
      box.append(" ", el("button", { type: "button", onclick: async () => {
        try { await switchNetwork(chain); box.remove(); } catch (e) { box.replaceWith(showError(e)); }
      } }, "Switch network"));
    }
  }
  const where = document.getElementById("wallet-problem");
  if (where) where.replaceChildren(box);
  else main().prepend(el("div", { id: "wallet-problem" }, box));
}

async function connect() {
  try {
    const address = await signIn();
    renderWallet();
    announce(`Signed in as ${short(address)}`);
    route();
  } catch (err) {
    walletProblem(err instanceof WalletError ? err : new WalletError("wallet_error", String(err.message || err)));
  }
}

async function esps() {
  const root = main();
  root.replaceChildren(el("h1", {}, "Edge service providers"));
  try {
    const viewer = session().address;
    const data = await api("/v1/esps", { headers: viewer ? authHeaders() : {} });
    root.append(el("p", { class: "muted" },
      `Ranked by multi-weight subjective logic${viewer ? " as you see them" : ""}; a producer picks one with the selection probability shown (temperature ${data.temperature}, floor ${data.floor}).`));
    if (data.items.length === 0) { root.append(el("p", { class: "muted" }, "No ESP is registered.")); return; }
    root.append(el("div", { class: "scroll" }, el("table", { class: "ranking" },
      el("caption", { class: "visually-hidden" }, "ESP ranking"),
      el("thead", {}, el("tr", {},
        el("th", { scope: "col" }, "ESP"), el("th", { scope: "col" }, "Endpoint"),
        el("th", { scope: "col", class: "num" }, "Reputation"), el("th", { scope: "col", class: "num" }, "Selection"),
        el("th", { scope: "col", class: "num" }, "Price"), el("th", { scope: "col", class: "num" }, "Stake"),
        el("th", { scope: "col", class: "num" }, "Challenges lost"))),
      el("tbody", {}, data.items.map((e) => el("tr", { "data-esp": e.address },
        el("td", { title: e.address }, el("a", { href: `#/esp/${e.address}` }, short(e.address))), el("td", {}, e.endpoint),
        el("td", { class: "num" }, e.reputation.toFixed(3)),
        el("td", { class: "num" }, `${(100 * e.selection_probability).toFixed(1)}%`),
        el("td", { class: "num" }, fmtEth(e.price)), el("td", { class: "num" }, fmtEth(e.stake)),
        el("td", { class: "num" }, e.challenges_lost)))))));
  } catch (err) {
    root.append(showError(err));
  }
}

/**
 * The SDK action that checks each dispute step's API transaction before the wallet is asked (the
 * contract from the deployment, the call about exactly this pair, the deposit read from the
 * chain): the notes' prepared steps go through it rather than being signed as the API built them.
 */
const CHECKED_STEPS = {
  "/v1/tx/registry/challenge": "challenge",
  "/v1/tx/registry/contest": "contest",
  "/v1/tx/registry/resolve": "resolve",
  "/v1/tx/registry/finalize": "finalize",
  "/v1/tx/batch/challenge": "challengeBatch",
  "/v1/tx/batch/contest": "contestBatch",
  "/v1/tx/batch/resolve": "resolveBatch",
  "/v1/tx/batch/finalize": "finalizeBatch",
  "/v1/tx/batch/settle": "settleBatch",
  "/v1/tx/batch/court/challenge": "courtChallenge",
  "/v1/tx/batch/court/contest": "courtContest",
  "/v1/tx/batch/court/resolve": "courtResolve",
  "/v1/tx/batch/court/finalize": "courtFinalize",
  "/v1/tx/batch/court/settle": "courtSettle",
  // the committee's review (stage 3): requestReview checks the committee the Registry consults,
  // this pair and the committee's own reviewFee; drawReview the draw of this pair's review, free
  "/v1/tx/review/request": "requestReview",
  "/v1/tx/review/draw": "drawReview",
};

/**
 * Sends a note's prepared dispute step through the SDK's checks (CHECKED_STEPS), about the pair
 * the note names, when it is the `step` its button sends; any other route (the SDK has no check
 * for it: it used to be signed as the API returned it) or another step is tx_mismatch, nothing
 * signed. Returns the hash.
 */
async function sendStep(endpoint, body, step) {
  // Only the routes the SDK checks: the note names its route, and a lying API could name any
  // other (an Ether lock to itself), whose answer the page would have signed unchecked.
  const action = Object.hasOwn(CHECKED_STEPS, endpoint) ? CHECKED_STEPS[endpoint] : null;
  // ... and only the step the button names (a challenge button never contests, nor pays a review fee)
  if (!action || !String(endpoint).endsWith(`/${step}`)) {
    throw new ApiError(0, "tx_mismatch", `The marketplace asked for a step other than the ${step} this button sends (${String(endpoint).slice(0, 80)}): nothing was signed.`);
  }
  await checkMarketNetwork(); // a wallet on another network: wrong_network, with the switch
  const { sdkClient } = await import("./studio.js");
  try {
    const result = await sdkClient()[action]({ original: String(body.original), duplicate: String(body.duplicate) });
    return result.hash;
  } catch (err) {
    throw walletRefusal(err) || err;
  }
}

/** The wallet's own refusal (EIP-1193 4001 / 4100) somewhere in an SDK error's causes, in words. */
function walletRefusal(err) {
  for (let e = err, i = 0; e && i < 8; i++, e = e.cause) {
    if (e.code === 4001) return new WalletError("rejected", "You rejected the request in your wallet; nothing was signed or sent.");
    if (e.code === 4100) return new WalletError("unauthorized", "Your wallet has not authorised this site: connect it first.");
  }
  return null;
}

function noteView(n) {
  const item = el("li", { "data-kind": n.kind });
  if (n.kind === "plagiarism_suspected") {
    item.append(
      el("strong", {}, "Suspected copy of your image"),
      el("p", {}, "Token ", el("a", { href: `#/product/${n.duplicate}` }, short(String(n.duplicate))),
        ` (distance ${n.distance}) looks like your `, el("a", { href: `#/product/${n.original}` }, short(String(n.original))),
        ". Your image has priority: you can challenge it. The challenge locks a deposit that comes back with a reward when the contract revokes the copy."));
    const result = el("p", { role: "status" });
    const button = el("button", { type: "button", class: "challenge" }, "Sign the challenge");
    button.addEventListener("click", async () => {
      button.disabled = true;
      result.textContent = "Waiting for your wallet…";
      try {
        const hash = await sendStep(n.prepared_challenge.endpoint, n.prepared_challenge.body, "challenge");
        result.className = "ok";
        result.textContent = `Challenge sent in transaction ${short(hash)}. The copy is revoked when the dispute window closes uncontested, or by the contract's verdict if contested.`;
        result.dataset.tx = hash;
      } catch (err) {
        button.disabled = false;
        result.replaceChildren(showError(friendly(err)));
      }
    });
    item.append(button, result);
    item.append(verdictLine(n));
  } else if (n.kind === "equivocation") {
    // One ESP attested both images (docs/contracts.md, "One ESP, two payers"): the contract
    // revokes neither; only the contested path (challenge, contest, resolve) can slash the ESP.
    item.append(
      el("strong", {}, "Your ESP attested a near copy of your image to another payer"),
      el("p", {}, "Token ", el("a", { href: `#/product/${n.duplicate}` }, short(String(n.duplicate))),
        ` (distance ${n.distance}) looks like your `, el("a", { href: `#/product/${n.original}` }, short(String(n.original))),
        ", and the same ESP ", el("span", { title: n.esp }, short(String(n.esp))), " attested both.",
        " The contract cannot tell which payer is the ESP's own, so it treats this as an equivocation: Nothing is revoked, and both tokens stay.",
        " To have the ESP slashed, challenge, then contest your own challenge (each locks a deposit that comes back) and ask the contract to compare the two images' details;",
        " if they match, the ESP loses a challenge and its stake is slashed. Left uncontested, the challenge ends void and only your deposit comes back."));
    const verdict = verdictLine(n);
    const result = el("p", { role: "status" });
    const labels = {
      challenge: "1. Sign the challenge",
      contest: "2. Ask for the detail comparison (contest)",
      resolve: "3. Ask the contract to decide",
    };
    const done = {
      challenge: "Challenge sent: now ask for the detail comparison before the dispute window closes.",
      contest: "Contest sent (your second deposit is locked): anyone may now ask the contract to decide.",
      resolve: "The contract decided; the verdict shows here once indexed.",
    };
    const buttons = (n.prepared_steps || []).map((step, i) => {
      const button = el("button", { type: "button", class: `equivocation ${step.action}`, hidden: i > 0 }, labels[step.action] || step.action);
      button.addEventListener("click", async () => {
        button.disabled = true;
        result.className = "";
        result.textContent = "Waiting for your wallet…";
        try {
          const hash = await sendStep(step.endpoint, step.body, ["challenge", "contest", "resolve"][i]);
          result.className = "ok";
          result.dataset.tx = hash;
          result.textContent = `${done[step.action] || "Sent."} (transaction ${short(hash)})`;
          button.hidden = true;
          if (buttons[i + 1]) buttons[i + 1].hidden = false;
          else verdict.follow();
        } catch (err) {
          button.disabled = false;
          result.replaceChildren(showError(friendly(err)));
        }
      });
      return button;
    });
    item.append(...buttons, result, verdict);
  } else if (n.kind === "challenge_opened") {
    item.append(el("strong", {}, "Your image was challenged"),
      el("p", {}, "Token ", el("a", { href: `#/product/${n.duplicate}` }, short(String(n.duplicate))),
        " is challenged as a copy of ", el("a", { href: `#/product/${n.original}` }, short(String(n.original))),
        n.equivocal
          ? ". The same ESP attested both images, so this challenge cannot revoke your token (an equivocation). If you contest it (with the same deposit, which comes back) and the contract's detail comparison matches the two images, the ESP is slashed; if they differ, you take both deposits."
          : ". If it is your own work, contest it (with the same deposit) before the dispute window closes: the contract then compares the two images' detail descriptors."),
      ...(n.equivocal ? [] : [el("p", { class: "muted" },
        "If the image is your own generation, contesting first publishes its generation proof: your prompt and the seed your ESP generated with (this makes your prompt public). The committee's jurors regenerate the image from them and vote that it is no copy.")]));
    const verdict = verdictLine(n);
    const result = el("p", { role: "status" });
    const contest = el("button", { type: "button", class: "contest" }, "Contest the challenge");
    const proof = el("p", { class: "generation-proof", role: "note", hidden: true });
    // The committee's review of this pair (stage 3): "none" until the committee holds one,
    // "requested" once it does (ours, or already there on a retry), "drawn" once its jurors are.
    let review = "none";
    const decide = el("button", { type: "button", class: "resolve", hidden: true }, "Ask the contract to decide now");
    const note = el("p", { class: "notice", role: "note", hidden: true });
    const tell = (code, text) => { note.hidden = false; note.dataset.code = code; note.textContent = text; };
    const fail = (button, err) => { button.disabled = false; result.replaceChildren(showError(friendly(err))); return false; };
    const send = (button, prepared, step, done) => async () => {
      button.disabled = true;
      result.className = "";
      result.textContent = "Waiting for your wallet…";
      try {
        const hash = await sendStep(prepared.endpoint, prepared.body, step);
        result.className = "ok";
        result.dataset.tx = hash;
        result.textContent = done(hash);
        button.hidden = true;
        return true;
      } catch (err) {
        return fail(button, err);
      }
    };
    const body = { original: n.original, duplicate: n.duplicate };
    // Stage 3 (issue 11, docs/committee-jurors.md): where the deployment has a committee, its
    // review is requested (with the review fee) BEFORE the contest, else the challenger may
    // resolve by the detail rule first. Both committee steps go through the SDK's checked
    // requestReview / drawReview (sendStep): a lying API's transaction is tx_mismatch, unsigned;
    // the refusals carry the contract's error name as their code, whether the API's 409 or the
    // SDK's own simulation said it. The request draws nobody: the jurors are drawn from a
    // block mined after it, so the page draws them next (POST /v1/tx/review/draw), asking again
    // each block while the contract answers CommitteeDrawTooEarly; CommitteeAlreadyDrawn (a
    // juror's duty or the defender was first) is done. With too few jurors (CommitteeTooSmall)
    // there is no review: the page says the detail rule decides and contests without one, and
    // asks again on the next click (jurors may have enrolled). CommitteeTooSmall at the draw
    // (all busy elsewhere): the review waits for them, the page says so and contests. Returns
    // whether to contest now.
    const askCommittee = async () => {
      contest.disabled = true;
      result.className = "";
      note.hidden = true;
      if (review === "none") {
        result.textContent = "Asking the committee to review the pair (the review fee): waiting for your wallet…";
        try {
          await sendStep("/v1/tx/review/request", body, "request");
          review = "requested";
        } catch (err) {
          if (err.code === "CommitteeReviewExists") review = "requested";
          else if (err.code === "CommitteeTooSmall") {
            tell(err.code, "Too few jurors are enrolled for a committee review, so none is held: the contest will be decided by the contract's detail rule (it compares the two images' detail descriptors).");
          } else if (err.code === "no_committee") {
            tell(err.code, "This marketplace has no committee of jurors: the contest will be decided by the contract's detail rule (it compares the two images' detail descriptors).");
          } else return fail(contest, err);
        }
      }
      for (let attempt = 1; review === "requested"; attempt++) {
        if (attempt > DRAW_TRIES) {
          tell("draw_left_to_jurors", "No new block came to draw the jurors from: the enrolled jurors draw the review themselves (their duty). The contest goes ahead.");
          break;
        }
        result.dataset.draw = String(attempt);
        result.textContent = attempt === 1
          ? "Drawing the review's jurors (no fee, only gas): waiting for your wallet…"
          : `The jurors are drawn from a block mined after your request: waiting for the next block, then drawing again (try ${attempt} of ${DRAW_TRIES})…`;
        if (attempt > 1) await new Promise((resolve) => { setTimeout(resolve, DRAW_RETRY_MS); });
        if (!document.body.contains(result)) return false; // the page moved on: no wallet prompt
        try {
          await sendStep("/v1/tx/review/draw", body, "draw");
          review = "drawn";
        } catch (err) {
          if (err.code === "CommitteeAlreadyDrawn") review = "drawn";
          else if (err.code === "CommitteeTooSmall") {
            // enough jurors enrolled, all busy in other reviews: the review is held (nobody can
            // have the pair decided before its verdict) and drawn once they are free
            tell(err.code, "The committee's jurors are all busy in other reviews: your review is held and drawn once they are free (the jurors' duty draws it); until its verdict nobody can have the contest decided. The contest goes ahead.");
            break;
          } else if (err.code !== "CommitteeDrawTooEarly") return fail(contest, err);
        }
      }
      return true;
    };
    // Generation proof (docs/provenance.md "Generation proofs"): when the accused token is the
    // signed-in producer's own generation (one of its delivered tasks is the token's image), the
    // page publishes the task's prompt and the ESP's generation seed (PUT
    // /v1/products/{id}/generation, through the SDK) before the committee is asked, so the jurors
    // regenerate the image and vote "no copy" on a stage-3 match. Never blocks the contest: a
    // refusal is told, and the contest goes ahead on the pixels alone.
    let proofDone = false;
    const showProof = (state, text) => { proof.hidden = false; proof.dataset.state = state; proof.textContent = text; };
    const publishProof = async () => {
      if (proofDone) return;
      result.className = "";
      result.textContent = "Publishing your image's generation proof (its prompt and seed)…";
      try {
        const { sdkClient } = await import("./studio.js");
        await sdkClient().publishGenerationOpening({ tokenId: n.duplicate });
        proofDone = true;
        showProof("published", "Generation proof published: the marketplace regenerated your image from your prompt and seed, and the committee's jurors will check it again before they vote.");
      } catch (err) {
        const code = err && err.code;
        if (code === "opening_exists") {
          proofDone = true;
          showProof("published", "A generation proof of this image is already published: the committee's jurors check it before they vote.");
        } else if (code === "no_generation") {
          proofDone = true; // not the signed-in account's own generation: no proof to give
        } else if (code === "not_reproduced") {
          proofDone = true;
          showProof(code, "No generation proof was published: your prompt and the seed your ESP delivered do not regenerate the image this token holds. The contest goes ahead; the jurors compare the two images' pixels only.");
        } else if (code === "image_missing") {
          showProof(code, "No generation proof was published yet: the token's image is not uploaded to the marketplace (PUT /v1/products/{id}/image), so your prompt and seed cannot be checked against it. The contest goes ahead; upload the image, then publish the proof from the token's page before the jurors vote.");
        } else if (code === "model_not_runnable" || code === "no_generation_seed") {
          proofDone = true;
          showProof(code, code === "no_generation_seed"
            ? "No generation proof can be published: your ESP did not deliver the seed it generated with. The contest goes ahead on the pixels alone."
            : "No generation proof can be published: the marketplace cannot run the model that made this image. The contest goes ahead on the pixels alone.");
        } else {
          showProof(code || "generation_proof_failed", `No generation proof was published (${(err && err.message) || err}). The contest goes ahead.`);
        }
      }
    };
    contest.addEventListener("click", async () => {
      contest.disabled = true;
      // an equivocation cannot revoke the token: no reason to make the prompt public
      if (!n.equivocal) await publishProof();
      if (!(await askCommittee())) return;
      const sent = await send(contest, n.prepared_contest || { endpoint: "/v1/tx/registry/contest", body }, "contest",
        (hash) => `Contest sent in transaction ${short(hash)} (your deposit is locked beside the challenger's). Anyone may now ask the contract to decide.`)();
      if (sent) { decide.hidden = false; verdict.follow(); }
    });
    decide.addEventListener("click", async () => {
      const sent = await send(decide, { endpoint: "/v1/tx/registry/resolve", body }, "resolve",
        (hash) => `The contract decided in transaction ${short(hash)}; the verdict shows here once indexed.`)();
      if (sent) verdict.follow();
    });
    item.append(contest, decide, proof, note, result, verdict);
  } else if (n.kind === "duplicate_registration") {
    // One image held as a batch item and as a single token under one ESP (docs/batches.md,
    // "One image, two collections"): anyone may ask the BatchCourt to revoke the second one.
    const yours = n.yours === "kept" ? "your token keeps the image" : "your token is the one the ruling revokes";
    item.append(
      el("strong", {}, "Your image is registered twice"),
      el("p", {}, "Batch item ", el("a", { href: `#/product/${n.item}` }, short(String(n.item))),
        " and token ", el("a", { href: `#/product/${n.single}` }, short(String(n.single))),
        " hold the same image, attested by the same ESP. ",
        n.two_payers
          ? "Two payers registered it: the one with the later generation lock is revoked, and the ESP's slash is burned. "
          : "One producer registered it twice: the later published registration is revoked, and nobody is slashed. ",
        "The ruling revokes ", el("a", { href: `#/product/${n.revoked_token}` }, short(String(n.revoked_token))),
        ` (${yours}); the marketplace no longer sells that one. Anyone may ask for the ruling and is paid the challenge reward from the revoked token's bond.`));
    const result = el("p", { role: "status" });
    const button = el("button", { type: "button", class: "ruling" }, "Ask for the ruling");
    // Through the SDK, about the two tokens this note names: it checks the API's transaction
    // (the court, revokeDuplicateImage of exactly these two, no Ether) before the wallet is asked.
    button.addEventListener("click", () => courtClick(button, result,
      (sdk) => sdk.courtRevokeDuplicateImage({ item: String(n.item), single: String(n.single) }),
      (r) => `Ruling sent in transaction ${short(r.hash)}: the second registration is revoked.`));
    item.append(button, result);
  } else if (n.kind === "misattested_copy") {
    misattestedNote(n, item);
  } else if (n.kind === "royalty_claimable") {
    // A resale's royalty lock, open while its secret is public: anyone may withdraw it to the
    // producer, and the buyer may refund it at its timelock (docs/api.md, notifications).
    const eth = fmtEth(n.amount);
    item.append(
      el("strong", {}, "A royalty is yours to collect"),
      el("p", {}, `Token `, el("a", { href: `#/product/${n.token_id}` }, short(String(n.token_id))),
        ` was resold: ${eth} of royalty waits in a lock for you until ${new Date(n.expires_at * 1000).toLocaleString()}. After that the buyer can take it back.`));
    const result = el("p", { role: "status" });
    const button = el("button", { type: "button", class: "royalty" }, "Collect the royalty");
    // Through the SDK's collectRoyalty: the note's lock must be the one its lock_id names, an
    // Ether lock paying you the amount announced, open on chain, the secret its hashlock's; the
    // API's transaction exactly withdraw(that lock, that secret) at the deployment's HTLC with
    // no Ether. The page used to sign whatever the API returned.
    const body = (n.prepared_withdrawal && n.prepared_withdrawal.body) || {};
    button.addEventListener("click", () => courtClick(button, result,
      (sdk) => sdk.collectRoyalty({ lockId: n.lock_id, lock: body.lock, preimage: body.preimage, amount: n.amount }),
      (r) => `Royalty withdrawn in transaction ${short(r.hash)}.`));
    item.append(button, result);
  } else {
    item.append(el("strong", {}, n.kind), el("span", { class: "muted" }, ` · block ${n.block}`));
  }
  return item;
}

/** A mis-attestation claim's decision (MisattestationDecided), in words. */
const MISATTESTATION_DECIDED = {
  upheld: "Upheld: the copy is revoked, its ESP slashed, and the claimant's deposit returned with the challenge reward and the review fee it paid.",
  rejected: "Rejected: the jurors found the copy's attested values within the rules; the claimant's deposit went to its owner.",
  void: "No verdict (too few jurors voted, or the copy changed since): the claimant's deposit came back.",
};

/**
 * The `misattested_copy` alert (docs/contracts.md, "fraud proof of a mis-attestation"): a near
 * copy of the owner's image whose ESP attested another image's values, so no challenge can compare
 * them. "Claim" sends BatchCourt.claimMisattested through the SDK's checked claimMisattested (the
 * court, exactly this token, exactly the deposit + the committee's review fee read from the chain,
 * the token's record: a lying API is tx_mismatch, unsigned); "Finalize" its finalizeMisattested
 * once the claim is open. The claim's state is read from the chain (misattestationOf). A batch
 * item copy is claimed the same way (claimMisattestedItem: the SDK proves its opening against the
 * batch's roots on chain); the API opens it from its batch's published manifest.
 */
function misattestedNote(n, item) {
  const token = String(n.duplicate);
  const batchItem = isBatchItem(token);
  const cost = el("span", { class: "misattestation-cost" }, "the court's challenge deposit plus the committee's review fee");
  item.append(
    el("strong", {}, "A copy of your image was attested with another image's values"),
    el("p", {}, "Token ", el("a", { href: `#/product/${token}` }, short(token)),
      ` (distance ${n.distance} by the values recomputed from its image) nearly copies your `,
      el("a", { href: `#/product/${n.original}` }, short(String(n.original))), ", but its ESP ",
      el("span", { title: n.esp }, short(String(n.esp))),
      " attested a fingerprint and descriptor that are not its image's, so no challenge can compare the two."),
    el("p", {}, "You can claim it mis-attested at the court. The claim costs ", cost,
      ". Jurors drawn from the committee recompute the fingerprint and descriptor from the copy's image and vote;",
      " after their reveal deadline (a few thousand blocks) anyone finalizes the claim. Upheld: the copy is revoked, its ESP slashed, and your deposit comes back with the challenge reward and the review fee you paid.",
      " Rejected: your deposit goes to the copy's owner. No verdict: your deposit comes back. The fee pays the jurors."),
    batchItem ? el("p", { class: "muted batch-item-claim" }, "The copy is an item of a batch: the claim opens it from its batch's published manifest (until its producer publishes it, the claim is refused with manifest_not_published).") : "");
  const state = el("p", { class: "claim-state", hidden: true });
  const result = el("p", { role: "status" });
  const claim = el("button", { type: "button", class: "claim-misattested" }, "Claim: this copy's values are not its image's");
  const finalize = el("button", { type: "button", class: "finalize-misattested", hidden: true }, "Finalize the claim");
  const refresh = () => showMisattestation(token, state, claim, finalize);
  claim.addEventListener("click", async () => {
    await courtClick(claim, result, (sdk) => sdk.claimMisattested({ token }),
      (r) => `Claim sent in transaction ${short(r.hash)}: ${fmtEth(r.deposit)} deposit and ${fmtEth(r.fee)} review fee. The jurors are drawn and vote over the next blocks; finalize once their reveal deadline has passed.`);
    refresh();
  });
  finalize.addEventListener("click", async () => {
    await courtClick(finalize, result, (sdk) => sdk.finalizeMisattested({ token }),
      (r) => `Finalized in transaction ${short(r.hash)}. ${MISATTESTATION_DECIDED[r.state] || ""}`);
    refresh();
  });
  item.append(claim, finalize, state, result);
  if (globalThis.ethereum) {
    import("./studio.js").then(({ sdkClient }) => sdkClient().misattestationCost()).then((c) => {
      cost.textContent = `${fmtEth(c.total)} (the court's challenge deposit ${fmtEth(c.deposit)} plus the committee's review fee ${fmtEth(c.fee)})`;
    }).catch(() => {}); // the words stand
    refresh();
  }
}

/**
 * Reads the court's mis-attestation claim of `token` (misattestationOf, on chain through the
 * wallet) into `line`; shows `finalize` while a claim is open, `claim` when none is (or the last
 * one was rejected or void: a new round may be claimed). Both optional.
 */
async function showMisattestation(token, line, claim, finalize) {
  let c;
  try {
    const { sdkClient } = await import("./studio.js");
    c = await sdkClient().getMisattestation({ token });
  } catch {
    return null; // no wallet, no court: nothing said
  }
  line.dataset.state = c.state;
  line.dataset.source = "chain";
  if (claim) claim.hidden = c.state === "open" || c.state === "upheld";
  if (finalize) finalize.hidden = c.state !== "open";
  if (c.state === "none") {
    line.hidden = true;
    return c;
  }
  line.hidden = false;
  line.replaceChildren(el("strong", {}, "Mis-attestation claim: "), c.state === "open"
    ? `open (claim ${c.round}, by ${short(c.claimant)}): the committee's jurors are reviewing the record; anyone may finalize it after their reveal deadline.`
    : MISATTESTATION_DECIDED[c.state] || c.state);
  return c;
}

/**
 * The claim the API indexed (GET /v1/products/{id} `misattestation`) into `line`: its state,
 * round and claimant, and while it is open when anyone may finalize it (the review's reveal
 * deadline, once its jurors are drawn). No wallet needed.
 */
function indexedMisattestation(c, line) {
  line.dataset.state = c.state;
  line.dataset.source = "index";
  line.hidden = false;
  let text = MISATTESTATION_DECIDED[c.state] || c.state;
  if (c.state === "open") {
    const when = c.review === "drawn" && c.review_deadline != null
      ? `anyone may finalize it after block ${c.review_deadline}, its review's reveal deadline`
      : c.review === "cancelled" ? "its review was cancelled: anyone may finalize it now (no verdict)"
        : "its jurors are not drawn yet";
    text = `open (claim ${c.round}, by ${short(c.claimant)}): the committee's jurors are reviewing the record; ${when}. Upheld, the token is revoked.`;
  }
  line.replaceChildren(el("strong", {}, "Mis-attestation claim: "), text);
}

const VERDICTS = {
  upheld: "Upheld: the copy is revoked; the challenger's reward is held until the challenge is settled, after the reward hold.",
  rejected: "Rejected: the images differ; the challenged token stays, and its owner takes both deposits.",
  void: "Void: nothing was decided and nothing is revoked (an equivocation left uncontested, or one of the tokens changed status); deposits return.",
  settled: "Settled: the revocation is final and the held reward is paid.",
  reversed: "Reversed: the challenger's own token was revoked as a copy within the hold, so the copy is reinstated (a single token revoked by the batch court cannot be: its side is compensated instead).",
  equivocated: "Equivocation: the same ESP attested both images and their details match, so nothing is revoked, both deposits return, and the ESP is slashed and loses a challenge.",
};

/**
 * The contract's verdict on a challenge, read from the challenged token's indexed history: shown
 * at once when decided; `follow()` re-reads it (after a transaction) until the indexer has it.
 */
function verdictLine(n) {
  const line = el("p", { class: "verdict", hidden: true });
  let timer = null;
  const check = async () => {
    const p = await api(`/v1/products/${encodeURIComponent(n.duplicate)}`).catch(() => null);
    const decided = p && (p.history || []).find((h) => h.kind === "decided" && String(h.original) === String(n.original));
    if (!decided) return false;
    line.hidden = false;
    line.dataset.verdict = decided.verdict;
    line.replaceChildren(el("strong", {}, "Verdict: "), VERDICTS[decided.verdict] || decided.verdict,
      el("span", { class: "muted" }, ` (block ${decided.block})`));
    line.closest("li")?.querySelectorAll("button.challenge, button.contest, button.resolve, button.equivocation").forEach((b) => { b.hidden = true; });
    return true;
  };
  line.follow = () => {
    clearInterval(timer);
    timer = setInterval(async () => {
      if (!document.body.contains(line) || await check()) clearInterval(timer);
    }, 1500);
  };
  check();
  return line;
}

async function me() {
  const root = main();
  root.replaceChildren(el("h1", {}, "My account"));
  const { address } = session();
  if (!address) {
    root.append(el("p", {}, "Connect your wallet and sign in to see your images and alerts."),
      el("button", { type: "button", onclick: connect }, "Connect wallet"));
    return;
  }
  root.append(el("p", {}, "Signed in as ", el("code", {}, address)));
  const alerts = el("section", { "aria-label": "Alerts" }, el("h2", {}, "Alerts"));
  const trades = el("section", { "aria-label": "My trades" }, el("h2", {}, "My trades"));
  const mine = el("section", { "aria-label": "My collection" }, el("h2", {}, "My collection"));
  root.append(alerts, trades, mine);
  const market = await import("./market.js");
  await market.myTrades(trades, ui());
  try {
    const notes = await api("/v1/notifications", { headers: authHeaders() });
    if (notes.items.length === 0) alerts.append(el("p", { class: "muted" }, "No alerts."));
    else alerts.append(el("ul", { class: "notes" }, notes.items.map(noteView)));
  } catch (err) {
    alerts.append(showError(err));
  }
  try {
    const page = await api(`/v1/products?${query({ owner: address, limit: PAGE })}`);
    const listed = await market.myOpenListings(address);
    if (page.items.length === 0) mine.append(el("p", { class: "muted" }, "You own no registered image yet."));
    else {
      mine.append(el("ul", { class: "grid" }, page.items.map((p) => {
        const c = card(p);
        if (p.status === "active") c.append(market.saleBox(ui(), p, listed.get(p.token_id)));
        return c;
      })));
    }
  } catch (err) {
    mine.append(showError(err));
  }
}

const TITLES = { esps: "ESPs", me: "My account", studio: "Studio" };

/** app.js's helpers, for the pages that load on demand (studio.js, market.js). */
const ui = () => ({ el, showError, announce, short, connect, api });

function route() {
  const hash = location.hash || "#/";
  const m = hash.match(/^#\/product\/([^?]+)/);
  const trade = hash.match(/^#\/trade\/([0-9]{1,10})$/);
  const esp = hash.match(/^#\/esp\/(0x[0-9a-fA-F]{40})$/);
  const name = (hash.match(/^#\/(esps|me|studio)\b/) || [])[1];
  const page = m ? product(decodeURIComponent(m[1])) : name === "esps" ? esps() : name === "me" ? me()
    // The studio and the swap load the SDK bundle (viem, @noble/*) on demand: other pages stay light.
    : name === "studio" ? import("./studio.js").then((s) => s.studio(main(), ui()))
    : trade ? import("./market.js").then((s) => s.tradePage(main(), ui(), trade[1]))
    : esp ? import("./dashboard.js").then((s) => s.espDashboard(main(), ui(), esp[1])) : gallery();
  return page.finally(() => {
    const title = m ? `Token ${short(m[1])}` : trade ? `Trade ${trade[1]}` : esp ? `ESP ${short(esp[1])}` : TITLES[name] || "Gallery";
    document.title = `${title} · AIGC marketplace`;
  });
}

window.addEventListener("hashchange", route);
renderWallet();
route();
// The wallet switched accounts or networks mid-flow: signed out (the page re-renders for nobody),
// or told to switch back; a problem stays on screen until the next page.
watchWallet((problem) => {
  const old = document.getElementById("wallet-problem");
  if (!problem) { if (old) old.remove(); announce("Your wallet is back on the marketplace's network."); return; }
  announce(problem.message);
  if (problem.code !== "account_changed") { walletProblem(problem); return; }
  renderWallet();
  // the page re-rendered for nobody signed in, then the notice on it
  route().catch(() => {}).finally(() => walletProblem(problem));
});

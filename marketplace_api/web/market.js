// Buying and reselling (issue 15, consumer): the hash-time-locked swap in the page, each step as
// the chain shows it, from both sides:
//   buyer: buy (request)  ->  seller: lock the token under sha256(secret)
//   buyer: lock the payment (and, on a resale, the producer's ERC-2981 royalty) under that hashlock
//   seller: claim the payment (reveals the secret)  ->  buyer: claim the token (releases the royalty)
// Every transaction is built by the API and signed in the wallet (EIP-1193) through the SDK; the
// trade's state comes from the API's indexer, never from the page's own word. A token is a single
// registration (the Registry's) or a batched item (the BatchRegistry's): the listing and the trade
// name its collection, and the SDK signs, approves, locks and checks against that contract.
import { describeReclaimable, formatEther, parseEther, reclaimableUntil } from "./sdk.bundle.js";
import { explain, sdkClient } from "./studio.js";
import { WalletError, authHeaders, checkMarketNetwork, session } from "./wallet.js";

/** The swap's states in order, with what each means to a person. */
const STEPS = [
  ["requested", "Purchase requested: the seller is asked to lock the token for the buyer"],
  ["asset_locked", "Seller's token lock seen on chain (hash-time-locked for the buyer)"],
  ["payment_locked", "Payment locked under the same hashlock (with the producer's royalty on a resale)"],
  ["payment_claimed", "Seller claimed the payment: the secret is revealed on chain"],
  ["completed", "Buyer claimed the token with the secret: the sale is complete"],
];
const ORDER = Object.fromEntries(STEPS.map(([s], i) => [s, i]));
const ENDED = {
  refunded: "The swap was refunded: each side took its lock back after its timelock.",
  cancelled: "The trade was cancelled.",
  off_terms: "A lock does not match the listing's terms: do not continue this trade.",
  unsafe_payment: "The payment lock's timelock is unsafe against the token lock's: do not continue.",
};
const REFRESH_MS = 1000;

/** Words for the codes a trade can meet: the API's, the SDK's checks and the contracts' reverts. */
const MESSAGES = {
  RegistryRelistTooSoon: "The token came back from the escrow only a few blocks ago: the chain lets it be locked for a buyer again once a few more blocks are made. Try again in a minute.",
  bad_price: "A listing's price must be more than 0 ETH: nothing was signed.",
  not_found: "There is no such trade or listing.",
  forbidden: "Only the trade's buyer and seller can see it or act on it.",
  unauthorized: "Your sign-in has expired: connect your wallet again.",
  token_not_tradable: "This token cannot be traded now (it is revoked, or held in a dispute).",
  misattestation_claim_open: "This token is under an open mis-attestation claim at the court: upheld, it is revoked, so it is not sold until the claim is decided.",
  trade_not_ready: "The trade is not at that step yet: wait until the chain shows the previous one.",
  lock_mismatch: "A lock on chain does not match the listing's terms: nothing more was sent.",
  unsafe_timelock_order: "The payment's timelock would not end safely before the token lock's: nothing was locked.",
  secret_not_revealed: "The seller has not revealed the secret yet.",
  claim_window_closed: (err) => `The payment lock's claim window (a number of blocks after the buyer locked it) ends ${windowEnd(err)}: a claim mined after it fails but still reveals your secret, which would give the buyer the token and the refund. Nothing was sent: the buyer refunds its payment and you take the token back after their timelocks.`,
  claim_too_late: "The payment lock expires within a minute: a claim mined after it fails but still reveals your secret. Nothing was sent: both sides refund after the timelocks.",
  lock_not_open: "That lock is not open on chain (already settled, or never made): nothing was sent.",
  LockClaimWindowClosed: "That lock's claim window has closed: it can only be refunded at its timelock.",
  bad_token_lock: "The seller's lock does not hold this token for you: nothing was paid.",
  token_lock_not_on_chain: "The chain holds no open lock of this token for you on the terms the marketplace shows (never made, already refunded or withdrawn, or under another secret or deadline): nothing was paid. Do not continue this trade.",
  token_revoked: "This token is revoked on chain: it cannot be traded, and nothing was paid.",
  challenge_open: "This token is accused by a duplicate challenge still open on chain: decided for the accuser, it is revoked from whoever holds it then. Nothing was paid. Do not continue this trade.",
  registration_not_found: "The chain shows no registration of this token after the block the marketplace says its contracts start at, so its challenges could not be checked: nothing was paid. Do not continue this trade.",
  token_unknown: "The chain knows no active token by this id in its collection: nothing was paid.",
  bad_hashlock: "The payment's hashlock differs from the token lock's: nothing was paid.",
  not_seller: "Only the seller can lock the token.",
  cannot_estimate: "The chain would refuse this step now (the trade may have moved on): reload the page.",
  chain_error: "The chain node cannot be reached: try again in a moment.",
  rate_limited: "Too many requests: wait a moment and try again.",
  LockExpired: "That lock's timelock has passed: it can only be refunded now.",
  LockNotOpen: "That lock is already settled.",
  LockPreimageMismatch: "The secret does not open that lock.",
  RegistryTokenRevoked: "The token was revoked as a copy: it cannot be traded.",
  BatchTokenRevoked: "The batched item was revoked as a copy: it cannot be traded.",
  unknown_collection: "That token is not one of this marketplace's collections.",
  RegistryTokenEscrowed: "The token is already locked in another swap.",
};

/**
 * When a lock's claim window ends, from a claim_window_closed refusal: the SDK's
 * ClaimWindowClosedError (lastBlock, block) or the API's 409 (fields.last_claim_block,
 * fields.block); "within a few blocks" where it does not say.
 */
function windowEnd(err) {
  const f = (err && err.fields) || {};
  const last = f.last_claim_block ?? (err && err.lastBlock);
  const head = f.block ?? (err && err.block);
  if (last === undefined || last === null) return "within a few blocks";
  return `at block ${last}${head === undefined || head === null ? "" : ` (the chain is at block ${head})`}`;
}

/** {code, message} in words, for any failure on this page (a message may read the error). */
function problem(ui, err) {
  const until = reclaimableUntil(err);
  if (until !== null) return reclaimable(ui, explain(err).code, until);
  const e = explain(err);
  const said = MESSAGES[e.code];
  const text = typeof said === "function" ? said(err) : said;
  return ui.showError(text ? new WalletError(e.code, text) : e);
}

/**
 * A token the Registry's escrow refuses until block `until` (RegistryTokenReclaimable; the
 * market's 409 token_reclaimable holds it the same): when it can be sold, in blocks and about
 * how long from the chain's head (GET /healthz), said as soon as the head is read.
 */
function reclaimable(ui, code, until) {
  const say = (when) => `This token cannot be sold yet: ${when} an earlier payer of its ESP could still reclaim it from a buyer (a fresh or just reclaimed token waits out the registration window), so the escrow refuses it and the market does not list it before then. Try again after that block.`;
  const box = ui.showError(new WalletError(code, say(`until block ${until}`)));
  box.dataset.until = String(until);
  fetch("/healthz").then((r) => r.json()).then((h) => {
    const when = describeReclaimable({ untilBlock: until, head: BigInt(h.block) });
    box.dataset.blocks = String(when.blocks);
    box.textContent = say(when.text);
  }).catch(() => {}); // the block alone is said
  return box;
}

const fmtEth = (wei) => `${formatEther(BigInt(wei))} ETH`;

/** Where the seller keeps a trade's secret until it claims the payment (this browser only). */
const secretKey = (tradeId) => `aigc:trade-secret:${location.origin}:${tradeId}`;

async function apiGet(path, auth) {
  const res = await fetch(path, { headers: auth ? authHeaders() : {} });
  const body = await res.json().catch(() => null);
  if (!res.ok) {
    const e = body && body.error ? body.error : {};
    throw new WalletError(e.code || `http_${res.status}`, e.message || `Request failed (${res.status})`);
  }
  return body;
}

/** Checks the wallet is on the marketplace's network before anything is signed. */
async function ready(aigc) {
  await checkMarketNetwork();
  await aigc.getDeployment();
  return aigc;
}

/** The product page's sale box: the price, and a buy button for anyone but the seller. */
export function buyBox(ui, listing) {
  const { el } = ui;
  const out = el("div", { role: "status" });
  const me = session().address;
  const box = el("section", { class: "step-box", "aria-label": "For sale" },
    el("h2", {}, `For sale: ${fmtEth(listing.price)}`),
    el("p", {}, "Bought through a hash-time-locked swap: the seller locks the token for you, you lock the price under the same secret's hash, and neither side can take without the other."));
  if (me && me === listing.seller) {
    box.append(el("p", { class: "muted" }, "This is your listing."));
    return box;
  }
  const button = el("button", { type: "button", id: "buy" }, `Buy for ${fmtEth(listing.price)}`);
  button.addEventListener("click", async () => {
    if (!session().address) { await ui.connect(); if (!session().address) return; }
    button.disabled = true;
    out.textContent = "Asking the seller to lock the token for you…";
    try {
      const trade = await (await ready(sdkClient())).buy({ listingId: listing.id });
      location.hash = `#/trade/${trade.id}`;
    } catch (err) {
      button.disabled = false;
      out.replaceChildren(problem(ui, err));
    }
  });
  box.append(button, out);
  return box;
}

function lockLine(ui, label, lock) {
  if (!lock) return null;
  return ui.el("li", {}, `${label}: ${lock.asset === "ERC721" ? "token" : fmtEth(lock.amount)} to `,
    ui.el("code", { title: lock.receiver }, ui.short(lock.receiver)),
    `, claimable until ${new Date(Number(lock.timelock) * 1000).toLocaleString()}`);
}

/** The swap page (#/trade/<id>), for its buyer and its seller. */
export async function tradePage(root, ui, tradeId) {
  const { el } = ui;
  root.replaceChildren(el("h1", {}, `Trade ${tradeId}`));
  if (!session().address) {
    root.append(el("p", {}, "Connect your wallet and sign in to follow your trade."),
      el("button", { type: "button", onclick: ui.connect }, "Connect wallet"));
    return;
  }
  let trade;
  try {
    trade = await apiGet(`/v1/trades/${encodeURIComponent(tradeId)}`, true);
  } catch (err) {
    root.append(problem(ui, err));
    return;
  }
  const role = trade.seller === session().address ? "seller" : "buyer";
  const dep = await Promise.resolve().then(() => sdkClient().getDeployment()).catch(() => null);
  const batched = Boolean(dep && dep.addresses.batchRegistry && trade.collection === dep.addresses.batchRegistry);
  const aigc = sdkClient();
  const steps = el("ol", { class: "steps", "data-trade": trade.id },
    STEPS.map(([s, text]) => el("li", { "data-step": s }, text)));
  const terms = el("ul", { class: "terms" });
  const actions = el("div", { class: "actions" });
  root.append(
    el("p", { "data-collection": batched ? "batch" : "registry" }, `You are the ${role}. ${batched ? "Batched item" : "Token"} `,
      el("a", { href: `#/product/${trade.token_id}` }, ui.short(trade.token_id)),
      ` for ${fmtEth(trade.price)}.`),
    steps, el("h2", {}, "Locks"), terms, actions);
  const shown = new Set();
  const act = (key, build) => { if (!shown.has(key)) { shown.add(key); actions.append(build()); } };
  const render = (t) => {
    const at = ORDER[t.status] ?? -1;
    steps.dataset.status = t.status;
    for (const li of steps.children) li.classList.toggle("done", ORDER[li.dataset.step] <= at);
    terms.replaceChildren(...[
      lockLine(ui, "Token lock (seller → buyer)", t.asset_lock),
      lockLine(ui, "Payment lock (buyer → seller)", t.payment_lock),
      lockLine(ui, "Royalty lock (buyer → original producer, ERC-2981)", t.royalty_lock),
    ].filter(Boolean));
    if (!terms.children.length) terms.append(el("li", { class: "muted" }, "No lock on chain yet."));
    if (role === "seller" && t.status === "requested") act("lock", () => sellerLockBox(aigc, ui, t));
    if (role === "buyer" && t.status === "asset_locked") act("pay", () => payBox(aigc, ui, t));
    if (role === "seller" && t.status === "payment_locked") act("claim-payment", () => claimPaymentBox(aigc, ui, t));
    if (role === "buyer" && (t.status === "payment_claimed")) act("claim-token", () => claimTokenBox(aigc, ui, t));
    if (t.status === "completed") {
      act("done", () => el("p", { class: "ok", "data-done": "1" }, role === "buyer"
        ? "The token is yours. It is in your collection; you can resell it from My account."
        : "Sold: the payment is yours."));
    }
    if (ENDED[t.status]) act("ended", () => el("p", { role: "status" }, ENDED[t.status]));
    ui.announce(`Trade ${t.status.replace("_", " ")}`);
  };
  render(trade);
  // Trades have no event stream: the page re-reads the trade while it is open, and stops when
  // the person leaves it or the trade reaches a final state.
  const timer = setInterval(async () => {
    if (!document.body.contains(steps)) { clearInterval(timer); return; }
    try {
      const t = await apiGet(`/v1/trades/${trade.id}`, true);
      render(t);
      if (t.status === "completed" || ENDED[t.status]) clearInterval(timer);
    } catch { /* the next round tries again */ }
  }, REFRESH_MS);
  window.addEventListener("hashchange", () => clearInterval(timer), { once: true });
}

function actionBox(ui, { id, label, text, run }) {
  const { el } = ui;
  const out = el("div", { role: "status" });
  const button = el("button", { type: "button", id }, label);
  button.addEventListener("click", async () => {
    button.disabled = true;
    out.textContent = "Waiting for your wallet…";
    try {
      const message = await run();
      out.replaceChildren(el("p", { class: "ok", "data-step-done": id }, message));
    } catch (err) {
      button.disabled = false;
      out.replaceChildren(problem(ui, err));
    }
  });
  return el("div", { class: "step-box" }, el("p", {}, text), button, out);
}

function sellerLockBox(aigc, ui, raw) {
  if (localStorage.getItem(secretKey(raw.id))) {
    return ui.el("p", { class: "muted" }, "Your token lock is sent; waiting for the chain to show it.");
  }
  return actionBox(ui, {
    id: "lock-token",
    label: "Lock the token for the buyer",
    text: `A buyer asked for your token at ${fmtEth(raw.price)}. Your wallet approves the escrow and locks the token for them under the hash of a fresh secret, kept in this browser until you claim the payment. If the buyer never pays, you take the token back after the timelock.`,
    run: async () => {
      const trade = await (await ready(aigc)).getTrade({ tradeId: raw.id });
      const res = await aigc.lockForSale({ trade });
      localStorage.setItem(secretKey(raw.id), res.preimage);
      return `Token locked (transaction ${ui.short(res.lockTx)}).`;
    },
  });
}

function payBox(aigc, ui, raw) {
  return actionBox(ui, {
    id: "pay-trade",
    label: "Lock the payment",
    text: "The seller's token lock is on chain for you. Your wallet locks the price under the same hashlock, with an earlier timelock, so the seller can take it only by revealing the secret that gives you the token. On a resale the original producer's royalty is locked beside it.",
    run: async () => {
      const paid = await (await ready(aigc)).payTrade({ tradeId: raw.id, timeoutMs: 10_000 });
      return `Locked: ${paid.locks.map((l) => `${l.role} ${fmtEth(l.amount)}`).join(", ")}.`;
    },
  });
}

function claimPaymentBox(aigc, ui, raw) {
  return actionBox(ui, {
    id: "claim-payment",
    label: "Claim the payment",
    text: "The buyer's payment is locked for you. Claiming it reveals your secret on chain, which lets the buyer claim the token.",
    run: async () => {
      const preimage = localStorage.getItem(secretKey(raw.id));
      if (!preimage) {
        throw new WalletError("secret_lost", "This browser does not hold the trade's secret (it was locked from another browser). Claim from there, or take the token back after its timelock.");
      }
      const res = await (await ready(aigc)).claimPayment({ tradeId: raw.id, preimage, timeoutMs: 10_000 });
      localStorage.removeItem(secretKey(raw.id));
      return `Payment claimed (transaction ${ui.short(res.hash)}).`;
    },
  });
}

function claimTokenBox(aigc, ui, raw) {
  return actionBox(ui, {
    id: "claim-token",
    label: "Claim the token",
    text: "The seller revealed the secret by claiming the payment. Your wallet claims the token with it (and releases the royalty lock to the producer on a resale).",
    run: async () => {
      let res;
      try {
        res = await (await ready(aigc)).claimToken({ tradeId: raw.id, timeoutMs: 10_000 });
      } catch (err) {
        // The token's lock has no claim window (never refused for it): this is the royalty's,
        // withdrawn after the token. The buyer's words, not the seller's.
        if (explain(err).code !== "claim_window_closed") throw err;
        throw new WalletError("royalty_window_closed", `Your token is claimed, but the producer's royalty lock was not released: its claim window ends ${windowEnd(err)}, too close for a withdrawal to be mined in time, so nothing more was sent. The royalty can only be refunded to you after its timelock.`);
      }
      return `Token claimed (transaction ${ui.short(res.tokenTx)})${res.royaltyTx ? ", royalty released" : ""}.`;
    },
  });
}

/** My account's trades (as buyer and seller) and the collection's resell forms. */
export async function myTrades(section, ui) {
  const { el } = ui;
  try {
    const page = await apiGet("/v1/me/trades", true);
    if (page.items.length === 0) { section.append(el("p", { class: "muted" }, "No trades yet.")); return; }
    const me = session().address;
    section.append(el("ul", { class: "notes trades" }, page.items.map((t) => el("li", { "data-trade": t.id, "data-status": t.status },
      el("a", { href: `#/trade/${t.id}` }, `Trade ${t.id}`),
      ` · ${t.seller === me ? "selling" : "buying"} token ${ui.short(t.token_id)} for ${fmtEth(t.price)} · `,
      el("strong", {}, t.status.replace("_", " "))))));
  } catch (err) {
    section.append(problem(ui, err));
  }
}

/** The signed-in seller's open listings by token id (the newest 200 of theirs). */
export async function myOpenListings(address) {
  const page = await apiGet(`/v1/listings?status=open&seller=${address}&limit=200`, false);
  return new Map(page.items.filter((l) => l.seller === address).map((l) => [l.token_id, l]));
}

/** A token of the collection: its open listing (with a withdraw button), or a resell form. */
export function saleBox(ui, product, listing) {
  if (!listing) return resellForm(ui, product);
  const { el } = ui;
  const out = el("p", { role: "status" });
  const button = el("button", { type: "button", class: "withdraw" }, "Withdraw the listing");
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      const res = await fetch(`/v1/listings/${listing.id}`, { method: "DELETE", headers: authHeaders() });
      const body = await res.json().catch(() => null);
      if (!res.ok) {
        const e = body && body.error ? body.error : {};
        throw new WalletError(e.code || `http_${res.status}`, e.message || `Request failed (${res.status})`);
      }
      box.replaceWith(resellForm(ui, product));
    } catch (err) {
      button.disabled = false;
      out.replaceChildren(problem(ui, err));
    }
  });
  const box = el("div", { class: "resell", "data-listing": listing.id },
    el("p", {}, `Listed for ${fmtEth(listing.price)}.`), button, out);
  return box;
}

/** A resell form for a token the signed-in account owns (the royalty is shown once listed). */
function resellForm(ui, product) {
  const { el } = ui;
  const out = el("p", { role: "status" });
  const form = el("form", { class: "row resell", "aria-label": `Resell token ${ui.short(product.token_id)}`, "data-token": product.token_id },
    el("label", {}, "Price (ETH)", el("input", { type: "text", name: "price", inputmode: "decimal", required: true, pattern: "^[0-9]+(\\.[0-9]+)?$" })),
    el("button", { type: "submit" }, "List for sale"));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    let price;
    try { price = parseEther(form.elements.price.value.trim()); } catch {
      out.replaceChildren(ui.showError(new WalletError("bad_price", "The price must be a number of ETH, like 0.01.")));
      return;
    }
    out.textContent = "Your wallet signs the offer (EIP-712)…";
    try {
      const aigc = await ready(sdkClient());
      const own = product.producer === session().address;
      // A batched item is the BatchRegistry's token: its offer is signed under that contract.
      const collection = product.collection === "batch" ? "batch" : "registry";
      const params = { tokenId: BigInt(product.token_id), price, collection };
      const res = own ? { listing: await aigc.list(params), royalty: null } : await aigc.resell(params);
      out.className = "ok";
      out.textContent = `Listed for ${fmtEth(price)}.` + (res.royalty && res.royalty.amount > 0n
        ? ` Of that price, ${fmtEth(res.royalty.amount)} goes to the original producer as royalty (ERC-2981).` : "");
    } catch (err) {
      out.replaceChildren(problem(ui, err));
    }
  });
  return el("div", {}, form, out);
}

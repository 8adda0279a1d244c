// The marketplace in a browser: gallery and provenance pages over the same-origin API.
// Plain ES module, no build step and no runtime dependency: `aigc serve` serves it as is.
const PAGE = 24;

/** Messages for the API's stable error codes; anything else shows the API's own message. */
const MESSAGES = {
  not_found: "Nothing is registered under that id.",
  rate_limited: "Too many requests: wait a moment and try again.",
  payload_too_large: "That image is too large to search with.",
  unsupported_media_type: "That file is not an image the marketplace can read (PNG, JPEG, WebP).",
  degenerate_image: "That image is too plain (nearly one colour) to compare with others.",
  validation_error: "The request was not valid.",
};

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
  const filters = { owner: params.owner || "", status: params.status || "" };
  const root = main();
  root.replaceChildren(el("h1", {}, "Gallery"));
  const form = el("form", { class: "filters", role: "search", "aria-label": "Filter the gallery" },
    el("label", {}, "Owner address", el("input", { type: "text", name: "owner", value: filters.owner, placeholder: "0x…", pattern: "^0x[0-9a-fA-F]{40}$", autocomplete: "off" })),
    el("label", {}, "Status",
      el("select", { name: "status" },
        el("option", { value: "", selected: filters.status === "" }, "any"),
        el("option", { value: "active", selected: filters.status === "active" }, "active"),
        el("option", { value: "revoked", selected: filters.status === "revoked" }, "revoked"))),
    el("button", { type: "submit" }, "Filter"));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const data = Object.fromEntries(new FormData(form));
    location.hash = `#/?${query({ owner: data.owner.trim(), status: data.status })}`;
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
      results.append(el("p", { class: "muted" }, offset ? "No more products." : "No products registered yet."));
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
  } catch (err) {
    out.append(showError(err));
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
  const text = kinds[item.kind] || item.kind;
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
    ["Producer", p.producer],
    ["ESP", p.esp],
    ["Model", p.model_id],
    ["Seed", p.seed],
    ["Task (paid lock)", p.task_id],
    ["Priority block", p.priority_block],
    ["Registered in block", p.registered_block],
    ["Fingerprint", p.fingerprint],
    ["Detail hash", p.detail_hash || "—"],
  ];
  const picture = p.has_image
    ? el("img", { class: "full", src: `/v1/products/${p.token_id}/image`, alt: `Image of token ${short(p.token_id)}` })
    : el("p", { class: "muted" }, "The owner has not uploaded the image yet.");
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
  if (p.has_image) {
    try {
      const blob = await (await fetch(`/v1/products/${p.token_id}/image`)).blob();
      const form = el("form", { hidden: true });
      similar.before(form);
      await findSimilar(form, new File([blob], "image.png", { type: "image/png" }));
      const list = document.getElementById("similar");
      list.querySelectorAll(`li[data-token="${p.token_id}"]`).forEach((n) => n.remove());
      if (!list.querySelector("li")) list.append(el("p", { class: "muted" }, "No other registered image is similar."));
    } catch (err) {
      similar.append(showError(err));
    }
  }
  announce(`Token ${short(p.token_id)}, ${p.status}`);
}

function route() {
  const hash = location.hash || "#/";
  const m = hash.match(/^#\/product\/([^?]+)/);
  const page = m ? product(decodeURIComponent(m[1])) : gallery();
  page.finally(() => { document.title = m ? `Token ${short(m[1])} · AIGC marketplace` : "Gallery · AIGC marketplace"; });
}

window.addEventListener("hashchange", route);
route();

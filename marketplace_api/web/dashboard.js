// The ESP dashboard (#/esp/<address>): its tasks, revenue, refunds, fraud and challenges, and its
// reputation over time as a plain SVG chart, all from GET /v1/esps/{address}/dashboard. The
// reputation is the ranking's own number from the signed-in viewer's point of view (anonymous
// otherwise), replayed by the API over the chain's feedback records.
import { authHeaders, session } from "./wallet.js";

const SVG = "http://www.w3.org/2000/svg";
const W = 640;
const H = 220;
const PAD = { left: 40, right: 12, top: 12, bottom: 28 };

/** Wei (a decimal string) as ETH with up to 6 decimals, without floating-point surprises. */
export function eth(wei) {
  const v = BigInt(wei);
  const whole = v / 10n ** 18n;
  const frac = (v % 10n ** 18n).toString().padStart(18, "0").slice(0, 6).replace(/0+$/, "");
  return `${whole}${frac ? "." + frac : ""} ETH`;
}

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

/** The reputation line: one point per feedback record (green positive, red negative). */
export function reputationChart(points) {
  const n = points.length;
  const x = (i) => PAD.left + (n <= 1 ? (W - PAD.left - PAD.right) / 2 : (i * (W - PAD.left - PAD.right)) / (n - 1));
  const y = (r) => PAD.top + (1 - r) * (H - PAD.top - PAD.bottom);
  const first = points[0];
  const last = points[n - 1];
  const summary = `Reputation after each of ${n} feedback records, from ${first.reputation.toFixed(3)} (block ${first.block}) to ${last.reputation.toFixed(3)} (block ${last.block}).`;
  const chart = svg("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart", role: "img", "aria-labelledby": "rep-title rep-desc" },
    svg("title", { id: "rep-title" }, "Reputation over time"),
    svg("desc", { id: "rep-desc" }, summary));
  for (const r of [0, 0.5, 1]) {
    chart.append(svg("line", { x1: PAD.left, x2: W - PAD.right, y1: y(r), y2: y(r), class: "grid" }),
      svg("text", { x: PAD.left - 6, y: y(r) + 4, "text-anchor": "end", class: "axis" }, r.toFixed(1)));
  }
  chart.append(svg("text", { x: PAD.left, y: H - 8, class: "axis" }, `block ${first.block}`),
    svg("text", { x: W - PAD.right, y: H - 8, "text-anchor": "end", class: "axis" }, `block ${last.block}`));
  chart.append(svg("polyline", { class: "line", fill: "none", points: points.map((p, i) => `${x(i)},${y(p.reputation)}`).join(" ") }));
  points.forEach((p, i) => chart.append(svg("circle", { cx: x(i), cy: y(p.reputation), r: 4, class: p.positive ? "pos" : "neg" },
    svg("title", {}, `block ${p.block}: ${p.reputation.toFixed(3)} after ${p.positive ? "a positive" : "a negative"} record`))));
  return chart;
}

/** Renders the dashboard of `address` into `root`; `ui` carries app.js's helpers and api(). */
export async function espDashboard(root, ui, address) {
  const { el, short } = ui;
  root.replaceChildren(el("h1", {}, `ESP ${short(address)}`));
  let d;
  try {
    d = await ui.api(`/v1/esps/${encodeURIComponent(address)}/dashboard`, { headers: session().address ? authHeaders() : {} });
  } catch (err) {
    root.append(ui.showError(err), el("p", {}, el("a", { href: "#/esps" }, "All ESPs")));
    return;
  }
  const total = Object.values(d.tasks).reduce((a, b) => a + b, 0);
  const stat = (label, value, key) => el("div", { class: "stat", "data-stat": key }, el("div", { class: "value" }, value), el("div", { class: "muted" }, label));
  root.append(
    el("p", {}, el("code", {}, d.address), ` · ${d.endpoint} · `, d.active ? "active" : el("strong", {}, "inactive"),
      ` · price ${eth(d.price)} · stake ${eth(d.stake)}`),
    el("div", { class: "stats" },
      stat("tasks", total, "tasks"),
      stat("revenue (fees claimed)", eth(d.revenue), "revenue"),
      stat(`refunds (${eth(d.refunded_value)})`, d.refunded, "refunded"),
      stat("fraud proven", d.fraud_proven, "fraud"),
      stat("images attested", d.products, "products"),
      stat("revoked as copies", d.revoked, "revoked"),
      stat("challenges lost (on chain)", d.challenges_lost, "challenges_lost")),
    el("h2", {}, "Reputation over time"),
    el("p", { class: "muted" }, d.viewer === "anonymous"
      ? "As a newcomer sees it (sign in to see it from your own record)."
      : "As you see it: your own record with this ESP and what others recommend."));
  if (d.reputation.length) {
    root.append(el("div", { class: "chart-box" }, reputationChart(d.reputation)),
      el("p", {}, `Now: ${d.reputation_now.toFixed(3)}.`));
  } else {
    root.append(el("p", { class: "muted" }, `No feedback recorded yet: reputation ${d.reputation_now.toFixed(3)} (uncertain).`));
  }
  const rows = (items, cols) => el("tbody", {}, items.map((it) => el("tr", {}, cols.map((c) => el("td", {}, c(it))))));
  const table = (caption, heads, body) => el("div", { class: "scroll" }, el("table", { class: "ranking" },
    el("caption", { class: "visually-hidden" }, caption),
    el("thead", {}, el("tr", {}, heads.map((h) => el("th", { scope: "col" }, h)))), body));
  root.append(el("h2", {}, "Tasks by status"));
  root.append(total ? table("Tasks by status", ["Status", "Tasks"], rows(Object.entries(d.tasks), [([s]) => s.replace("_", " "), ([, n]) => n]))
    : el("p", { class: "muted" }, "No task yet."));
  root.append(el("h2", {}, "Challenges against its images"));
  root.append(d.challenges.length
    ? table("Challenges", ["Image", "Challenged as a copy of", "Block", "Verdict"], rows(d.challenges, [
      (c) => el("a", { href: `#/product/${c.token_id}` }, short(c.token_id)),
      (c) => el("a", { href: `#/product/${c.original}` }, short(c.original)),
      (c) => c.block,
      (c) => c.verdict || "pending"]))
    : el("p", { class: "muted" }, "No challenge against its images."));
  root.append(el("h2", {}, "Recent tasks"));
  root.append(d.recent_tasks.length
    ? table("Recent tasks", ["Task", "Status", "Price", "Block"], rows(d.recent_tasks, [
      (t) => el("code", { title: t.id }, short(t.id)), (t) => t.status.replace("_", " "),
      (t) => (t.price === null ? "—" : eth(t.price)), (t) => t.created_block]))
    : el("p", { class: "muted" }, "No task yet."));
  root.append(el("p", {}, el("a", { href: `#/?esp=${d.address}` }, "Its images in the gallery"), " · ", el("a", { href: "#/esps" }, "All ESPs")));
  ui.announce(`ESP ${short(address)}: ${total} tasks`);
}

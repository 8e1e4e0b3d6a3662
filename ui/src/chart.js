// The vault's net delta over time as an inline SVG: the dust tolerance shaded (nothing to hedge
// inside), the hard band dashed (outside it past the grace, anyone may hedge), each rebalance a vertical
// step from its delta before to its delta after, and the current delta as the last point.
// Only what the chain records is drawn; between two rebalances the line is straight.

const W = 560;
const H = 180;
const PAD = { left: 52, right: 12, top: 12, bottom: 24 };
const NS = "http://www.w3.org/2000/svg";

function el(name, attrs, text) {
  const node = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

/**
 * points: [{ time, pre, post }] (WETH, numbers), now: { time, delta } or null, dust and hardBand in WETH.
 * Returns an <svg> element.
 */
export function deltaChart(points, now, dust, hardBand) {
  const svg = el("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", class: "chart", "aria-label": "net delta over time" });
  svg.append(el("title", {}, "Net delta of the vault over time (WETH), with the dust tolerance and the hard band"));
  const path = [];
  for (const p of points) path.push([p.time, p.pre], [p.time, p.post]);
  if (now && now.delta !== null) path.push([now.time, now.delta]);
  if (!path.length) return svg;

  const times = path.map((p) => p[0]);
  let t0 = Math.min(...times);
  let t1 = Math.max(...times);
  if (t1 - t0 < 60) { t0 -= 30; t1 += 30; }
  const span = Math.max(dust * 1.5, ...path.map((p) => Math.abs(p[1]))) * 1.1 || 1;
  const x = (t) => PAD.left + (t - t0) / (t1 - t0) * (W - PAD.left - PAD.right);
  const y = (d) => PAD.top + (span - d) / (2 * span) * (H - PAD.top - PAD.bottom);

  svg.append(el("rect", { x: PAD.left, y: y(dust), width: W - PAD.left - PAD.right, height: y(-dust) - y(dust), class: "dust" }));
  for (const level of [hardBand, -hardBand]) {
    if (Math.abs(level) < span) {
      svg.append(el("line", { x1: PAD.left, x2: W - PAD.right, y1: y(level), y2: y(level), class: "hard-band" }));
    }
  }
  svg.append(el("line", { x1: PAD.left, x2: W - PAD.right, y1: y(0), y2: y(0), class: "axis" }));
  const d = path.map(([t, v], i) => `${i ? "L" : "M"}${x(t).toFixed(1)},${y(v).toFixed(1)}`).join(" ");
  svg.append(el("path", { d, class: "delta-line" }));
  for (const p of points) svg.append(el("circle", { cx: x(p.time), cy: y(p.post), r: 3, class: "rebalance-dot" }));
  if (now && now.delta !== null) svg.append(el("circle", { cx: x(now.time), cy: y(now.delta), r: 4, class: "now-dot" }));

  const label = (v) => `${v > 0 ? "+" : ""}${v.toFixed(2)}`;
  const ticks = [span, -span, 0];
  if (y(-dust) - y(dust) > 28) ticks.push(dust, -dust); // the dust's own labels only where they fit
  for (const level of [hardBand, -hardBand]) if (Math.abs(level) < span * 0.9) ticks.push(level);
  for (const v of ticks) {
    svg.append(el("text", { x: PAD.left - 6, y: y(v) + 4, class: "tick", "text-anchor": "end" }, label(v)));
  }
  // UTC clock time; with the date when the chart spans more than a day.
  const iso = (t) => new Date(t * 1000).toISOString();
  const clock = t1 - t0 > 20 * 3600 ? (t) => `${iso(t).slice(5, 10)} ${iso(t).slice(11, 16)}` : (t) => iso(t).slice(11, 16);
  svg.append(el("text", { x: PAD.left, y: H - 6, class: "tick" }, clock(t0)));
  svg.append(el("text", { x: W - PAD.right, y: H - 6, class: "tick", "text-anchor": "end" }, clock(t1)));
  return svg;
}

// SPDX-License-Identifier: Apache-2.0
// The dashboard's own small chart module: horizontal bars, a heatmap and a proportion bar,
// drawn as SVG built through the DOM (no library, no inline style: CSP). Every mark has a
// <title>, every chart a caption and a data table a keyboard or screen-reader user can open.

import { h, s, num } from "./dom.js";

const ROW = 22;

// rows: [{label, value, cls?}]; opts: {title, unit}
export function bars(rows, opts) {
  const max = Math.max(1, ...rows.map((r) => r.value));
  const labelW = 150;
  const W = 560;
  const plotW = W - labelW - 60;
  const H = rows.length * ROW + 4;
  const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart bars", role: "img", "aria-label": opts.title, preserveAspectRatio: "xMinYMin meet" });
  rows.forEach((r, i) => {
    const y = i * ROW + 2;
    const w = Math.max(1, Math.round((r.value / max) * plotW));
    svg.append(
      s("text", { x: labelW - 8, y: y + 15, class: "lbl", "text-anchor": "end", text: r.label }),
      s("rect", { x: labelW, y: y + 3, width: w, height: ROW - 7, rx: 2, class: `bar ${r.cls || ""}`, "data-label": r.label, "data-value": r.value },
        s("title", { text: `${r.label}: ${num(r.value)}${opts.unit ? " " + opts.unit : ""}` })),
      s("text", { x: labelW + w + 6, y: y + 15, class: "val", text: num(r.value) }),
    );
  });
  return figure(opts.title, svg, ["", "count"], rows.map((r) => [r.label, num(r.value)]));
}

// grid: rows of {label, cells: [numbers]}, columns: labels
export function heatmap(grid, columns, opts) {
  const max = Math.max(1, ...grid.flatMap((r) => r.cells));
  const cw = 22;
  const ch = 22;
  const left = 40;
  const top = 18;
  const W = left + columns.length * cw + 4;
  const H = top + grid.length * ch + 4;
  const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart heat", role: "img", "aria-label": opts.title, preserveAspectRatio: "xMinYMin meet" });
  columns.forEach((c, j) => {
    if (j % 3 === 0) svg.append(s("text", { x: left + j * cw + cw / 2, y: 12, class: "axis", "text-anchor": "middle", text: c }));
  });
  grid.forEach((r, i) => {
    svg.append(s("text", { x: left - 6, y: top + i * ch + 15, class: "axis", "text-anchor": "end", text: r.label }));
    r.cells.forEach((v, j) => {
      // One hue; the level in five steps, and the number itself on any non-zero cell.
      const level = v === 0 ? 0 : Math.min(5, 1 + Math.floor((v / max) * 4.999));
      const x = left + j * cw;
      const y = top + i * ch;
      svg.append(s("rect", { x: x + 1, y: y + 1, width: cw - 2, height: ch - 2, rx: 3, class: `cell l${level}`, "data-day": r.label, "data-hour": columns[j], "data-value": v },
        s("title", { text: `${r.label} ${columns[j]}:00 UTC: ${v}` })));
      if (v > 0) svg.append(s("text", { x: x + cw / 2, y: y + 15, class: `cnum l${level}`, "text-anchor": "middle", text: String(v) }));
    });
  });
  return figure(opts.title, svg, ["", ...columns], grid.map((r) => [r.label, ...r.cells.map(String)]));
}

// parts: [{label, value, cls}] as one 100 % bar with a legend
export function proportion(parts, opts) {
  const total = parts.reduce((a, p) => a + p.value, 0) || 1;
  const W = 560;
  const svg = s("svg", { viewBox: `0 0 ${W} 44`, class: "chart prop", role: "img", "aria-label": opts.title, preserveAspectRatio: "xMinYMin meet" });
  let x = 0;
  for (const p of parts) {
    const w = (p.value / total) * W;
    svg.append(s("rect", { x, y: 0, width: Math.max(0, w), height: 24, class: `seg ${p.cls}`, "data-label": p.label, "data-value": p.value },
      s("title", { text: `${p.label}: ${num(p.value)} (${Math.round((p.value / total) * 100)} %)` })));
    if (w > 80) svg.append(s("text", { x: x + 8, y: 17, class: "seglbl", text: `${p.label} ${Math.round((p.value / total) * 100)} %` }));
    x += w;
  }
  return figure(opts.title, svg, ["", "events", "share"], parts.map((p) => [p.label, num(p.value), `${Math.round((p.value / total) * 100)} %`]));
}

function figure(title, svg, head, rows) {
  const table = h("table", { class: "data" },
    h("thead", {}, h("tr", {}, head.map((c) => h("th", { scope: "col", text: c })))),
    h("tbody", {}, rows.map((r) => h("tr", {}, r.map((c, i) => (i === 0 ? h("th", { scope: "row", text: c }) : h("td", { text: c })))))));
  return h("figure", { class: "chart-fig" },
    h("figcaption", { text: title }),
    h("div", { class: "svgwrap" }, svg),
    h("details", { class: "as-table" }, h("summary", { text: "Show as a table" }), table));
}

/* Tiny SVG charts (no library, no network): bars and lines drawn into a viewBox of 300 x H.
   barChart(svg, items, opts): items [{value, value2?, title, selected?}] — value up (import), value2 down
   (export); a dashed reference line at opts.ref. lineChart(svg, series): series [{values, cls}] on a shared
   scale. Each bar carries a <title> (tooltip and screen-reader text). */
"use strict";

const SVG_NS = "http://www.w3.org/2000/svg";

function svgEl(name, attrs, text) {
  const el = document.createElementNS(SVG_NS, name);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

function clearSvg(svg) {
  while (svg.firstChild) svg.removeChild(svg.firstChild);
  const [, , w, h] = svg.getAttribute("viewBox").split(/\s+/).map(Number);
  return { w, h };
}

function barChart(svg, items, opts) {
  opts = opts || {};
  const { w, h } = clearSvg(svg);
  const slots = Math.max(opts.slots || items.length, 1);
  const up = Math.max(opts.minMax || 0, opts.ref || 0, ...items.map((d) => d.value || 0));
  const down = Math.max(0, ...items.map((d) => d.value2 || 0));
  const total = up + down || 1;
  const zero = h * (up / total);
  const step = w / slots;
  const gap = step > 4 ? step * 0.15 : 0;
  items.forEach((d, i) => {
    const x = (opts.offset ? opts.offset(d, i) : i) * step + gap / 2;
    if (d.value > 0) {
      const hh = (d.value / total) * h;
      const rect = svgEl("rect", { x, y: zero - hh, width: step - gap, height: hh,
        class: d.selected ? "bar-selected" : "bar-import" });
      rect.appendChild(svgEl("title", {}, d.title || String(d.value)));
      svg.appendChild(rect);
    }
    if (d.value2 > 0) {
      const hh = (d.value2 / total) * h;
      const rect = svgEl("rect", { x, y: zero, width: step - gap, height: hh, class: "bar-export" });
      rect.appendChild(svgEl("title", {}, d.title || String(d.value2)));
      svg.appendChild(rect);
    }
  });
  svg.appendChild(svgEl("line", { x1: 0, x2: w, y1: zero, y2: zero, class: "axis" }));
  if (opts.ref) {
    const y = zero - (opts.ref / total) * h;
    svg.appendChild(svgEl("line", { x1: 0, x2: w, y1: y, y2: y, class: "ref" }));
  }
  svg.dataset.bars = String(svg.querySelectorAll("rect").length);
  svg.dataset.max = String(up);
  svg.dataset.slots = String(slots);
}

function lineChart(svg, series, capacity) {
  const { w, h } = clearSvg(svg);
  const max = Math.max(0.1, ...series.flatMap((s) => s.values));
  const n = Math.max(capacity || 0, ...series.map((s) => s.values.length), 2);
  for (const s of series) {
    if (!s.values.length) continue;
    const offset = n - s.values.length;
    const points = s.values.map((v, i) => `${((offset + i) / (n - 1)) * w},${h - (v / max) * (h - 2) - 1}`);
    svg.appendChild(svgEl("polyline", { points: points.join(" "), class: s.cls }));
  }
  svg.appendChild(svgEl("line", { x1: 0, x2: w, y1: h - 0.5, y2: h - 0.5, class: "axis" }));
  svg.dataset.max = String(max);
}

window.P1Chart = { barChart, lineChart };

/* Charts on uPlot (static/vendor, served by the gateway: no CDN). Every chart has axes with units, a
   legend under it that shows the values under the cursor (tap on a phone, hover with a mouse), reference
   lines (month peak, floor, 12-month mean) as labelled series, and "no data yet" when there is nothing.
   P1Charts.series(el, {x, labels?, series, yLabel, y2Label?, empty}) draws bars/lines on a category or time
   axis; it replaces what el held and redraws on resize. */
"use strict";

const P1Charts = (function () {
  const css = (name) => getComputedStyle(document.documentElement).getPropertyValue(name).trim() || "#888";

  function sizeOf(el) {
    const w = Math.max(200, Math.floor(el.clientWidth || 300));
    return { width: w, height: el.classList.contains("tall") ? Math.max(180, Math.min(300, w * 0.4)) : 140 };
  }

  const barsPath = () => uPlot.paths.bars({ size: [0.7, 40], gap: 1 });

  const signature = (spec) => JSON.stringify([!spec.labels, spec.labels || null, spec.yLabel, spec.y2Label || null,
    spec.series.map((s) => [s.label, s.kind, s.scale, s.color, !!s.ref])]);

  // Redraw: new data into the same chart when only the data changed (cheap: live updates), else rebuild.
  function series(el, spec) {
    const sig = signature(spec);
    if (el._plot && el._sig === sig) {
      el._spec = spec;
      el._plot.setData([spec.labels ? spec.labels.map((_, i) => i) : spec.x, ...spec.series.map((s) => s.values)]);
      return el._plot;
    }
    el._sig = sig;
    el._spec = spec;
    if (el._plot) { el._plot.destroy(); el._plot = null; }
    if (el._ro) { el._ro.disconnect(); el._ro = null; }
    el.replaceChildren();
    const hasData = spec.series.some((s) => !s.ref && s.values.some((v) => v !== null && v !== 0));
    el.classList.toggle("empty", !hasData);
    if (!hasData) {
      const p = document.createElement("p");
      p.className = "no-data";
      p.textContent = spec.empty;
      el.appendChild(p);
      return null;
    }
    const time = !spec.labels;
    const xs = time ? spec.x : spec.labels.map((_, i) => i);
    const fmtX = time
      ? (v) => I18n.hm(v * 1000)
      : (v) => (el._spec.labels[Math.round(v)] !== undefined ? el._spec.labels[Math.round(v)] : "");
    const opts = Object.assign(sizeOf(el), {
      legend: { live: true },
      cursor: { drag: { x: false, y: false }, points: { size: 6 } },
      scales: { x: { time: false, range: time ? undefined : [-0.5, xs.length - 0.5] }, y: { auto: true } },
      axes: [
        { values: (u, splits) => splits.map(fmtX), stroke: css("--muted"), grid: { stroke: css("--line"), width: 1 },
          space: time ? 70 : 40, ticks: { show: true, stroke: css("--line") }, incrs: time ? undefined : [1, 2, 3, 4, 6, 8, 12, 24] },
        { label: spec.yLabel, stroke: css("--muted"), grid: { stroke: css("--line"), width: 1 },
          values: (u, splits) => splits.map((v) => I18n.num(v, spec.yDigits ?? 1)), size: 56 },
      ],
      series: [{ label: spec.xLabel || "", value: (u, v) => (v === null ? "—" : fmtX(v)) }],
    });
    if (spec.y2Label) {
      opts.scales.kw = { auto: true, range: (u, lo, hi) => [0, Math.max(hi * 1.1, 0.5)] };
      opts.axes.push({ scale: "kw", side: 1, label: spec.y2Label, stroke: css("--muted"), grid: { show: false },
        values: (u, splits) => splits.map((v) => I18n.num(v, 1)), size: 50 });
    }
    for (const s of spec.series) {
      const color = css(s.color);
      opts.series.push({
        label: s.label,
        scale: s.scale || "y",
        stroke: color,
        fill: s.kind === "bar" ? color : undefined,
        width: s.ref ? 1.5 : (s.kind === "bar" ? 0 : 2),
        dash: s.ref ? [6, 4] : undefined,
        paths: s.kind === "bar" ? barsPath() : undefined,
        points: { show: s.kind === "point" },
        value: (u, v, si, idx) => {
          const cur = el._spec.series[si - 1] || s;
          const raw = cur.shown ? cur.shown[idx] : v;
          return raw === null || raw === undefined ? "—" : s.format(raw);
        },
      });
    }
    const data = [xs, ...spec.series.map((s) => s.values)];
    const plot = new uPlot(opts, data, el);
    el._plot = plot;
    // a tap on a phone puts the cursor there (uPlot follows the mouse), so the legend reads that bar
    plot.over.addEventListener("click", (e) => {
      const r = plot.over.getBoundingClientRect();
      const at = { left: e.clientX - r.left, top: e.clientY - r.top };
      requestAnimationFrame(() => plot.setCursor(at));
    });
    el._ro = new ResizeObserver(() => { const size = sizeOf(el); if (size.width !== plot.width) plot.setSize(size); });
    el._ro.observe(el);
    return plot;
  }

  return { series };
})();
window.P1Charts = P1Charts;

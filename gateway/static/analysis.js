// The "Voltage & appliances" card: this week's EN 50160 status per phase and the top appliances,
// read from /api/v1/voltage and /api/v1/appliances (docs/analysis.md). Refreshed every 10 minutes.
(function () {
  "use strict";
  const VERDICT = { pass: "compliant", fail: "not compliant", undetermined: "week not complete" };

  function text(id, value) {
    const el = document.getElementById(id);
    if (el) el.textContent = value;
  }

  async function getJson(path) {
    const r = await fetch(path, { headers: { Accept: "application/json" } });
    if (!r.ok) throw new Error(path + ": " + r.status);
    return r.json();
  }

  function renderVoltage(report) {
    const week = report.weeks[report.weeks.length - 1];
    const list = document.getElementById("voltage-phases");
    list.replaceChildren();
    if (!week) return;
    const card = document.getElementById("voltage-card");
    card.dataset.verdict = week.verdict;
    text("voltage-verdict", VERDICT[week.verdict] || week.verdict);
    for (const p of week.phases) {
      const li = document.createElement("li");
      li.dataset.phase = String(p.phase);
      const share = p.share_inside_percent === null ? "—" : p.share_inside_percent.toFixed(1) + " %";
      const range = p.min_mean_v === null ? "" : ` · ${p.min_mean_v.toFixed(1)}–${p.max_mean_v.toFixed(1)} V`;
      li.textContent = `L${p.phase}: ${share} in 230 V ±10 %${range} · ${p.over_voltages} over-voltage(s), ${p.dips} dip(s)`;
      list.appendChild(li);
    }
  }

  function renderAppliances(report) {
    const body = document.getElementById("appliance-rows");
    body.replaceChildren();
    for (const c of report.clusters.slice(0, 5)) {
      const tr = document.createElement("tr");
      const cost = c.eur === null ? "" : ` · ${c.eur.toFixed(2)} €`;
      for (const cell of [c.label.replace("_", " "), String(c.runs), `${c.kwh.toFixed(1)} kWh${cost}`]) {
        const td = document.createElement("td");
        td.textContent = cell;
        tr.appendChild(td);
      }
      body.appendChild(tr);
    }
    const s = report.standby;
    text("standby", s.median_w === null ? "—" : `${s.median_w} W (${Math.round(s.kwh_per_year)} kWh/year)`);
  }

  async function refresh() {
    try {
      renderVoltage(await getJson("api/v1/voltage"));
      renderAppliances(await getJson("api/v1/appliances"));
    } catch (err) {
      text("voltage-verdict", "no analysis (" + err.message + ")");
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    refresh();
    setInterval(refresh, 600000);
  });
})();

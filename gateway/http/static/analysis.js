// The "Voltage & appliances" card: this week's EN 50160 status per phase and the top appliances,
// read from /api/v1/voltage and /api/v1/appliances (docs/analysis.md). Refreshed every 10 minutes.
(function () {
  "use strict";
  const { t, tn } = I18n;
  // translated when shown, not at load: the catalog arrives after this script runs
  const LABELS = () => ({
    heat_pump: t("heat pump"), ev_charger: t("EV charger"), kettle: t("kettle"),
    washing_heating: t("washing machine heating"), oven: t("oven"), other: t("other"),
  });
  const VERDICT = () => ({ pass: t("compliant"), fail: t("not compliant"), undetermined: t("week not complete") });

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
    text("voltage-verdict", VERDICT()[week.verdict] || week.verdict);
    for (const p of week.phases) {
      const li = document.createElement("li");
      li.dataset.phase = String(p.phase);
      const share = p.share_inside_percent === null ? "—" : I18n.num(p.share_inside_percent, 1) + " %";
      const range = p.min_mean_v === null ? ""
        : ` · ${I18n.num(p.min_mean_v, 1)}–${I18n.num(p.max_mean_v, 1)} V`;
      const over = tn("{n} over-voltage", "{n} over-voltages", p.over_voltages);
      const dips = tn("{n} dip", "{n} dips", p.dips);
      li.textContent = `L${p.phase}: ${share} ${t("within 230 V ±10 %")}${range} · ${over}, ${dips}`;
      list.appendChild(li);
    }
  }

  function renderAppliances(report) {
    const body = document.getElementById("appliance-rows");
    body.replaceChildren();
    for (const c of report.clusters.slice(0, 5)) {
      const tr = document.createElement("tr");
      const cost = c.eur === null ? "" : ` · ${I18n.money(c.eur)}`;
      for (const cell of [LABELS()[c.label] || c.label, String(c.runs), `${I18n.num(c.kwh, 1)} kWh${cost}`]) {
        const td = document.createElement("td");
        td.textContent = cell;
        tr.appendChild(td);
      }
      body.appendChild(tr);
    }
    const s = report.standby;
    text("standby", s.median_w === null ? "—"
      : `${s.median_w} W (${I18n.num(Math.round(s.kwh_per_year), 0)} ${t("kWh a year")})`);
  }

  async function refresh() {
    try {
      renderVoltage(await getJson("api/v1/voltage"));
      renderAppliances(await getJson("api/v1/appliances"));
    } catch (err) {
      text("voltage-verdict", t("no analysis yet"));
    }
  }

  // first drawn once the catalog is in (and again whenever the language changes)
  document.addEventListener("i18n-loaded", refresh);
  document.addEventListener("DOMContentLoaded", () => setInterval(refresh, 600000));
})();

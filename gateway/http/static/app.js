/* Dashboard logic: load the state from the JSON API, then follow the SSE stream. Every text goes through
   I18n.t/tn (static/i18n.js); numbers, money and times through I18n's formatters (the meter's zone).
   Relative URLs (works behind a reverse proxy sub-path), same origin only (no CDN). Raw numbers are kept in
   data-value attributes (tests compare them with the API). */
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  const { t, tn } = I18n;
  const REG = { "1-0:1.8.1": "reg-1-8-1", "1-0:1.8.2": "reg-1-8-2", "1-0:2.8.1": "reg-2-8-1", "1-0:2.8.2": "reg-2-8-2" };
  const SERIES_LEN = 120;
  const state = {
    labels: { "1-0:1.8.1": null, "1-0:1.8.2": null, "1-0:2.8.1": null, "1-0:2.8.2": null },
    power: [[], [], []], prepay: null, outlook: null, unit: "eur", days: [], telegram: null, lastDetail: 0,
    view: "day", date: null, histUnit: "kwh", history: null, events: [],
  };
  const num = (v) => (v && typeof v.value === "number") ? v.value : null;
  // at most one run per `ms` (the last call wins): a fast meter or a demo at 60x sends many telegrams a second
  function throttled(fn, ms) {
    let timer = null, last = 0;
    return function () {
      const wait = last + ms - Date.now();
      if (wait <= 0) { last = Date.now(); fn(); return; }
      if (!timer) timer = setTimeout(() => { timer = null; last = Date.now(); fn(); }, wait);
    };
  }
  const isoDate = (d) => d.toLocaleDateString("sv-SE", { timeZone: I18n.timezone });  // YYYY-MM-DD, meter's day

  function pick(obj, paths) {
    for (const p of paths) {
      let cur = obj;
      for (const k of p.split(".")) cur = (cur === null || cur === undefined) ? undefined : cur[k];
      if (cur !== undefined && cur !== null) return cur;
    }
    return null;
  }
  async function getJson(path) {
    const r = await fetch(path, { headers: { Accept: "application/json" } });
    if (!r.ok) { const e = new Error(`${path}: ${r.status}`); e.status = r.status; throw e; }
    return r.json();
  }
  function setValue(id, value, digits, text) {
    const el = $(id);
    el.textContent = text !== undefined ? text : I18n.num(value, digits);
    el.dataset.value = value === null || value === undefined ? "" : String(value);
  }

  // ---------------------------------------------------------------------------------- tariff names
  function tariffName(label) {
    return label === "day" ? t("day") : label === "night" ? t("night") : null;
  }
  function applyLabels(states) {
    for (const [name, s] of Object.entries(states || {})) {
      const m = /^energy_(import|export)_(day|night)$/.exec(name);
      if (m && REG[s.code] !== undefined) state.labels[s.code] = m[2];
    }
    renderLabels();
  }
  function renderLabels() {
    for (const [code, id] of Object.entries(REG)) {
      const n = code.endsWith(".1") ? 1 : 2;
      const name = tariffName(state.labels[code]) || t("tariff {n}", { n });
      const text = code.startsWith("1-0:1.") ? t("Import {tariff}", { tariff: name }) : t("Export {tariff}", { tariff: name });
      $(id).closest("tr").querySelector(".reg-label").textContent = text;
    }
  }

  // -------------------------------------------------------------------------------------- telegrams
  function onTelegram(tg) {
    state.telegram = tg;
    const v = tg.values || {};
    $("meter-id").textContent = tg.meter_id || "";
    $("last-telegram").textContent = I18n.time(tg.timestamp);
    $("last-telegram").setAttribute("datetime", tg.timestamp || "");
    const imp = num(v["1-0:1.7.0"]), exp = num(v["1-0:2.7.0"]);
    setValue("power-import", imp, 3);
    setValue("power-export", exp, 3);
    const at = tg.timestamp ? Date.parse(tg.timestamp) / 1000 : Date.now() / 1000;
    const [xs, is, es] = state.power;
    if (!xs.length || at > xs[xs.length - 1]) { xs.push(at); is.push(imp || 0); es.push(exp || 0); }
    while (xs.length > SERIES_LEN) { xs.shift(); is.shift(); es.shift(); }
    drawPowerSoon();
    for (const [code, id] of Object.entries(REG)) setValue(id, num(v[code]), 3);
    const tariff = num(v["0-0:96.14.0"]);
    const label = tariff ? tariffName(state.labels[`1-0:1.8.${tariff}`]) : null;
    $("tariff").textContent = tariff ? (label ? `${label} (${t("tariff {n}", { n: tariff })})` : t("tariff {n}", { n: tariff })) : "—";
    document.querySelectorAll(".registers tr[data-code]").forEach((tr) => {
      tr.classList.toggle("active", tariff !== null && tr.dataset.code.endsWith("." + tariff));
    });
    renderGas(v);
    const now = Date.now();
    if (now - state.lastDetail > 3000) { state.lastDetail = now; refreshCapacity(); }
  }
  function drawPower() {
    const [xs, is, es] = state.power;
    const el = $("power-chart");
    el.dataset.points = String(xs.length);
    P1Charts.series(el, {
      x: xs, yLabel: "kW", yDigits: 1, empty: t("No data yet"), xLabel: t("Time"),
      series: [
        { label: t("Import"), values: is, color: "--import", format: (x) => I18n.num(x, 3) + " kW" },
        { label: t("Export"), values: es, color: "--export", format: (x) => I18n.num(x, 3) + " kW" },
      ],
    });
  }
  const drawPowerSoon = throttled(drawPower, 1000);
  function renderGas(v) {
    let code = null;
    for (const ch of "1234") {
      const type = num(v[`0-${ch}:24.1.0`]);
      const reading = v[`0-${ch}:24.2.3`] || v[`0-${ch}:24.2.1`] || v[`0-${ch}:24.3.0`];
      if (reading && (type === 3 || type === null)) { code = ch; break; }
    }
    $("gas-card").hidden = code === null;
    if (code === null) return;
    const reading = v[`0-${code}:24.2.3`] || v[`0-${code}:24.2.1`] || v[`0-${code}:24.3.0`];
    setValue("gas-volume", reading.value, 3);
    $("gas-time").textContent = I18n.time(reading.timestamp);
    const valve = num(v[`0-${code}:24.4.0`]);
    $("gas-valve").textContent = valve === null ? "—" : ({ 0: t("closed"), 1: t("open"), 2: t("ready to open") })[valve] || String(valve);
  }

  // ------------------------------------------------------------------------------- capacity tariff
  async function refreshCapacity() {
    let c;
    try { c = await getJson("api/v1/dashboard/capacity"); } catch (e) { return; }
    state.capacity = c;
    setValue("qh-average", c.average_kw, 3);
    setValue("qh-projection", c.projected_kw, 3);
    setValue("month-peak", c.month_peak_kw, 3);
    setValue("floor", c.floor_kw, 1);
    setValue("capacity-average", c.mean_12_kw, 3);
    const cost = $("new-peak-cost");
    cost.dataset.value = c.new_peak_cost_eur === null ? "" : String(c.new_peak_cost_eur);
    cost.textContent = c.new_peak_cost_eur !== null ? I18n.money(c.new_peak_cost_eur)
      : c.capacity_eur_per_kw_year ? t("nothing: below what is billed") : t("set the prices in the config");
    if (c.quarter_start) $("qh-window").textContent = `${I18n.hm(c.quarter_start)}–${I18n.hm(c.quarter_end)}`;
    const scale = Math.max(c.applies_kw || 0, c.projected_kw || 0, c.average_kw || 0) * 1.15 || 1;
    const pct = (x) => `${Math.min(100, Math.max(0, ((x || 0) / scale) * 100))}%`;
    $("cap-fill").style.width = pct(c.demand_kw ?? c.average_kw);
    $("cap-projection").style.left = pct(c.projected_kw);
    $("cap-applies").style.left = pct(c.applies_kw);
    $("cap-fill").classList.toggle("over", c.over);
    const which = c.applies === "peak"
      ? t("this month's peak ({kw} kW)", { kw: I18n.num(c.month_peak_kw, 3) })
      : t("the 2.5 kW floor (this month's peak is {kw} kW)", { kw: I18n.num(c.month_peak_kw ?? 0, 3) });
    const note = $("capacity-note");
    note.className = c.over ? "note warn" : "note";
    note.textContent = c.projected_kw === null ? t("No data yet")
      : c.over
        ? t("At this pace the quarter-hour ends at {kw} kW, above {which}: a new peak. Switch a load off to stay below {limit} kW.",
          { kw: I18n.num(c.projected_kw, 3), which, limit: I18n.num(c.applies_kw, 3) })
        : t("Projected {kw} kW: {margin} kW below {which}.",
          { kw: I18n.num(c.projected_kw, 3), margin: I18n.num(c.margin_kw, 3), which });
    $("capacity-bar").setAttribute("aria-label", note.textContent);
  }

  // ------------------------------------------------------------------------------------- history
  function bucketLabel(view, key) {
    if (view === "day") return key;
    if (view === "week") return I18n.day(key, { weekday: "short", day: "numeric" });
    if (view === "month") return I18n.day(key, { day: "numeric" });
    return I18n.day(key, { month: "short" });
  }
  function periodTitle(h) {
    if (h.view === "day") return I18n.day(h.from, { weekday: "long", day: "numeric", month: "long", year: "numeric" });
    if (h.view === "week") {
      const last = h.buckets[h.buckets.length - 1].key;
      return `${I18n.day(h.from, { day: "numeric", month: "short" })} – ${I18n.day(last, { day: "numeric", month: "short", year: "numeric" })}`;
    }
    if (h.view === "month") return I18n.day(h.from, { month: "long", year: "numeric" });
    return h.from.slice(0, 4);
  }
  async function loadHistory() {
    try {
      state.history = await getJson(`api/v1/dashboard/history?view=${state.view}&date=${state.date}`);
    } catch (e) { state.history = null; }
    renderHistory();
  }
  function renderHistory() {
    const h = state.history;
    document.querySelectorAll("#history-card [data-view]").forEach((b) => b.setAttribute("aria-selected", String(b.dataset.view === state.view)));
    if (!h) return;
    $("hist-title").textContent = periodTitle(h);
    $("hist-eur").disabled = !h.prices_known;
    const eur = state.histUnit === "eur" && h.prices_known;
    const kwh = (x) => I18n.num(x, 3) + " kWh";
    const kw = (x) => I18n.num(x, 3) + " kW";
    const labels = h.buckets.map((b) => bucketLabel(h.view, b.key));
    const pick2 = (b, field) => (b.has_data ? b[field] : null);
    const series = [];
    if (eur) {
      series.push({ label: t("Cost"), kind: "bar", color: "--accent", values: h.buckets.map((b) => (b.has_data ? b.eur : null)), format: I18n.money });
    } else {
      const day = h.buckets.map((b) => pick2(b, "import_day_kwh"));
      const night = h.buckets.map((b) => pick2(b, "import_night_kwh"));
      series.push({ label: t("Import, day"), kind: "bar", color: "--import", values: h.buckets.map((b) => pick2(b, "import_kwh")), shown: day, format: kwh });
      series.push({ label: t("Import, night"), kind: "bar", color: "--night", values: night, format: kwh });
      series.push({ label: t("Export"), kind: "bar", color: "--export", values: h.buckets.map((b) => (b.has_data ? -b.export_kwh : null)), shown: h.buckets.map((b) => pick2(b, "export_kwh")), format: kwh });
    }
    let y2 = null;
    if (h.view === "day" && !eur && h.compare && h.compare.length) {
      const byKey = new Map(h.compare.map((c) => [c.key, c.import_kwh]));
      series.push({ label: t("Same day last week"), kind: "line", color: "--muted", values: h.buckets.map((b) => byKey.get(b.key) ?? null), format: kwh });
    }
    if (h.view === "day" && !eur) {  // kW held for a quarter-hour = kW / 4 kWh: the same bars' scale
      const n = h.buckets.length;
      if (h.peak_kw !== null) series.push({ label: t("This month's peak"), ref: true, color: "--import", values: Array(n).fill(h.peak_kw / 4), shown: Array(n).fill(h.peak_kw), format: kw });
      series.push({ label: t("Billing floor"), ref: true, color: "--muted", values: Array(n).fill(h.floor_kw / 4), shown: Array(n).fill(h.floor_kw), format: kw });
    }
    if (h.view !== "day") {
      y2 = "kW";
      series.push({ label: h.view === "year" ? t("Month peak") : t("Day's highest quarter-hour"), kind: "point", scale: "kw", color: "--fg",
        values: h.buckets.map((b) => b.peak_kw ?? null), format: kw });
      const n = h.buckets.length;
      if (h.peak_kw !== null) series.push({ label: h.view === "year" ? t("Highest quarter-hour") : t("This month's peak"), ref: true, scale: "kw", color: "--import", values: Array(n).fill(h.peak_kw), format: kw });
      series.push({ label: t("Billing floor"), ref: true, scale: "kw", color: "--muted", values: Array(n).fill(h.floor_kw), format: kw });
      if (h.mean_12_kw !== null) series.push({ label: t("Mean of the last 12 month peaks"), ref: true, scale: "kw", color: "--accent", values: Array(n).fill(h.mean_12_kw), format: kw });
    }
    if (!eur) series.push(...solarSeries(h, kwh));
    const el = $("history-chart");
    el.dataset.buckets = String(h.buckets.filter((b) => b.has_data).length);
    el.dataset.view = h.view;
    P1Charts.series(el, { labels, series, yLabel: eur ? "€" : "kWh", y2Label: y2, yDigits: h.view === "day" ? 2 : 1,
      empty: t("No data yet for this period."), xLabel: h.view === "day" ? t("Quarter-hour") : h.view === "year" ? t("Month") : t("Day") });
    const tot = h.totals;
    setValue("tot-import-day", tot.import_day_kwh, 3, kwh(tot.import_day_kwh));
    setValue("tot-import-night", tot.import_night_kwh, 3, kwh(tot.import_night_kwh));
    setValue("tot-export", tot.export_kwh, 3, kwh(tot.export_kwh));
    setValue("tot-eur", tot.eur, 2, tot.eur === null ? t("set the prices in the config") : I18n.money(tot.eur));
    const dayMax = Math.max(0, ...h.buckets.filter((b) => b.has_data).map((b) => b.import_kwh * 4));
    const peak = h.view === "day" ? (h.has_data ? Math.round(dayMax * 1000) / 1000 : null) : h.peak_kw;
    setValue("hist-peak", peak, 3, peak === null ? "—" : kw(peak));
    setValue("hist-mean", h.mean_12_kw, 3, h.mean_12_kw === null ? "—" : kw(h.mean_12_kw));
    const count = h.buckets.filter((b) => b.has_data).length;
    $("hist-note").textContent = h.view === "day"
      ? tn("{n} quarter-hour stored", "{n} quarter-hours stored", count)
      : h.view === "year" ? tn("{n} month with data", "{n} months with data", count)
        : tn("{n} day with data", "{n} days with data", count);
    const source = String(h.prices_source || "none");  // which prices made the euros (tariff:<id>:<option>)
    if (source.startsWith("tariff:")) {
      const [, tariff, option] = source.split(":");
      $("hist-note").textContent += " · " + t("Euros: the band prices of your tariff ({tariff}, {option}); export at the price in the config.", { tariff, option });
    } else if (source === "dashboard") {
      $("hist-note").textContent += " · " + t("Euros: the flat prices in the config.");
    }
    $("hist-csv").href = `api/v1/quarter-hours?format=csv&from=${h.from}&to=${h.to}T00:00:00`;
    renderSolar(h, kwh);
  }
  // prosumers: production and self-consumption (production - export) when a [solar] source feeds the store
  function solarSeries(h, kwh) {
    if (!h.production_configured) return [];
    return [
      { label: t("Production"), kind: "line", color: "--warn", values: h.buckets.map((b) => b.production_kwh ?? null), format: kwh },
      { label: t("Self-consumption"), kind: "line", color: "--accent", values: h.buckets.map((b) => b.self_consumption_kwh ?? null), format: kwh },
    ];
  }
  function renderSolar(h, kwh) {
    const on = !!h.production_configured, tot = h.totals;
    $("hist-solar-none").hidden = on;
    document.querySelectorAll("#history-card .solar").forEach((el) => { el.hidden = !on; });
    if (!on) return;
    setValue("tot-production", tot.production_kwh, 3, tot.production_kwh == null ? "—" : kwh(tot.production_kwh));
    setValue("tot-self-consumption", tot.self_consumption_kwh, 3, tot.self_consumption_kwh == null ? "—" : kwh(tot.self_consumption_kwh));
    const ratio = tot.self_sufficiency;
    setValue("tot-self-sufficiency", ratio, 3, ratio == null ? "—" : I18n.num(ratio * 100, 0) + " %");
  }

  // ------------------------------------------------------------------------------------ prepayment
  // the top level is one account in full (the simulator's whole state); `accounts` has every energy
  function energies(p) {
    const top = Object.assign({}, p); delete top.accounts;
    const main = top.energy || "electricity";
    if (!p.accounts || typeof p.accounts !== "object") return [[main, top]];
    const list = Object.entries(p.accounts).map(([k, a]) => [k, k === main ? Object.assign({}, a, top) : a]);
    return list.some(([k]) => k === main) ? list : [[main, top], ...list];
  }
  const EMERGENCY = () => ({ enabled: t("not needed yet"), selectable: t("available"), invoked: t("in use"), in_use: t("in use"), exhausted: t("used up") });
  function amount(e, eur, big) {
    if (eur === null || eur === undefined) return "—";
    const price = pick(e, ["price_eur", "price_eur_per_kwh"]);
    if (state.unit === "kwh" && price) return `${I18n.num(eur / price, big ? 1 : 2)} ${e.energy_unit || "kWh"}`;
    if (state.unit === "kwh" && big && typeof e.balance_energy === "number") return `${I18n.num(e.balance_energy, 1)} ${e.energy_unit || "kWh"}`;
    return I18n.money(eur);
  }
  function advice(o) {
    if (!o) return ["ok", ""];
    switch (o.action) {
      case "leak_test_running": return ["warn", t("Leak test running: keep all gas appliances closed until {time}.", { time: I18n.hm(o.leak_test_until) })];
      case "top_up": return ["bad", t("Supply off: top up at least {amount}, then press the meter's button.", { amount: I18n.money(o.top_up_eur) })];
      case "press_button": return ["warn", t("Credit is back: press the meter's button to reconnect.")];
      case "leak_test": return ["warn", t("Close all gas appliances, then hold the meter's button to start the leak test.")];
      case "top_up_soon": return ["warn", tn("Credit for about {n} day: top up soon.", "Credit for about {n} days: top up soon.", o.days_left)];
      default: return ["ok", t("Supply connected.")];
    }
  }
  function renderPrepay() {
    const p = state.prepay;
    $("prepay-absent").hidden = p !== null;
    $("prepay-body").hidden = p === null;
    if (p === null) return;
    const box = $("prepay-energies");
    box.replaceChildren();
    const outlooks = (state.outlook && state.outlook.accounts) || {};
    for (const [kind, e] of energies(p)) {
      const o = outlooks[kind] || null;
      const sec = document.createElement("div");
      sec.className = "energy";
      const id = kind === "electricity" ? "prepay-balance" : `prepay-${kind}-balance`;
      const balance = pick(e, ["balance_eur", "credit_eur"]);
      const plan = pick(e, ["payment_plan"]);
      const status = pick(e, ["emergency_state"]);
      const [tone, text] = advice(o);
      const rows = [];
      if (o) {
        rows.push([t("Days left at the pace of the last 30 days"), o.days_left === null ? "—"
          : `${tn("{n} day", "{n} days", o.days_left)} (${I18n.day(o.empty_on)})`]);
        rows.push([t("Start credit paid back on"), o.start_credit_paid ? t("already paid back")
          : o.start_credit_paid_on ? I18n.day(o.start_credit_paid_on) : "—"]);
      }
      rows.push([t("Emergency credit"), amount(e, pick(e, ["emergency_credit_eur.remaining"])) + (status !== null && EMERGENCY()[status] ? ` (${EMERGENCY()[status]})` : "")]);
      rows.push([t("Debt"), amount(e, pick(e, ["debt_eur"]))]);
      rows.push([t("Start credit to recover"), amount(e, pick(e, ["start_credit_due_eur"]))]);
      if (plan) {
        rows.push([t("Payment plan"), t("{amount} every {days}", { amount: amount(e, plan.instalment_eur), days: tn("{n} day", "{n} days", plan.interval_days) })]);
        if (plan.next_due) rows.push([t("Next instalment"), I18n.day(plan.next_due)]);
      } else {
        rows.push([t("Payment plan"), t("none")]);
      }
      const h3 = document.createElement("h3");
      h3.textContent = kind === "gas" ? t("Gas") : t("Electricity");
      const bp = document.createElement("p");
      const lab = document.createElement("span"); lab.className = "label muted"; lab.textContent = t("Balance");
      const bal = document.createElement("span"); bal.className = "balance"; bal.id = id;
      bal.textContent = amount(e, balance, true);
      bal.dataset.value = balance === null ? "" : String(balance);
      const other = document.createElement("span"); other.className = "muted";
      const price = pick(e, ["price_eur"]);
      other.textContent = price ? (state.unit === "kwh" ? ` · ${I18n.money(balance)}` : ` · ${I18n.num(balance / price, 1)} ${e.energy_unit || "kWh"}`) : "";
      bp.append(lab, document.createElement("br"), bal, other);
      const adv = document.createElement("p"); adv.className = `advice ${tone}`; adv.setAttribute("role", "status"); adv.textContent = text;
      const dl = document.createElement("dl");
      for (const [k, val] of rows) {
        const dt = document.createElement("dt"); dt.textContent = k;
        const dd = document.createElement("dd"); dd.textContent = val;
        dl.append(dt, dd);
      }
      sec.append(h3, bp, adv, dl);
      box.appendChild(sec);
    }
    const main = mainEnergy();
    $("unit-kwh").disabled = !(typeof main.balance_energy === "number" || pick(main, ["price_eur"]));
    $("prepay-updated").textContent = main.balance_updated_at ? I18n.dateTime(main.balance_updated_at, { dateStyle: "medium", timeStyle: "short" }) : "—";
    $("prepay-accounting").textContent = main.accounting === "central" ? t("(central account: the balance is updated each morning with the previous day)") : "";
    renderDays();
  }
  function mainEnergy() {
    const list = state.prepay ? energies(state.prepay) : [];
    return list.length ? list[0][1] : {};
  }
  async function refreshOutlook() {
    try { state.outlook = await getJson("api/v1/dashboard/prepayment"); } catch (e) { state.outlook = null; }
  }
  async function loadDays() {
    const chosen = $("days-date").value || isoDate(new Date());
    const end = new Date(chosen + "T12:00:00Z");
    const byDay = new Map();
    for (let i = 29; i >= 0; i--) byDay.set(new Date(end.getTime() - i * 86400000).toISOString().slice(0, 10), { kwh: 0, eur: null });
    const first = byDay.keys().next().value;
    const history = mainEnergy().history;
    if (Array.isArray(history) && history.length && history[history.length - 1].date === chosen) {
      for (const d of history) if (byDay.has(d.date)) byDay.set(d.date, { kwh: d.energy || 0, eur: d.eur ?? null });
    } else {
      let rows = [];
      try { rows = (await getJson(`api/v1/dashboard/history?view=month&date=${chosen}`)).buckets; } catch (e) { rows = []; }
      try { rows = rows.concat((await getJson(`api/v1/dashboard/history?view=month&date=${first}`)).buckets); } catch (e) { /* same month */ }
      for (const b of rows) if (byDay.has(b.key) && b.has_data) byDay.get(b.key).kwh = b.import_kwh;
    }
    state.days = [...byDay.entries()];
    state.daysChosen = chosen;
    renderDays();
  }
  function renderDays() {
    const e = mainEnergy();
    const price = pick(e, ["price_eur"]);
    const unit = e.energy_unit || "kWh";
    const euros = (d) => d.eur ?? (price ? d.kwh * price : null);
    const inEur = state.unit === "eur" && state.days.every(([, d]) => euros(d) !== null);
    const el = $("days-chart");
    el.dataset.slots = String(state.days.length);
    el.dataset.bars = String(state.days.filter(([, d]) => d.kwh > 0).length);
    P1Charts.series(el, {
      labels: state.days.map(([day]) => I18n.day(day, { day: "numeric", month: "numeric" })),
      yLabel: inEur ? "€" : unit, empty: t("No data yet for this period."), xLabel: t("Day"),
      series: [{ label: t("Consumption"), kind: "bar", color: "--accent",
        values: state.days.map(([, d]) => (d.kwh > 0 ? (inEur ? euros(d) : d.kwh) : null)),
        format: (x) => (inEur ? I18n.money(x) : `${I18n.num(x, 3)} ${unit}`) }],
    });
    const kwh = state.days.reduce((a, [, d]) => a + d.kwh, 0);
    const money = state.days.reduce((a, [, d]) => a + (euros(d) || 0), 0);
    $("days-total").textContent = state.days.length
      ? `${I18n.day(state.days[0][0])} – ${I18n.day(state.days[state.days.length - 1][0])}: ${I18n.num(kwh, 1)} ${unit}${price || money ? " · " + I18n.money(money) : ""}`
      : "";
  }

  // ---------------------------------------------------------------------------------------- events
  // an event's customer sentence as data ({id: English template, params}) in the page's language;
  // decimals keep their digits ("15.00" -> "15,00"), nested sentences are rendered the same way
  function noticeText(x) {
    const params = {};
    for (const [k, v] of Object.entries(x.params || {})) {
      if (v && typeof v === "object") params[k] = noticeText(v);
      else if (typeof v === "string" && /^-?\d+\.\d+$/.test(v)) params[k] = I18n.num(Number(v), v.split(".")[1].length);
      else if (typeof v === "number") params[k] = I18n.num(v, Number.isInteger(v) ? 0 : 3);
      else params[k] = v === null || v === undefined ? "—" : String(v);
    }
    return t(x.id, params);
  }
  function eventText(e) {
    const type = String(pick(e, ["type"]) || "");
    const kw = (x) => I18n.num(x, 3);
    const eur = e.amount_eur ?? e.balance_eur;
    const texts = {
      peak_warning: () => (e.kind === "threshold"
        ? t("Quarter-hour heading for {kw} kW, above your limit of {limit} kW.", { kw: kw(e.projected_kw), limit: kw(e.limit_kw) })
        : t("Quarter-hour heading for {kw} kW: a new month peak (above {limit} kW).", { kw: kw(e.projected_kw), limit: kw(e.limit_kw) })),
      low_credit: () => t("Credit is low."),
      out_of_credit: () => t("Credit is used up."),
      emergency_credit: () => t("Emergency credit is in use."),
      supply_disconnected: () => t("Supply disconnected."),
      supply_ready: () => t("Supply ready: press the meter's button to reconnect."),
      supply_connected: () => t("Supply reconnected."),
      prepayment_low_credit: () => t("Credit is low."),
      prepayment_emergency_credit_available: () => t("Emergency credit is available."),
      prepayment_emergency_credit_in_use: () => t("Emergency credit is in use."),
      prepayment_supply_interrupted: () => t("Supply disconnected."),
      prepayment_interruption_deferred: () => t("Credit is used up: the supply stays on for now (no cut at night, weekends or holidays)."),
      prepayment_supply_limited: () => t("Supply limited."),
      prepayment_top_up_accepted: () => (eur !== undefined && eur !== null ? t("Top-up accepted: balance {amount}.", { amount: I18n.money(eur) }) : t("Top-up accepted.")),
      prepayment_reconnection_possible: () => t("Supply ready: press the meter's button to reconnect."),
      prepayment_supply_restored: () => t("Supply reconnected."),
      prepayment_leak_test_started: () => t("Gas leak test started."),
      prepayment_leak_test_failed: () => t("Gas leak test failed: the valve stays closed."),
      prepayment_balance_updated: () => t("Balance updated."),
      prepayment_start_credit_recovered: () => t("Start credit paid back."),
      prepayment_debt_added: () => t("Debt added to the account."),
      clock_skew: () => t("The meter's clock differs from the gateway's."),
      source_fault: () => t("The meter connection has a problem."),
    };
    // the event's own sentence (with its amounts) first for prepayment events and events the page has no
    // words for (a voltage limit crossing); the page's short sentences for the others
    if (e.text && typeof e.text.id === "string" && (type.startsWith("prepayment_") || !texts[type])) return noticeText(e.text);
    return texts[type] ? texts[type]() : t("Other event");
  }
  function renderEvents() {
    const list = $("events");
    list.replaceChildren();
    for (const e of state.events.slice(0, 30)) {
      const li = document.createElement("li");
      const at = pick(e, ["at", "time", "timestamp"]);
      li.textContent = `${at ? I18n.dateTime(at, { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" }) + " · " : ""}${eventText(e)}`;
      li.dataset.type = String(e.type || "");
      list.appendChild(li);
    }
    $("events-empty").hidden = state.events.length > 0;
  }

  // -------------------------------------------------------------------------------------- controls
  async function control(action, body) {
    const out = $("ctl-result");
    const token = $("ctl-token").value.trim();
    out.className = "note";
    try {
      const r = await fetch(`api/v1/control/${action}`, {
        method: "POST", headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
        body: JSON.stringify(body),
      });
      const messages = {
        401: t("Wrong or missing control token."),
        403: t("Controls are disabled: the gateway has no control token configured."),
        409: t("Not possible on this gateway (a real meter, or no such meter in the simulator)."),
        422: t("The simulator refused this now: it does not fit the meter's state (a leak test needs a gas valve waiting to reopen)."),
      };
      if (!r.ok) { out.className = "note warn"; out.textContent = messages[r.status] || t("The request failed."); return; }
      out.textContent = t("Done.");
      refreshPrepay();
    } catch (e) {
      out.className = "note warn"; out.textContent = t("The gateway cannot be reached.");
    }
  }
  function wireControls() {
    $("ctl-top-up").addEventListener("click", () => control("top_up",
      { id: `dash-${Date.now()}`, amount_eur: Number($("ctl-amount").value || 0).toFixed(2), energy: "electricity" }));
    $("ctl-button").addEventListener("click", () => control("press_button", { energy: "electricity" }));
    $("ctl-leak").addEventListener("click", () => control("start_leak_test", {}));
    $("ctl-load").addEventListener("click", () => control("set_load",
      { kw: Number($("ctl-kw").value || 0).toFixed(3), duration_s: Math.round(Number($("ctl-minutes").value || 1) * 60) }));
  }

  async function refreshPrepay() {
    try { state.prepay = await getJson("api/v1/prepayment"); } catch (e) { state.prepay = null; }
    if (state.prepay) await refreshOutlook();
    renderPrepay();
  }

  // ------------------------------------------------------------------------------------------ start
  function renderAll() {
    renderLabels();
    if (state.telegram) onTelegram(state.telegram);
    renderHistory();
    renderPrepay();
    renderEvents();
    refreshCapacity();
    $("link-state").textContent = $("link-state").classList.contains("pill-on") ? t("live") : t("connecting…");
  }
  function fillLanguages() {
    const sel = $("lang");
    sel.replaceChildren();
    const auto = document.createElement("option");
    auto.value = ""; auto.textContent = t("automatic");
    sel.appendChild(auto);
    for (const [code, name] of Object.entries(I18n.languages)) {
      const o = document.createElement("option"); o.value = code; o.textContent = name; sel.appendChild(o);
    }
    sel.value = I18n.stored;
  }

  async function start() {
    await I18n.load();
    fillLanguages();
    $("lang").addEventListener("change", async () => { await I18n.load($("lang").value); fillLanguages(); renderAll(); loadDays(); });
    state.date = isoDate(new Date());
    $("days-date").value = state.date;
    $("days-date").addEventListener("change", loadDays);
    document.querySelectorAll('input[name="prepay-unit"]').forEach((r) => r.addEventListener("change", () => { state.unit = r.value; renderPrepay(); }));
    document.querySelectorAll('input[name="hist-unit"]').forEach((r) => r.addEventListener("change", () => { state.histUnit = r.value; renderHistory(); }));
    document.querySelectorAll("#history-card [data-view]").forEach((b) => b.addEventListener("click", () => { state.view = b.dataset.view; loadHistory(); }));
    $("hist-prev").addEventListener("click", () => { if (state.history) { state.date = state.history.previous; loadHistory(); } });
    $("hist-next").addEventListener("click", () => { if (state.history) { state.date = state.history.next; loadHistory(); } });
    wireControls();
    try { applyLabels(await getJson("api/v1/states")); } catch (e) { renderLabels(); }
    try {
      const since = new Date(Date.now() - 10 * 60000).toISOString();
      for (const p of (await getJson(`api/v1/history?from=${encodeURIComponent(since)}`)).slice(-SERIES_LEN)) {
        const at = Date.parse(p.at || p.timestamp || p.time || "") / 1000;
        if (!at) continue;
        state.power[0].push(at);
        state.power[1].push(pick(p, ["import_kw", "power_import_kw", "power_import"]) || 0);
        state.power[2].push(pick(p, ["export_kw", "power_export_kw", "power_export"]) || 0);
      }
    } catch (e) { /* no history yet */ }
    drawPower();
    try { onTelegram(await getJson("api/v1/now")); } catch (e) { /* 503 until the first telegram */ }
    await loadHistory();
    await refreshPrepay();
    if (state.prepay) loadDays();
    try { state.events = await getJson("api/v1/events?limit=30"); } catch (e) { state.events = []; }
    renderEvents();
    refreshCapacity();

    const stream = new EventSource("api/v1/stream");
    const link = $("link-state");
    stream.onopen = () => { link.textContent = t("live"); link.className = "pill pill-on"; };
    stream.onerror = () => { link.textContent = t("reconnecting…"); link.className = "pill pill-off"; };
    let labelled = Object.values(state.labels).some((l) => l);
    stream.addEventListener("telegram", (m) => {
      onTelegram(JSON.parse(m.data));
      if (!labelled) { labelled = true; getJson("api/v1/states").then(applyLabels).catch(() => { labelled = false; }); }
    });
    let histTimer = null;
    stream.addEventListener("quarter_hour", () => {
      refreshCapacity();
      if (!histTimer) histTimer = setTimeout(() => { histTimer = null; loadHistory(); }, 2000);
    });
    stream.addEventListener("event", (m) => { state.events.unshift(JSON.parse(m.data)); renderEvents(); });
    let lastDay = null;
    const loadDaysSoon = throttled(loadDays, 5000);
    const prepaySoon = throttled(async () => { await refreshOutlook(); renderPrepay(); }, 2000);
    stream.addEventListener("prepayment", (m) => {
      const first = state.prepay === null;
      state.prepay = JSON.parse(m.data);
      prepaySoon();
      const h = mainEnergy().history;
      const day = Array.isArray(h) && h.length ? h[h.length - 1].date + ":" + h[h.length - 1].energy : null;
      if (first || (day !== lastDay && $("days-date").value === isoDate(new Date()))) { lastDay = day; loadDaysSoon(); }
    });
  }

  document.addEventListener("DOMContentLoaded", start);
})();

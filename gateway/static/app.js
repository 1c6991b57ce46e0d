/* Dashboard logic: load the current state from the JSON API once, then follow the SSE stream.
   Everything is relative to the page (works behind a reverse proxy sub-path) and same-origin (no CDN).
   Tariff names come from /api/v1/states (the registry's country aliases: energy_import_day -> 1.8.1 in
   Belgium, energy_import_night -> 1.8.1 in the Netherlands). Raw numbers are kept in data-value attributes. */
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  const REG = { "1-0:1.8.1": "reg-1-8-1", "1-0:1.8.2": "reg-1-8-2", "1-0:2.8.1": "reg-2-8-1", "1-0:2.8.2": "reg-2-8-2" };
  const NAMES = {
    BE: { day: "day (jour · dag)", night: "night (nuit · nacht)" },
    NL: { night: "low / dal (night)", day: "normal / piek (day)" },
  };
  const SERIES_LEN = 120;
  const state = {
    labels: { "1-0:1.8.1": "tariff 1", "1-0:1.8.2": "tariff 2", "1-0:2.8.1": "tariff 1", "1-0:2.8.2": "tariff 2" },
    tariffNames: { 1: "tariff 1", 2: "tariff 2" },
    imports: [], exports: [], today: [], todayDate: null, prepay: null, unit: "eur", days: [],
    lastDetail: 0, telegram: null,
  };

  const fmt = (n, d) => (n === null || n === undefined || Number.isNaN(Number(n)))
    ? "—" : Number(n).toLocaleString(undefined, { minimumFractionDigits: d, maximumFractionDigits: d });
  const eur = (n) => (n === null || n === undefined) ? "—"
    : Number(n).toLocaleString(undefined, { style: "currency", currency: "EUR" });
  const num = (v) => (v && typeof v.value === "number") ? v.value : null;
  const localTime = (iso) => iso ? new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" }) : "—";
  const isoDate = (d) => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;

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

  function setValue(id, value, digits) {
    const el = $(id);
    el.textContent = fmt(value, digits);
    el.dataset.value = value === null || value === undefined ? "" : String(value);
  }

  // ------------------------------------------------------------------------------------ tariff names
  function applyLabels(states) {
    let country = null;
    for (const [name, s] of Object.entries(states || {})) {
      const m = /^energy_(import|export)_(day|night)$/.exec(name);
      if (!m || !REG[s.code]) continue;
      state.labels[s.code] = m[2];
      if (s.code === "1-0:1.8.1") country = m[2] === "day" ? "BE" : "NL";
    }
    const names = NAMES[country] || {};
    for (const [code, id] of Object.entries(REG)) {
      const label = names[state.labels[code]] || state.labels[code];
      const dir = code.startsWith("1-0:1.") ? "Import" : "Export";
      $(id).closest("tr").querySelector(".reg-label").textContent = `${dir} ${label}`;
    }
    state.tariffNames = { 1: names[state.labels["1-0:1.8.1"]] || "tariff 1", 2: names[state.labels["1-0:1.8.2"]] || "tariff 2" };
  }

  // -------------------------------------------------------------------------------------- telegrams
  function onTelegram(t) {
    state.telegram = t;
    const v = t.values || {};
    $("meter-id").textContent = t.meter_id || "";
    $("last-telegram").textContent = localTime(t.timestamp);
    $("last-telegram").setAttribute("datetime", t.timestamp || "");
    const imp = num(v["1-0:1.7.0"]), exp = num(v["1-0:2.7.0"]);
    setValue("power-import", imp, 3);
    setValue("power-export", exp, 3);
    state.imports.push(imp || 0); state.exports.push(exp || 0);
    if (state.imports.length > SERIES_LEN) { state.imports.shift(); state.exports.shift(); }
    P1Chart.lineChart($("power-chart"), [
      { values: state.imports, cls: "line-import" }, { values: state.exports, cls: "line-export" }], SERIES_LEN);
    for (const [code, id] of Object.entries(REG)) setValue(id, num(v[code]), 3);
    const tariff = num(v["0-0:96.14.0"]);
    $("tariff").textContent = tariff ? `${state.tariffNames[tariff] || "tariff " + tariff} (tariff ${tariff})` : "—";
    document.querySelectorAll(".registers tr[data-code]").forEach((tr) => {
      tr.classList.toggle("active", tariff !== null && tr.dataset.code.endsWith("." + tariff));
    });
    renderGas(v);
    const now = Date.now();
    if (now - state.lastDetail > 3000) { state.lastDetail = now; refreshCapacity(); }
  }

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
    $("gas-time").textContent = localTime(reading.timestamp);
    const valve = num(v[`0-${code}:24.4.0`]);
    $("gas-valve").textContent = valve === null ? "—" : ({ 0: "closed", 1: "open", 2: "ready to open" })[valve] || String(valve);
  }

  // ------------------------------------------------------------------------------- capacity tariff
  async function refreshCapacity() {
    let peaks = {}, cur = null;
    try { peaks = await getJson("api/v1/peaks"); } catch (e) { /* not yet */ }
    try { cur = await getJson("api/v1/current-quarter-hour"); } catch (e) { /* not yet */ }
    const v = (state.telegram && state.telegram.values) || {};
    const average = pick(peaks, ["quarter_hour.average_kw", "running_average_kw"]) ?? pick(cur, ["avg_import_kw"]) ?? num(v["1-0:1.4.0"]);
    const projected = pick(peaks, ["quarter_hour.projected_kw", "projected_kw"]) ?? pick(cur, ["projected_kw"]);
    const peak = pick(peaks, ["month.peak_kw", "month_peak_kw"]) ?? num(v["1-0:1.6.0"]);
    const start = pick(peaks, ["quarter_hour.start"]) ?? pick(cur, ["start"]);
    const minimum = pick(peaks, ["capacity_tariff.minimum_kw"]) ?? 0;
    const tariffKw = pick(peaks, ["capacity_tariff.average_kw"]);
    setValue("capacity-average", tariffKw, 3);
    setValue("qh-average", average, 3);
    setValue("qh-projection", projected, 3);
    setValue("month-peak", peak, 3);
    if (start) {
      const s = new Date(start), e = new Date(s.getTime() + 900000);
      $("qh-window").textContent = `${s.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })}–${e.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })}`;
    }
    const scale = Math.max(2.5, peak || 0, projected || 0, average || 0) * 1.15;
    const pct = (x) => `${Math.min(100, Math.max(0, ((x || 0) / scale) * 100))}%`;
    $("cap-fill").style.width = pct(average);
    $("cap-projection").style.left = pct(projected);
    $("cap-peak").style.left = pct(peak);
    const bar = Math.max(peak || 0, minimum);
    const over = projected !== null && projected > bar;
    $("cap-fill").classList.toggle("over", over);
    const note = $("capacity-note");
    note.className = over ? "note warn" : "note";
    note.textContent = projected === null ? "" : over
      ? `At this pace the quarter-hour ends at ${fmt(projected, 2)} kW, above this month's peak (${fmt(bar, 2)} kW): the capacity charge would rise. Shift a load to lower it.`
      : `Projected ${fmt(projected, 2)} kW: below this month's peak${peak !== null ? ` (${fmt(peak, 2)} kW)` : ""}.`;
    $("capacity-bar").setAttribute("aria-label", `Average ${fmt(average, 2)} kW, projected ${fmt(projected, 2)} kW, month peak ${fmt(peak, 2)} kW`);
  }

  // ---------------------------------------------------------------------------- today's quarter-hours
  function slotOf(record) {
    const hh = Number(record.start.slice(11, 13)), mm = Number(record.start.slice(14, 16));
    return hh * 4 + Math.floor(mm / 15);
  }

  function renderToday() {
    const items = state.today.map((r) => ({
      value: r.import_kwh, value2: r.export_kwh, slot: slotOf(r),
      title: `${r.start.slice(11, 16)}: import ${fmt(r.import_kwh, 3)} kWh, export ${fmt(r.export_kwh, 3)} kWh${r.estimated ? " (estimated)" : ""}`,
    }));
    P1Chart.barChart($("today-chart"), items, { slots: 96, offset: (d) => d.slot, minMax: 0.05 });
    const imp = state.today.reduce((a, r) => a + (r.import_kwh || 0), 0);
    const exp = state.today.reduce((a, r) => a + (r.export_kwh || 0), 0);
    $("today-total").textContent = `${state.today.length} quarter-hours, import ${fmt(imp, 3)} kWh, export ${fmt(exp, 3)} kWh`;
  }

  function onQuarterHour(r) {
    const day = r.start.slice(0, 10);
    if (state.todayDate && day !== state.todayDate) { state.today = []; }
    state.todayDate = day;
    state.today = state.today.filter((x) => x.start !== r.start).concat([r]);
    renderToday();
    refreshCapacity();
  }

  // ------------------------------------------------------------------------------------ prepayment
  // Reads the account state of docs/prepayment.md (one energy per object); also {electricity, gas} or a list.
  const EMERGENCY = { enabled: "available", selectable: "available: press the button to use it", invoked: "activated",
    in_use: "in use", exhausted: "used up", 0: "available", 1: "available: press the button to use it", 2: "activated",
    3: "in use", 4: "used up" };
  const SUPPLY = { 0: "disconnected", 1: "connected", 2: "ready" };

  function energies(p) {
    if (Array.isArray(p)) return p.map((e) => [e.energy || "electricity", e]);
    if (p.accounts && typeof p.accounts === "object" && Object.keys(p.accounts).length > 1) {
      return Object.entries(p.accounts).map(([k, e]) => [k, k === (p.energy || "electricity") ? p : e]);
    }
    if (p.energy) return [[p.energy, p]];
    return ["electricity", "gas"].filter((k) => p[k]).map((k) => [k, p[k]]);
  }

  function amount(e, eurValue, isBalance) {
    if (eurValue === null || eurValue === undefined) return "—";
    if (state.unit === "kwh") {
      const unit = e.energy_unit || "kWh";
      if (isBalance && typeof e.balance_energy === "number") return `${fmt(e.balance_energy, 1)} ${unit}`;
      const price = pick(e, ["price_eur", "price_eur_per_kwh"]);
      return price ? `${fmt(eurValue / price, 1)} ${unit}` : "— (no price known)";
    }
    return eur(eurValue);
  }

  function supplyOf(e) {
    const s = pick(e, ["supply_state", "supply"]);
    return s !== null ? s : (SUPPLY[pick(e, ["breaker_state", "valve_state"])] ?? null);
  }

  function advice(kind, e) {
    const supply = supplyOf(e);
    const todo = pick(e, ["what_to_do"]);
    const minimum = pick(e, ["reconnect_min_eur"]) ?? 0.5;
    const emergency = pick(e, ["emergency_state", "emergency_status"]);
    const bits = pick(e, ["credit_status"]);
    const low = e.low_credit === true || (typeof bits === "number" && (bits & 2) !== 0);
    const said = todo && todo !== "Nothing to do" ? todo : null;
    if (supply === "disconnected") {
      return ["bad", "Supply cut. " + (said || `Top up so the balance reaches at least ${eur(minimum)}, then `
        + (kind === "gas" ? "run the leak test to reopen the valve." : "press the meter's green button to reconnect."))];
    }
    if (supply === "ready") {
      return ["warn", "Credit is back. " + (said || (kind === "gas"
        ? "Close every gas appliance, then hold the red button for 3 seconds to start the leak test (up to about 12 minutes); the valve opens when it passes."
        : "Hold the meter's green button for a few seconds to reconnect."))];
    }
    if (e.leak_test_until) return ["warn", `Leak test running until ${localTime(e.leak_test_until)}: keep every gas appliance closed.`];
    if (supply === "limited") {
      const limit = pick(e, ["power_limit_kw", "limit_kw"]);
      return ["warn", said || `Supply limited${limit ? " to " + fmt(limit, 1) + " kW" : ""}: top up to lift the limit.`];
    }
    if (emergency === "in_use" || emergency === "invoked" || emergency === 3 || emergency === 2) {
      return ["warn", said || "Running on emergency credit: top up soon, or the supply will be cut when it is used up."];
    }
    if (low) return ["warn", said || "Low credit: top up soon."];
    return ["ok", (supply ? `Supply ${supply}.` : "Supply state unknown.") + (said ? " " + said : "")];
  }

  function renderPrepay() {
    const p = state.prepay;
    $("prepay-absent").hidden = p !== null;
    $("prepay-body").hidden = p === null;
    if (p === null) return;
    const box = $("prepay-energies");
    box.className = "energies";
    box.replaceChildren();
    const list = energies(p);
    for (const [kind, e] of list) {
      const sec = document.createElement("div");
      sec.className = "energy";
      const id = kind === "electricity" ? "prepay-balance" : `prepay-${kind}-balance`;
      const balance = pick(e, ["balance_eur", "credit_eur"]);
      const plan = pick(e, ["payment_plan"]);
      const status = pick(e, ["emergency_state", "emergency_status"]);
      const [tone, text] = advice(kind, e);
      const rows = [
        ["Emergency credit", amount(e, pick(e, ["emergency_credit_eur.remaining", "emergency_credit_eur"]))
          + (status !== null ? ` (${EMERGENCY[status] || status})` : "")],
        ["Debt", amount(e, pick(e, ["debt_eur"]))],
        ["Start credit to recover", amount(e, pick(e, ["start_credit_due_eur"]))],
      ];
      if (plan) {
        const inst = pick(plan, ["instalment_eur", "installment_eur"]);
        const every = pick(plan, ["interval_days"]);
        rows.push(["Payment plan", `${amount(e, inst)}${every ? ` every ${every} day${every > 1 ? "s" : ""}` : ""}`]);
        if (plan.remaining_instalments !== undefined) rows.push(["Instalments left", String(plan.remaining_instalments)]);
        if (plan.next_due) rows.push(["Next instalment", String(plan.next_due)]);
        if (plan.top_up_share) rows.push(["Withheld from each top-up", `${fmt(plan.top_up_share * 100, 0)} %`]);
      } else {
        rows.push(["Payment plan", "none"]);
      }
      sec.innerHTML = `<h3></h3><p><span class="label muted">Balance</span><br><span class="balance" id="${id}"></span></p>
        <p class="advice" role="status"></p><dl></dl>`;
      sec.querySelector("h3").textContent = kind === "gas" ? "Gas" : "Electricity";
      const bal = sec.querySelector(".balance");
      bal.textContent = amount(e, balance, true);
      bal.dataset.value = balance === null ? "" : String(balance);
      const adv = sec.querySelector(".advice");
      adv.classList.add(tone);
      adv.textContent = text;
      const dl = sec.querySelector("dl");
      for (const [k, val] of rows) {
        const dt = document.createElement("dt"); dt.textContent = k;
        const dd = document.createElement("dd"); dd.textContent = val;
        dl.append(dt, dd);
      }
      box.appendChild(sec);
    }
    const main = list.length ? list[0][1] : {};
    $("unit-kwh").disabled = !(typeof main.balance_energy === "number" || pick(main, ["price_eur", "price_eur_per_kwh"]));
    const updated = pick(main, ["balance_updated_at", "at", "updated_at"]);
    $("prepay-updated").textContent = updated ? new Date(updated).toLocaleString() : "—";
    $("prepay-accounting").textContent = main.accounting === "central"
      ? "(central account: the meter's balance is updated each morning with the previous day)" : "";
    renderDays();
  }

  function mainEnergy() {
    const list = state.prepay ? energies(state.prepay) : [];
    return list.length ? list[0][1] : {};
  }

  async function loadDays() {
    const chosen = $("days-date").value || isoDate(new Date());
    const end = new Date(chosen + "T12:00:00");
    const first = new Date(end.getTime() - 29 * 86400000);
    const byDay = new Map();
    for (let i = 0; i < 30; i++) byDay.set(isoDate(new Date(first.getTime() + i * 86400000)), { kwh: 0, eur: null });
    const history = mainEnergy().history;
    if (Array.isArray(history) && history.length && history[history.length - 1].date === chosen) {
      for (const d of history) if (byDay.has(d.date)) byDay.set(d.date, { kwh: d.energy || 0, eur: d.eur ?? null });
    } else {
      let records = [];
      try { records = await getJson(`api/v1/quarter-hours?from=${isoDate(first)}&to=${chosen}`); } catch (e) { records = []; }
      for (const r of records) {
        const day = byDay.get(r.start.slice(0, 10));
        if (day) day.kwh += r.import_kwh || 0;
      }
    }
    state.days = [...byDay.entries()];
    state.daysChosen = chosen;
    renderDays();
  }

  function renderDays() {
    const e = mainEnergy();
    const price = pick(e, ["price_eur", "price_eur_per_kwh"]);
    const unit = e.energy_unit || "kWh";
    const euros = (d) => d.eur ?? (price ? d.kwh * price : null);
    const inEur = state.unit === "eur" && state.days.every(([, d]) => euros(d) !== null);
    const items = state.days.map(([day, d]) => ({ value: inEur ? euros(d) : d.kwh, selected: day === state.daysChosen,
      title: `${day}: ${fmt(d.kwh, 3)} ${unit}${euros(d) !== null ? " · " + eur(euros(d)) : ""}` }));
    P1Chart.barChart($("days-chart"), items, { slots: 30 });
    const kwh = state.days.reduce((a, [, d]) => a + d.kwh, 0);
    const money = state.days.reduce((a, [, d]) => a + (euros(d) || 0), 0);
    $("days-total").textContent = state.days.length
      ? `${state.days[0][0]} – ${state.days[state.days.length - 1][0]}: ${fmt(kwh, 1)} ${unit}${price || money ? " · " + eur(money) : ""}`
      : "";
  }

  // ---------------------------------------------------------------------------------------- events
  function renderEvent(e, prepend) {
    const li = document.createElement("li");
    const at = pick(e, ["at", "time", "timestamp"]);
    li.textContent = `${at ? localTime(at) + " " : ""}${pick(e, ["type", "kind"]) || "event"}${e.message ? ": " + e.message : ""}`;
    const list = $("events");
    if (prepend) list.prepend(li); else list.appendChild(li);
    while (list.children.length > 30) list.lastChild.remove();
  }

  // ------------------------------------------------------------------------------------------ start
  async function start() {
    $("days-date").value = isoDate(new Date());
    $("days-date").addEventListener("change", loadDays);
    document.querySelectorAll('input[name="prepay-unit"]').forEach((r) => r.addEventListener("change", () => {
      state.unit = r.value; renderPrepay();
    }));
    try { applyLabels(await getJson("api/v1/states")); } catch (e) { /* before the first telegram */ }
    try {
      const since = new Date(Date.now() - 10 * 60000).toISOString();
      for (const p of (await getJson(`api/v1/history?from=${encodeURIComponent(since)}`)).slice(-SERIES_LEN)) {
        state.imports.push(pick(p, ["import_kw", "power_import_kw", "power_import"]) || 0);
        state.exports.push(pick(p, ["export_kw", "power_export_kw", "power_export"]) || 0);
      }
    } catch (e) { /* no history yet */ }
    try { onTelegram(await getJson("api/v1/now")); } catch (e) { /* 503 until the first telegram */ }
    try {
      state.today = await getJson("api/v1/quarter-hours");
      if (state.today.length) state.todayDate = state.today[0].start.slice(0, 10);
    } catch (e) { state.today = []; }
    renderToday();
    try { state.prepay = await getJson("api/v1/prepayment"); } catch (e) { state.prepay = null; }
    renderPrepay();
    if (state.prepay) loadDays();
    try { (await getJson("api/v1/events?limit=20")).forEach((e) => renderEvent(e, false)); } catch (e) { /* none */ }
    refreshCapacity();

    const stream = new EventSource("api/v1/stream");
    const link = $("link-state");
    stream.onopen = () => { link.textContent = "live"; link.className = "pill pill-on"; };
    stream.onerror = () => { link.textContent = "reconnecting…"; link.className = "pill pill-off"; };
    let labelled = Object.values(state.labels).some((l) => l === "day" || l === "night");
    stream.addEventListener("telegram", (m) => {
      onTelegram(JSON.parse(m.data));
      if (!labelled) { labelled = true; getJson("api/v1/states").then(applyLabels).catch(() => { labelled = false; }); }
    });
    stream.addEventListener("quarter_hour", (m) => onQuarterHour(JSON.parse(m.data)));
    stream.addEventListener("event", (m) => renderEvent(JSON.parse(m.data), true));
    let lastDay = null;
    stream.addEventListener("prepayment", (m) => {
      const first = state.prepay === null;
      state.prepay = JSON.parse(m.data); renderPrepay();
      const h = mainEnergy().history;
      const day = Array.isArray(h) && h.length ? h[h.length - 1].date + ":" + h[h.length - 1].energy : null;
      if (first || (day !== lastDay && $("days-date").value === isoDate(new Date()))) { lastDay = day; loadDays(); }
    });
  }

  document.addEventListener("DOMContentLoaded", start);
})();

/* The dashboard's language: messages from /api/v1/i18n (gettext catalogs on the server), numbers, money
   and dates with Intl in that language's Belgian form, times in the meter's zone.
   t(msgid, params) and tn(singular, plural, n, params) (msgids: English, {name} placeholders) are the only
   ways text reaches the page; index.html marks its texts with data-i18n (text) and data-i18n-aria-label (attribute).
   The language: the page's choice (kept in localStorage), else the config's, else the browser's. */
"use strict";

const I18n = (function () {
  const KEY = "p1gw.lang";
  let cat = { language: "en", locale: "en-BE", messages: {}, languages: {}, timezone: "Europe/Brussels" };

  function fill(text, params) {
    return String(text).replace(/\{(\w+)\}/g, (m, k) => (params && params[k] !== undefined ? String(params[k]) : m));
  }
  function t(msgid, params) {
    const found = cat.messages[msgid];
    return fill(typeof found === "string" && found ? found : msgid, params);
  }
  function tn(one, other, n, params) {
    const found = cat.messages[one];
    const rule = new Intl.PluralRules(cat.locale).select(n) === "one" ? 0 : 1;
    const text = Array.isArray(found) ? found[rule] : (rule === 0 ? one : other);
    return fill(text, Object.assign({ n: num(n, 0) }, params || {}));
  }
  function num(n, digits) {
    if (n === null || n === undefined || Number.isNaN(Number(n))) return "—";
    return Number(n).toLocaleString(cat.locale, { minimumFractionDigits: digits, maximumFractionDigits: digits });
  }
  function money(n) {
    if (n === null || n === undefined || Number.isNaN(Number(n))) return "—";
    return Number(n).toLocaleString(cat.locale, { style: "currency", currency: "EUR" });
  }
  function dateTime(iso, opts) {
    if (!iso) return "—";
    const d = typeof iso === "number" ? new Date(iso) : new Date(iso);
    return d.toLocaleString(cat.locale, Object.assign({ timeZone: cat.timezone }, opts));
  }
  const time = (iso) => dateTime(iso, { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  const hm = (iso) => dateTime(iso, { hour: "2-digit", minute: "2-digit" });
  function day(isoDay, opts) {  // a local calendar day "YYYY-MM-DD" (no zone shift)
    const [y, m, d] = isoDay.split("-").map(Number);
    return new Date(Date.UTC(y, m - 1, d || 1, 12)).toLocaleDateString(cat.locale,
      Object.assign({ timeZone: "UTC" }, opts || { day: "numeric", month: "long", year: "numeric" }));
  }

  function apply(root) {
    (root || document).querySelectorAll("[data-i18n]").forEach((el) => {
      if (!el.dataset.msgid) el.dataset.msgid = el.textContent.replace(/\s+/g, " ").trim();
      el.textContent = t(el.dataset.msgid);
    });
    (root || document).querySelectorAll("[data-i18n-aria-label]").forEach((el) => {
      el.setAttribute("aria-label", t(el.dataset.i18nAriaLabel));
    });
    document.documentElement.lang = cat.language;
    document.title = t("P1 gateway");
  }

  async function load(choice) {
    if (choice !== undefined) {
      if (choice) localStorage.setItem(KEY, choice); else localStorage.removeItem(KEY);
    }
    const stored = localStorage.getItem(KEY);
    const r = await fetch("api/v1/i18n" + (stored ? "?lang=" + encodeURIComponent(stored) : ""),
      { headers: { Accept: "application/json" } });
    if (r.ok) cat = await r.json();
    apply();
    document.dispatchEvent(new CustomEvent("i18n-loaded"));  // other scripts re-render in the language
    return cat;
  }

  return {
    t, tn, num, money, dateTime, time, hm, day, apply, load,
    get locale() { return cat.locale; }, get language() { return cat.language; },
    get timezone() { return cat.timezone; }, get languages() { return cat.languages; },
    get stored() { return localStorage.getItem(KEY) || ""; },
  };
})();
window.I18n = I18n;

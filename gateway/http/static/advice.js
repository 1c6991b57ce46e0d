// The "Tariff advice" card: the cheapest tariff option over the last 12 months, its € a year, what it saves
// against the runner-up and against the configured [tariff] option, the first reasons, a link to the full
// page. Read from /api/v1/advice in the page's language (its reasons come translated from the server).
// Redrawn when the language changes (i18n-loaded) and every hour; "no data yet" when the API says 404.
(function () {
  "use strict";
  const { t } = I18n;
  const REASONS = 3;

  function el(id) {
    return document.getElementById(id);
  }

  function show(state, message) {
    const card = el("advice-card");
    card.dataset.state = state;
    el("advice-body").hidden = state !== "ok";
    const note = el("advice-note");
    note.hidden = state === "ok";
    note.textContent = message || "";
  }

  function render(doc, lang) {
    const card = el("advice-card");
    const best = doc.cheapest;
    const options = doc.options || [];
    card.dataset.option = best.option;
    card.dataset.regime = best.regime;
    card.dataset.total = best.total_eur;
    el("advice-option").textContent = best.label;
    const total = el("advice-total");
    total.dataset.value = best.total_eur;
    total.textContent = t("{amount} a year", { amount: I18n.money(best.total_eur) });

    const next = options[1];
    el("advice-next").textContent = next
      ? t("{amount} a year less than the {option}.", { amount: I18n.money(next.more_than_cheapest_eur), option: next.label })
      : t("Only one option applies to you.");

    const yours = el("advice-configured");
    const configured = doc.configured_option
      ? options.find((o) => o.option === doc.configured_option) : undefined;
    yours.hidden = !configured;
    if (configured) {
      yours.dataset.value = configured.more_than_cheapest_eur;
      yours.textContent = configured.rank === 1
        ? t("Your current option ({option}) is already the cheapest.", { option: configured.label })
        : t("{amount} a year less than your current option ({option}).",
          { amount: I18n.money(configured.more_than_cheapest_eur), option: configured.label });
    }

    const list = el("advice-reasons");
    list.replaceChildren();
    // the first reasons after the one the card already says (cheapest, by how much)
    const told = new Set(["cheapest", "only_option"]);
    for (const reason of (doc.reasons || []).filter((r) => !told.has(r.id)).slice(0, REASONS)) {
      const li = document.createElement("li");
      li.dataset.id = reason.id;
      li.textContent = reason.text;
      list.appendChild(li);
    }
    el("advice-link").href = "api/v1/advice?format=html&lang=" + encodeURIComponent(lang);
    show("ok");
  }

  async function refresh() {
    const lang = I18n.language;
    try {
      // no_data=204: a gateway without a full day yet answers 204, not an error the browser would log
      const r = await fetch("api/v1/advice?no_data=204&lang=" + encodeURIComponent(lang),
        { headers: { Accept: "application/json" } });
      if (r.status === 404 || r.status === 204) return show("empty", t("No data yet: the advice needs at least one full day of quarter-hours."));
      if (!r.ok) return show("error", t("The advice could not be computed."));
      render(await r.json(), lang);
    } catch (err) {
      show("error", t("The advice could not be computed."));
    }
  }

  document.addEventListener("i18n-loaded", refresh);
  document.addEventListener("DOMContentLoaded", () => setInterval(refresh, 3600000));
})();

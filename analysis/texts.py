"""Every sentence a customer reads in the voltage and appliance reports, in French, Dutch and English.

Strategy: one table, key -> {language: text with `{named}` fields}; `tr(lang, key, **fields)` picks the
language (English when a key has no translation yet) so an i18n tool (gettext/Babel) can take the table over
later without touching the reports.
"""

from __future__ import annotations

LANGUAGES = ("fr", "nl", "en")

TEXTS: dict[str, dict[str, str]] = {
    "voltage_title": {
        "fr": "Qualité de la tension (EN 50160) — dossier pour le gestionnaire de réseau",
        "nl": "Spanningskwaliteit (EN 50160) — dossier voor de netbeheerder",
        "en": "Supply voltage quality (EN 50160) — evidence for the DSO",
    },
    "meter": {"fr": "Compteur", "nl": "Meter", "en": "Meter"},
    "ean": {"fr": "Code EAN", "nl": "EAN-code", "en": "EAN"},
    "unknown": {"fr": "inconnu", "nl": "onbekend", "en": "unknown"},
    "period": {"fr": "Période", "nl": "Periode", "en": "Period"},
    "source": {"fr": "Mesures", "nl": "Metingen", "en": "Measurements"},
    "source_p1": {
        "fr": "port P1 du compteur, une valeur par seconde et par phase",
        "nl": "P1-poort van de meter, één waarde per seconde en per fase",
        "en": "the meter's P1 port, one value per second and phase",
    },
    "source_s1": {
        "fr": "port S1 du compteur (tension efficace de chaque seconde)",
        "nl": "S1-poort van de meter (effectieve spanning per seconde)",
        "en": "the meter's S1 port (RMS voltage of every second)",
    },
    "criteria": {
        "fr": "Critères EN 50160 (basse tension, par semaine) : 95 % des moyennes sur 10 minutes entre "
        "207 V et 253 V (230 V ± 10 %) ; toutes entre 195,5 V et 253 V (−15 % / +10 %).",
        "nl": "EN 50160-criteria (laagspanning, per week): 95 % van de 10-minutengemiddelden tussen "
        "207 V en 253 V (230 V ± 10 %); alle tussen 195,5 V en 253 V (−15 % / +10 %).",
        "en": "EN 50160 criteria (low voltage, per week): 95 % of the 10-minute means within 207–253 V "
        "(230 V ± 10 %); all of them within 195.5–253 V (−15 % / +10 %).",
    },
    "week": {
        "fr": "Semaine du {start} au {end}",
        "nl": "Week van {start} tot {end}",
        "en": "Week {start} to {end}",
    },
    "phase": {"fr": "Phase", "nl": "Fase", "en": "Phase"},
    "verdict": {"fr": "Verdict", "nl": "Oordeel", "en": "Verdict"},
    "pass": {"fr": "conforme", "nl": "conform", "en": "compliant"},
    "fail": {"fr": "NON CONFORME", "nl": "NIET CONFORM", "en": "NOT COMPLIANT"},
    "undetermined": {
        "fr": "indéterminé (données manquantes)",
        "nl": "onbepaald (ontbrekende gegevens)",
        "en": "undetermined (missing data)",
    },
    "share_inside": {
        "fr": "Moyennes 10 min dans 230 V ± 10 %",
        "nl": "10-min-gemiddelden binnen 230 V ± 10 %",
        "en": "10-min means within 230 V ± 10 %",
    },
    "windows": {
        "fr": "Moyennes 10 min mesurées / attendues",
        "nl": "Gemeten / verwachte 10-min-gemiddelden",
        "en": "10-min means measured / expected",
    },
    "range": {
        "fr": "Moyenne 10 min min – max",
        "nl": "10-min-gemiddelde min – max",
        "en": "10-min mean min – max",
    },
    "over_voltages": {
        "fr": "Surtensions (> 253 V) : nombre, durée",
        "nl": "Overspanningen (> 253 V): aantal, duur",
        "en": "Over-voltages (> 253 V): count, duration",
    },
    "with_export": {
        "fr": "dont pendant l'injection de la maison",
        "nl": "waarvan tijdens injectie van de woning",
        "en": "of which while the home exported",
    },
    "dips": {
        "fr": "Creux de tension (< 207 V) : nombre, durée",
        "nl": "Spanningsdips (< 207 V): aantal, duur",
        "en": "Dips (< 207 V): count, duration",
    },
    "meter_counters": {
        "fr": "Compteurs du compteur (creux / surtensions)",
        "nl": "Tellers van de meter (dips / pieken)",
        "en": "The meter's own counters (sags / swells)",
    },
    "not_reported": {"fr": "non transmis", "nl": "niet doorgegeven", "en": "not reported"},
    "worst": {"fr": "Pires épisodes", "nl": "Ergste episodes", "en": "Worst episodes"},
    "start": {"fr": "Début", "nl": "Begin", "en": "Start"},
    "duration": {"fr": "Durée", "nl": "Duur", "en": "Duration"},
    "extreme": {"fr": "Valeur extrême", "nl": "Uiterste waarde", "en": "Extreme"},
    "kind_over_voltage": {"fr": "surtension", "nl": "overspanning", "en": "over-voltage"},
    "kind_dip": {"fr": "creux", "nl": "dip", "en": "dip"},
    "yes": {"fr": "oui", "nl": "ja", "en": "yes"},
    "no": {"fr": "non", "nl": "nee", "en": "no"},
    "exporting": {"fr": "Injection", "nl": "Injectie", "en": "Exporting"},
    "none": {"fr": "aucun", "nl": "geen", "en": "none"},
    "plot": {
        "fr": "Moyennes sur 10 minutes par phase, limites EN 50160 en rouge",
        "nl": "10-minutengemiddelden per fase, EN 50160-grenzen in rood",
        "en": "10-minute means per phase, EN 50160 limits in red",
    },
    "missing_note": {
        "fr": "Les périodes sans mesure sont indiquées comme manquantes, jamais supposées conformes. "
        "À 1 mesure par seconde, les creux de moins d'une seconde ne sont visibles que par les compteurs "
        "du compteur.",
        "nl": "Perioden zonder metingen staan als ontbrekend vermeld, nooit als conform verondersteld. "
        "Met 1 meting per seconde zijn dips korter dan een seconde enkel zichtbaar in de tellers van de "
        "meter.",
        "en": "Periods without measurements are stated as missing, never assumed compliant. At one value per "
        "second, dips shorter than a second show only in the meter's own counters.",
    },
    "no_data": {
        "fr": "Aucune mesure de tension enregistrée pour cette période.",
        "nl": "Geen spanningsmetingen opgeslagen voor deze periode.",
        "en": "No voltage measurements stored for this period.",
    },
    # appliances
    "appliances_title": {
        "fr": "Appareils énergivores et consommation de veille",
        "nl": "Energieverslindende toestellen en sluimerverbruik",
        "en": "Energy-hungry appliances and standby consumption",
    },
    "appliance": {"fr": "Appareil (estimé)", "nl": "Toestel (geschat)", "en": "Appliance (guessed)"},
    "runs": {"fr": "Utilisations", "nl": "Keren gebruikt", "en": "Runs"},
    "power": {"fr": "Puissance", "nl": "Vermogen", "en": "Power"},
    "energy": {"fr": "Énergie", "nl": "Energie", "en": "Energy"},
    "cost": {"fr": "Coût", "nl": "Kost", "en": "Cost"},
    "standby": {
        "fr": "Veille (talon de consommation)",
        "nl": "Sluimerverbruik (basislast)",
        "en": "Standby (baseload)",
    },
    "standby_line": {
        "fr": "{watts} W en permanence, soit {kwh} kWh par an{cost}",
        "nl": "{watts} W permanent, of {kwh} kWh per jaar{cost}",
        "en": "{watts} W all the time: {kwh} kWh a year{cost}",
    },
    "label_kettle": {"fr": "bouilloire", "nl": "waterkoker", "en": "kettle"},
    "label_oven": {"fr": "four / cuisson", "nl": "oven / koken", "en": "oven / cooking"},
    "label_washing_heating": {
        "fr": "lave-linge / lave-vaisselle (chauffe)",
        "nl": "wasmachine / vaatwasser (opwarmen)",
        "en": "washing machine / dishwasher (heating)",
    },
    "label_ev_charger": {"fr": "borne de recharge VE", "nl": "laadpaal EV", "en": "EV charger"},
    "label_heat_pump": {"fr": "pompe à chaleur", "nl": "warmtepomp", "en": "heat pump"},
    "label_other": {"fr": "autre appareil", "nl": "ander toestel", "en": "other appliance"},
}


def tr(lang: str, key: str, **fields: object) -> str:
    """The text of `key` in `lang` (English when missing), with `fields` filled in."""
    entry = TEXTS[key]
    text = entry.get(lang) or entry["en"]
    return text.format(**fields) if fields else text

"""The message catalogs: every text the dashboard uses is translated (French, Dutch), none empty or fuzzy,
placeholders kept; the language negotiation; numbers and money in the Belgian forms (Babel)."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

from gateway import i18n
from gateway.i18n.extract import messages

PLACEHOLDER = re.compile(r"\{(\w+)\}")


def _catalog(lang: str) -> Catalog:
    with i18n.po_path(lang).open("rb") as handle:
        return read_po(handle, locale=lang, domain=i18n.DOMAIN)


def test_extraction_finds_the_dashboards_texts() -> None:
    ids = {m if isinstance(m, str) else m[0] for m, _, _ in messages()}
    # one from each source: index.html text, an aria-label, app.js t(), app.js tn() inside a template literal
    assert {"Power now", "Previous period", "Supply connected.", "{n} day"} <= ids
    assert len(ids) > 100


def test_extraction_reads_python_javascript_and_html(tmp_path: Path) -> None:
    static = tmp_path / "gateway" / "http" / "static"
    static.mkdir(parents=True)
    (static / "index.html").write_text('<h2 data-i18n>Power  now</h2><button data-i18n-aria-label="Next">')
    (static / "app.js").write_text('const a = `${tn("{n} day", "{n} days", 2)}`; t("Done.");\n')
    (tmp_path / "prepayment").mkdir()
    (tmp_path / "prepayment" / "notes.py").write_text(
        '_ = tr.gettext\nTEXT = _("Credit is low.")\nN = tr.ngettext("{n} day left", "{n} days left", 3)\n'
    )
    found = {m for m, _, _ in messages(tmp_path)}
    assert found == {"Power now", "Next", ("{n} day", "{n} days"), "Done.", "Credit is low.",
                     ("{n} day left", "{n} days left")}  # fmt: skip


@pytest.mark.parametrize("lang", ["fr", "nl"])
def test_every_used_message_is_translated(lang: str) -> None:
    catalog = _catalog(lang)
    problems = []
    for msgid, name, line in messages():
        key = msgid if isinstance(msgid, str) else msgid[0]
        found = catalog.get(key)
        if found is None:
            problems.append(f"{name}:{line}: {key!r} is missing (run python -m gateway.i18n.extract)")
            continue
        if found.fuzzy:
            problems.append(f"{name}:{line}: {key!r} is fuzzy")
        forms = list(found.string) if isinstance(found.string, tuple | list) else [found.string]
        if not forms or any(not form for form in forms):
            problems.append(f"{name}:{line}: {key!r} has an empty translation")
        wanted = set(PLACEHOLDER.findall(key))
        for form in forms:
            if form and set(PLACEHOLDER.findall(form)) != wanted:
                problems.append(f"{name}:{line}: {key!r} -> {form!r}: placeholders differ")
    assert problems == []


@pytest.mark.parametrize("lang", ["fr", "nl"])
def test_catalog_has_no_stale_or_fuzzy_entries(lang: str) -> None:
    used = {m if isinstance(m, str) else m[0] for m, _, _ in messages()}
    catalog = _catalog(lang)
    stale = [m.id for m in catalog if m.id and (m.id if isinstance(m.id, str) else m.id[0]) not in used]
    assert stale == []
    assert not catalog.fuzzy
    assert catalog.num_plurals == 2


def test_negotiation_page_then_config_then_browser() -> None:
    assert i18n.negotiate("nl-BE,nl;q=0.9,en;q=0.5") == "nl"
    assert i18n.negotiate("de-DE,fr-BE;q=0.8,nl;q=0.5") == "fr"
    assert i18n.negotiate("fr-BE", None, "nl") == "nl"  # config over the browser
    assert i18n.negotiate("fr-BE", "en", "nl") == "en"  # the page over the config
    assert i18n.negotiate("de, es;q=0.5") == "en"
    assert i18n.negotiate("nl;q=0, fr") == "fr"


def test_translations_and_belgian_formats() -> None:
    assert i18n.translations("nl").gettext("This month's peak") == "Piek van deze maand"
    assert i18n.translations("fr").ngettext("{n} day", "{n} days", 1) == "{n} jour"
    assert i18n.translations("fr").ngettext("{n} day", "{n} days", 2) == "{n} jours"
    assert i18n.catalog_json("nl")["messages"]["{n} day"] == ["{n} dag", "{n} dagen"]
    assert i18n.format_money(Decimal("1234.5"), "nl") == "€\xa01.234,50"
    assert (
        i18n.format_money(Decimal("1234.5"), "fr").replace("\u202f", " ").replace("\xa0", " ") == "1 234,50 €"
    )
    assert i18n.format_number(Decimal("2.5"), "fr", 3) == "2,500"

"""Collect the msgids the dashboard uses and keep the catalogs in step (Babel's extractors).

Sources: `t("...")` / `tn("one", "other", n)` in gateway/http/static/*.js (Babel's JavaScript extractor),
elements marked `data-i18n` and `data-i18n-aria-label="..."` in gateway/http/static/index.html, the
`label = "..."` of the components in tariffs/data/**/*.toml (and the shipped offers' `name`), and
`_("...")` / `.gettext("...")` / `.ngettext("one", "other", n)` / `N_(text)` (the no-op marker of the pure
reports' templates, tariffs/text.py) in gateway/, prepayment/, sharing/ and tariffs/ (Babel's Python
extractor): a Python text for customers marked that way must be in the catalogs too. Run
`python -m gateway.i18n.extract` after changing a text: it rewrites `locales/p1gw.pot` and merges it into
each language's `.po` (new msgids arrive empty, to be translated; tests/test_i18n.py fails until they are).
"""

from __future__ import annotations

import html
import re
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_javascript, extract_python
from babel.messages.pofile import read_po, write_po

from gateway.i18n import DOMAIN, LANGUAGES, LOCALE_DIR, SOURCE_LANGUAGE, po_path

ROOT = Path(__file__).resolve().parents[2]
KEYWORDS = {"t": None, "tn": (1, 2)}
# Python texts for customers: `_ = translations(lang).gettext; _("...")`, `.ngettext("one", "other", n)`,
# and templates marked with N_ where they are defined (translated later through a `Lang`)
PY_KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}
PY_PACKAGES = ("gateway", "prepayment", "sharing", "tariffs")
_MARKED = re.compile(r"<(\w+)\b[^>]*\bdata-i18n\b(?!-)[^>]*>(.*?)</\1>", re.S)
_ATTR = re.compile(r'data-i18n-aria-label="([^"]+)"')
# Babel's JavaScript lexer misses calls inside template literals and some after `?`; this catches those
_CALL = re.compile(r'\b(tn?)\(\s*"((?:[^"\\]|\\.)*)"(?:\s*,\s*"((?:[^"\\]|\\.)*)")?')
# Babel's Python lexer (before Python 3.12) reads an f-string as one token: N_ calls in one are found here
# the tariff data's component labels (the advice page's bill lines and sources table show them translated)
_TOML_LABEL = re.compile(r'^label\s*=\s*"([^"\\]*)"', re.M)
_TOML_OFFER_NAME = re.compile(r'^name\s*=\s*"([^"\\]*)"', re.M)  # the shipped (example) offers' names
_PY_MARK = re.compile(r"""\bN_\(\s*(?:'([^'\\]*)'|"([^"\\]*)")\s*\)""")


def messages(root: Path = ROOT) -> list[tuple[str | tuple[str, str], str, int]]:
    """(msgid or (singular, plural), file name, line) for every text the dashboard shows and every Python
    text marked for customers, in the source tree at `root`."""
    found: list[tuple[str | tuple[str, str], str, int]] = []
    static = root / "gateway" / "http" / "static"
    for path in sorted(static.glob("*.js")):
        source = path.read_text(encoding="utf-8")
        for call in _CALL.finditer(source):
            line = source.count("\n", 0, call.start()) + 1
            if call.group(1) == "tn" and call.group(3):
                found.append(((call.group(2), call.group(3)), path.name, line))
            elif call.group(1) == "t":
                found.append((call.group(2), path.name, line))
        with path.open("rb") as handle:
            for line, _func, message, _comments in extract_javascript(handle, KEYWORDS, [], {}):
                if isinstance(message, tuple):
                    if len(message) >= 2 and message[0] and message[1]:
                        found.append(((str(message[0]), str(message[1])), path.name, line))
                elif message:
                    found.append((str(message), path.name, line))
    for package in PY_PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            with path.open("rb") as handle:
                for line, _func, message, _comments in extract_python(handle, PY_KEYWORDS, [], {}):
                    where = str(path.relative_to(root))
                    if isinstance(message, tuple) and len(message) >= 2 and message[0] and message[1]:
                        found.append(((str(message[0]), str(message[1])), where, line))
                    elif isinstance(message, str) and message:
                        found.append((message, where, line))
            source = path.read_text(encoding="utf-8")
            for mark in _PY_MARK.finditer(source):
                if mark.group(1) or mark.group(2):
                    line = source.count("\n", 0, mark.start()) + 1
                    found.append((mark.group(1) or mark.group(2), str(path.relative_to(root)), line))
    for path in sorted((root / "tariffs" / "data").rglob("*.toml")):
        source = path.read_text(encoding="utf-8")
        names = _TOML_OFFER_NAME.finditer(source) if path.parent.name == "offers" else iter(())
        for label in (*_TOML_LABEL.finditer(source), *names):
            line = source.count("\n", 0, label.start()) + 1
            found.append((label.group(1), str(path.relative_to(root)), line))
    text = (static / "index.html").read_text(encoding="utf-8")
    for pattern, group in ((_MARKED, 2), (_ATTR, 1)):
        for match in pattern.finditer(text):
            msgid = " ".join(html.unescape(match.group(group)).split())
            found.append((msgid, "index.html", text.count("\n", 0, match.start()) + 1))
    return found


def template() -> Catalog:
    catalog = Catalog(domain=DOMAIN, project="p1-gateway", charset="utf-8")
    for msgid, name, line in messages():
        catalog.add(msgid, locations=[(name if "/" in name else f"gateway/http/static/{name}", line)])
    return catalog


def main() -> None:
    pot = template()
    with (LOCALE_DIR / f"{DOMAIN}.pot").open("wb") as handle:
        write_po(handle, pot, width=110, omit_header=False)
    for lang in LANGUAGES:
        if lang == SOURCE_LANGUAGE:
            continue
        path = po_path(lang)
        with path.open("rb") as handle:
            catalog = read_po(handle, locale=lang, domain=DOMAIN)
        catalog.update(pot, no_fuzzy_matching=True)
        with path.open("wb") as handle:
            write_po(handle, catalog, width=110, ignore_obsolete=True)
        print(f"{path}: {len(catalog)} messages")


if __name__ == "__main__":
    main()

"""HTML -> PDF with WeasyPrint, the optional `pdf` extra: the printable reports as a file to attach.

WeasyPrint is imported on use, so a plain install (the Pi without Pango) still writes the JSON and HTML;
`write_pdf` then answers the one line that says how to get the PDF.
"""

from __future__ import annotations

from pathlib import Path

INSTALL_HINT = (
    "no PDF: WeasyPrint is missing; install it with pip install 'p1-gateway[pdf]' "
    "(on Debian also apt-get install libpango-1.0-0 libpangoft2-1.0-0), or print the HTML from a browser"
)


def write_pdf(html: str, path: Path) -> str | None:
    """Write the self-contained page `html` as a PDF at `path`; None when written, else why not (one line)."""
    try:
        from weasyprint import HTML
    except (ImportError, OSError):  # OSError: the package is there but the Pango library is not
        return INSTALL_HINT
    HTML(string=html).write_pdf(path)
    return None

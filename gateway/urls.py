"""URLs safe to show: `redact` hides the password of a broker or database URL (logs, status, errors).

Strategy: plain string work, no URL parser, so a URL too broken to parse (an unencoded `/` or `@` in the
password, a bad port) is still redacted and nothing ever raises. The credentials are what precedes the last
`@` after the scheme; the password is what follows the first `:` in them. Only the password is replaced: the
user name, host, port, path and query stay as written, so the result still says where the connection goes. A
`password=` query parameter (libpq accepts one) is hidden too.
"""

from __future__ import annotations

import re

MASK = "***"
_QUERY_PASSWORD = re.compile(r"([?&]password=)[^&#]*", re.IGNORECASE)


def redact(url: str) -> str:
    """`url` without its password: `mqtt://user:secret@host:1883` -> `mqtt://user:***@host:1883`.

    A password without a user (`mqtt://:secret@host`) becomes `mqtt://:***@host`; a URL without a password
    (`mqtt://host`, `postgresql://user@host/db`) comes back unchanged, a text without a scheme is read as what
    follows one (`user:secret@host` -> `user:***@host`).
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    credentials, at, location = rest.rpartition("@")
    if at and ":" in credentials:
        user = credentials.split(":", 1)[0]
        rest = f"{user}:{MASK}@{location}"
    rest = _QUERY_PASSWORD.sub(rf"\g<1>{MASK}", rest)
    return f"{scheme}{sep}{rest}"


__all__ = ["MASK", "redact"]

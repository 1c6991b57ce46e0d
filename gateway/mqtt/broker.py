"""Where the broker is and how to reach it: the URL (host, port, TLS, credentials) and the TLS context.

`BrokerAddress.parse` reads `mqtt://[user[:pass]@]host[:port]` or `mqtts://...` (a bare `host:port` is
`mqtt://`); credentials are percent-decoded. Errors and logs show the URL through `gateway.urls.redact`, never
with its password. `Credentials` are the URL's unless the settings override them.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from gateway.urls import redact

_SCHEMES = ("mqtt", "mqtts", "tcp", "ssl")
_TLS_SCHEMES = ("mqtts", "ssl")


@dataclass(frozen=True)
class BrokerAddress:
    """Where and how to connect, from `mqtt://[user[:pass]@]host[:port]` or `mqtts://...` (TLS)."""

    host: str
    port: int
    tls: bool
    username: str | None = None
    password: str | None = None

    @classmethod
    def parse(cls, url: str) -> BrokerAddress:
        """The address of a broker URL; ValueError (naming the URL without its password) when unusable."""
        parts = urlsplit(url if "://" in url else f"mqtt://{url}")
        if parts.scheme not in _SCHEMES:
            raise ValueError(f"MQTT URL {redact(url)!r}: scheme must be mqtt:// or mqtts://")
        if not parts.hostname:
            raise ValueError(f"MQTT URL {redact(url)!r}: no host")
        tls = parts.scheme in _TLS_SCHEMES
        try:
            port = parts.port or (8883 if tls else 1883)
        except ValueError as exc:
            raise ValueError(f"MQTT URL {redact(url)!r}: bad port") from exc
        user = unquote(parts.username) if parts.username else None
        password = unquote(parts.password) if parts.password is not None else None
        return cls(parts.hostname, port, tls, user, password)

    def redacted(self) -> str:
        """The URL without the password (for logs and status): `mqtt://user:***@host:1883`."""
        credentials = f"{self.username}:{self.password or ''}@" if self.username else ""
        return redact(f"{'mqtts' if self.tls else 'mqtt'}://{credentials}{self.host}:{self.port}")


@dataclass(frozen=True)
class Credentials:
    """The user name and password sent to the broker (None: none)."""

    username: str | None
    password: str | None

    @classmethod
    def of(cls, address: BrokerAddress, username: str | None, password: str | None) -> Credentials:
        """`username` / `password` when given, else the URL's."""
        return cls(
            username if username is not None else address.username,
            password if password is not None else address.password,
        )


def tls_context(
    *,
    ca_file: str | Path | None = None,
    cert_file: str | Path | None = None,
    key_file: str | Path | None = None,
    insecure: bool = False,
) -> ssl.SSLContext:
    """A client TLS context: the CA in `ca_file` (default: the system's CAs), the client certificate in
    `cert_file` with its key in `key_file` (or in `cert_file` itself); `insecure` checks nothing."""
    context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    if cert_file:
        key = key_file or cert_file  # a PEM holding both
        context.load_cert_chain(str(cert_file), str(key))
    if insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


__all__ = ["BrokerAddress", "Credentials", "tls_context"]

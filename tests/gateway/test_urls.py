"""gateway.urls.redact: the one URL redactor (MQTT broker, database), for every shape a user may write."""

from __future__ import annotations

import pytest

from gateway.urls import redact


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("mqtt://user:secret@host:1883", "mqtt://user:***@host:1883"),
        ("mqtts://p1gw:top-secret@127.0.0.1:8883", "mqtts://p1gw:***@127.0.0.1:8883"),
        ("mqtt://:secret@host", "mqtt://:***@host"),  # a password without a user
        ("mqtt://user:@host", "mqtt://user:***@host"),  # an empty password still says one was given
        ("mqtt://host:1883", "mqtt://host:1883"),  # no credentials: unchanged
        ("mqtt://user@host", "mqtt://user@host"),  # a user alone is no secret
        ("postgresql://p1gw:s3cret@db.local:5432/p1gw", "postgresql://p1gw:***@db.local:5432/p1gw"),
        ("postgresql://postgres@127.0.0.1:5432/test", "postgresql://postgres@127.0.0.1:5432/test"),
        ("postgresql://u:pw@h/db?sslmode=require", "postgresql://u:***@h/db?sslmode=require"),
        ("postgresql://h/db?user=u&password=pw&x=1", "postgresql://h/db?user=u&password=***&x=1"),
        ("mqtt://u%40x:p%3Aw@h:8884", "mqtt://u%40x:***@h:8884"),  # percent-encoded credentials
        ("user:secret@host:1883", "user:***@host:1883"),  # no scheme, as BrokerAddress accepts it
        ("p1gw.sqlite", "p1gw.sqlite"),
        ("", ""),
    ],
)
def test_redact_hides_only_the_password(url: str, shown: str) -> None:
    assert redact(url) == shown


@pytest.mark.parametrize(
    "url",
    [
        "mqtt://u:pa/ss@h",  # an unencoded / ends the authority for a parser: the password still goes
        "mqtt://u:p@ss@h:1883",  # an unencoded @ in the password
        "mqtt://u:pa#ss@h",
        "mqtt://u:secret@h:notaport",
        "mqtt://u:secret@[::1",
    ],
)
def test_redact_never_shows_a_password_of_a_broken_url(url: str) -> None:
    shown = redact(url)
    assert "ss" not in shown.replace("***", "") and "secret" not in shown
    assert shown.startswith("mqtt://u:***@")


@pytest.mark.parametrize(
    "url", ["://", "@", ":@", "a@b@c", "mqtt://@", "\x00:\udcff@", "%zz:%@%", "?password"]
)
def test_redact_never_raises(url: str) -> None:
    assert isinstance(redact(url), str)

"""The publishing policy: per topic, what goes out when (every message, on change, at most every N s, never).

A meter sends a telegram every second; a Pi and a broker do not need 40 messages a second. Rules are glob
patterns over topics relative to the base topic (`telegram`, `state/power_import`), tried in order, first
match wins; the user's rules come before `DEFAULT_POLICY`. Pure: the caller passes the time in.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

_UNITS = {"s": 1, "sec": 1, "second": 1, "seconds": 1, "m": 60, "min": 60, "minute": 60, "minutes": 60,
          "h": 3600, "hour": 3600, "hours": 3600}  # fmt: skip


@dataclass(frozen=True)
class TopicRule:
    """What to publish on matching topics: every message or only changes, and a minimum interval (s)."""

    on_change: bool = False
    min_interval_s: float = 0.0
    enabled: bool = True

    @classmethod
    def parse(cls, text: str) -> TopicRule:
        """`every` | `every 10 s` | `at most every 60 s` | `on change` | `on change, at most every 5 s` |
        `never`. Units: s, min, h (default s)."""
        t = " ".join(text.lower().replace(",", " ").split())
        if t in ("never", "off", "disabled", "none"):
            return cls(enabled=False)
        on_change = False
        if t.startswith("on change"):
            on_change, t = True, t.removeprefix("on change").strip()
        if t in ("", "every", "every telegram", "always"):
            return cls(on_change=on_change)
        m = re.fullmatch(r"(?:at most )?every (\d+(?:\.\d+)?) ?([a-z]*)", t)
        if m is None or (m.group(2) and m.group(2) not in _UNITS):
            raise ValueError(
                f"publishing rule {text!r}: expected 'every', 'every N s', 'at most every N s', "
                "'on change', 'on change, at most every N s' or 'never'"
            )
        return cls(on_change=on_change, min_interval_s=float(m.group(1)) * _UNITS[m.group(2) or "s"])


DEFAULT_POLICY: dict[str, str] = {
    "telegram": "every 10 s",
    "state/power_*": "on change, at most every 5 s",
    "state/energy_*": "on change, at most every 60 s",
    "state/meter_time": "every 60 s",
    "state/*": "on change, at most every 10 s",
}


class PublishPolicy:
    """Decides, per topic (relative to the base topic), whether a message goes out now.

    Rules are glob patterns (`fnmatch`, case-sensitive) tried in order, first match wins; the user's rules
    come before `DEFAULT_POLICY`, topics matching nothing are published every time. "On change" compares
    with the last *published* payload, so a change held back by the interval goes out with the next
    telegram after the interval. Pure: time (`now`, seconds on any monotonic clock) is passed in.
    """

    def __init__(self, rules: Mapping[str, str | TopicRule] | None = None, *, defaults: bool = True) -> None:
        merged: dict[str, TopicRule] = {}
        for pattern, rule in (rules or {}).items():
            merged[pattern] = rule if isinstance(rule, TopicRule) else TopicRule.parse(rule)
        if defaults:
            for pattern, text in DEFAULT_POLICY.items():
                merged.setdefault(pattern, TopicRule.parse(text))
        self.rules: list[tuple[str, TopicRule]] = list(merged.items())
        self._rule_cache: dict[str, TopicRule] = {}
        self._last: dict[str, tuple[float, bytes | None]] = {}
        self.held_back = 0

    def rule_for(self, topic: str) -> TopicRule:
        rule = self._rule_cache.get(topic)
        if rule is None:
            rule = next((r for p, r in self.rules if fnmatch.fnmatchcase(topic, p)), TopicRule())
            self._rule_cache[topic] = rule
        return rule

    def allow(self, topic: str, payload: bytes | None, now: float) -> bool:
        """True when `payload` on `topic` should be published at `now`; records it as published if so."""
        rule = self.rule_for(topic)
        last = self._last.get(topic)
        ok = rule.enabled and (
            last is None
            or (
                (not rule.on_change or payload != last[1])
                and (now - last[0] >= rule.min_interval_s or now < last[0])  # clock went back: allow
            )
        )
        if ok:
            self._last[topic] = (now, payload)
        else:
            self.held_back += 1
        return ok

    def forget(self) -> None:
        """Forget what was published (after a reconnect everything is sent again)."""
        self._last.clear()


def parse_policy(lines: Iterable[str]) -> dict[str, str]:
    """`pattern = rule` lines (config files, env) -> a policy mapping; `#` comments and blanks ignored."""
    out: dict[str, str] = {}
    for raw in lines:
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        pattern, sep, rule = line.partition("=")
        if not sep or not pattern.strip():
            raise ValueError(f"policy line {raw!r}: expected 'pattern = rule'")
        TopicRule.parse(rule)
        out[pattern.strip()] = rule.strip()
    return out


__all__ = ["DEFAULT_POLICY", "PublishPolicy", "TopicRule", "parse_policy"]

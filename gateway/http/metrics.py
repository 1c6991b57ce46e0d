"""`GET /api/v1/metrics`: the Prometheus text exposition (0.0.4) of the gateway's health dict.

Strategy: no metrics library and no registry: the health dict (`GatewayView.health()`) is walked on each
scrape, nested keys joined with `_` under the `p1gw_` prefix. A number is a gauge, or a counter when its
name says it only grows (`*_total`, `frames`, `*errors`, ...); a boolean is 0/1; a text is an info gauge
`{value="..."} 1`; NaN is left out.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from typing import Any

_METRIC_HELP = {
    "up": "1 while the HTTP API answers",
    "last_telegram_age_s": "seconds since the last telegram",
    "frames": "frames read from the source",
    "telegrams": "telegrams parsed",
    "crc_errors": "frames dropped for a bad CRC",
    "framing_errors": "framing errors (garbage, overlong frames)",
    "queue_depth": "MQTT messages waiting for the broker",
    "http_stream_clients": "open SSE connections",
}
_COUNTER_WORDS = (
    "frames", "frames_ok", "telegrams", "errors", "reconnects", "connects", "faults", "dropped", "published",
    "bytes", "count", "closed", "stored", "rejected",
)  # fmt: skip


def _metric_name(path: list[str]) -> str:
    name = re.sub(r"[^a-zA-Z0-9_]", "_", "_".join(path)).strip("_").lower()
    return "p1gw_" + (name if name and not name[0].isdigit() else f"_{name}")


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def prometheus_text(health: dict[str, Any], extra: dict[str, float] | None = None) -> str:
    """Prometheus text exposition (0.0.4) of a health dict: numbers become gauges, cumulative counts
    (`*_total`, `frames`, `*errors`, ...) counters, texts an info gauge `{value="..."} 1`, booleans 0/1;
    nested dicts are flattened with `_`."""
    lines: list[str] = []

    def emit(path: list[str], value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                emit([*path, str(key)], item)
            return
        key = path[-1]
        base = _metric_name(path)
        if isinstance(value, bool) or (
            isinstance(value, int | float | Decimal) and not isinstance(value, bool)
        ):
            number = float(value)
            if math.isnan(number):
                return
            joined = "_".join(path)
            is_counter = joined.endswith("_total") or any(
                joined == w or joined.endswith("_" + w) for w in _COUNTER_WORDS
            )
            if is_counter and not isinstance(value, bool) and number >= 0:
                name, kind = (base if base.endswith("_total") else base + "_total"), "counter"
            else:
                name, kind = base, "gauge"
            help_text = _METRIC_HELP.get(key, "gateway health: " + ".".join(path))
            lines.extend((f"# HELP {name} {help_text}", f"# TYPE {name} {kind}", f"{name} {_number(number)}"))
        elif isinstance(value, str):
            name = base + "_info"
            lines.extend(
                (
                    f"# HELP {name} gateway health: {'.'.join(path)} (text in the value label)",
                    f"# TYPE {name} gauge",
                    f'{name}{{value="{_label(value)}"}} 1',
                )
            )

    emit(["up"], 1)
    for key, value in health.items():
        emit([str(key)], value)
    for key, value in (extra or {}).items():
        emit([key], value)
    return "\n".join(lines) + "\n"


def _number(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return str(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(value)

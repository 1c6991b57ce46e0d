"""The pipeline: one meter's bytes in, telegrams screened, then quarter-hours, store, MQTT, live stream.

`Gateway` (gateway.py) is the whole of it and implements `gateway.view.GatewayView` (read_side.py); its
state is in small objects by job: counters and clocks (counters.py), the latest telegram (latest.py), the
store side with closed quarter-hours waiting for it (persistence.py), the live stream (live.py), the
prepayment state and notifications (prepayment.py), health (health.py), the MQTT outbox rule (outbox.py).
"""

from .gateway import Gateway
from .outbox import not_yet_queued
from .prepayment import prepayment_from_telegram

__all__ = ["Gateway", "not_yet_queued", "prepayment_from_telegram"]

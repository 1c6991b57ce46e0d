"""The pipeline: one meter's bytes in, telegrams screened, then quarter-hours, store, MQTT, live stream.

`Gateway` (gateway.py) is the whole of it and implements `gateway.view.GatewayView` (read_side.py); its
state is in small objects by job: counters and clocks (counters.py), the latest telegram (latest.py), the
store side with closed quarter-hours waiting for it (persistence.py), the live stream (live.py), the
prepayment state and notifications (prepayment.py), health (health.py), what it continues from at start
(restore.py) and the MQTT outbox rule (outbox.py).

One task reads the source and handles every telegram in stream order, in the event loop:
1. framing errors are counted by reason and logged once per burst (`BurstLog`);
2. a telegram is screened before anything is published from it: one the parser cannot read, one with a
   number that is not finite (`screening.non_finite`), one whose cumulative register is below what was
   already accepted for its meter id (`screening.RegisterFloor`, kept in the store's checkpoint), or one
   the aggregator rejects (clock or register going backwards, absurd values) is counted under
   `rejected` by kind, logged once per burst, and goes nowhere else: no state, no history, no MQTT. Any
   exception while handling one telegram is such a rejection (`internal_error`): one telegram never stops
   the pipeline. Health reports a source whose telegrams are all being rejected, and a dead pipeline task;
3. an accepted telegram becomes the latest (`LatestTelegram`: its JSON is built lazily, once);
4. the `QuarterHourAggregator` (restored from the store's checkpoint at start) closes quarter-hours; they are
   written to the store WITH the aggregator snapshot in ONE transaction (`PipelineStore`) and only then
   handed to MQTT and the live stream, so a crash can lose the open quarter-hour's telegrams but never a
   closed quarter-hour, and a restart never counts one twice (upserts keyed by meter and start);
5. the `CapacityGuard` (its own aggregator restored from the same snapshot) gives peak events;
6. prepayment state: from the simulator's account (in-process `sim:` with prepayment) or else from the
   telegram's 0-n:19.x lines with the breaker/valve (`gateway.pipeline.prepayment`); published and
   stored when it changes; notifications as events named after `prepayment.NotificationKind`;
7. MQTT (`GatewayPublisher`, non-blocking), downsampled history (the store buckets it per minute), live
   subscribers (`LiveStream`: a slow SSE client loses its oldest items, never slows the pipeline);
8. history retention when the first telegram gives the meter's time, then every `retention_every`.
The meter's timestamp is the time of everything data-related. For live sources the difference with the
system clock is measured and reported (a Pi without RTC may boot with a wrong clock: data stays right).
Meters without a clock (DSMR 2.2) get the system time, flagged in health.
While the asyncio transport keeps buffering the port, the short awaits on the store cannot lose bytes.
"""

from .gateway import Gateway
from .outbox import not_yet_queued
from .prepayment import prepayment_from_telegram

__all__ = ["Gateway", "not_yet_queued", "prepayment_from_telegram"]

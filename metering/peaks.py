"""The capacity-tariff guard: running quarter-hour demand, its projection, month peaks (pure, no clock reads).

Strategy: the guard runs its own `QuarterHourAggregator` over the telegrams (so it needs nothing but
telegrams; time is the meter's clock). For the open quarter-hour it computes, from the import registers:
- `average_kw`: import energy so far / elapsed time (the running average);
- `demand_kw`: import energy so far / 15 min (what e-MUCS 1-0:1.4.0 shows: it rises during the quarter-hour
  and ends at the quarter-hour average);
- `projected_kw`: the quarter-hour average if the current import power (1-0:1.7.0, else the running
  average) lasts until the end: (energy so far + power x remaining) / 15 min.
Closed quarter-hours feed the month peaks (highest quarter-hour average import power per local month, 13
months kept). The meter's own figures (1.4.0, 1.6.0 with its time, the 98.1.0 13-month buffer, whose entry
stamped `YYMM01` holds the previous month) are kept next to ours and the differences reported. Per month the
meter's value wins for billing figures when it sent one (the meter is what the DSO bills), ours otherwise.

Flanders capacity tariff: each month's peak counts at least `minimum_kw` (2.5 kW); the figure is the average
over the last 12 months (the current one included; fewer when fewer are known).

Events (`update()` returns them; deduplicated: at most once per quarter-hour per kind), after
`warn_after_s` of the quarter-hour: `new_month_peak` when the projection exceeds this month's peak (and the
billable minimum), `threshold` when it exceeds the configured `threshold_kw`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Literal, NotRequired, TypedDict

from dsmr_parser import MonthlyPeak, Telegram
from metering.quarter_hours import QUARTER_S, QuarterHour, QuarterHourAggregator

KW = Decimal("0.001")
SNAPSHOT_VERSION = 1


PeakWarningKind = Literal["new_month_peak", "threshold"]


class PeakWarningEvent(TypedDict):
    """The open quarter-hour is projected above the month peak (`new_month_peak`) or the threshold (the
    gateway's `peak_warning` event; it adds `meter_id` and `text`, the sentence as data; the store `id`)."""

    type: Literal["peak_warning"]
    kind: PeakWarningKind
    at: str | None  # the time of the latest reading
    quarter_start: str
    quarter_end: str
    projected_kw: float
    limit_kw: float
    message: str
    text: NotRequired[dict[str, object]]
    meter_id: NotRequired[str | None]
    id: NotRequired[int]


@dataclass(frozen=True, slots=True)
class MonthPeak:
    """The highest quarter-hour average import power of one month (`month` is `YYYY-MM`, local)."""

    month: str
    peak_kw: Decimal
    start: datetime | None  # start of the peak quarter-hour (ours) or the meter's peak time

    def to_json(self) -> dict[str, Any]:
        return {
            "month": self.month,
            "peak_kw": float(self.peak_kw),
            "start": self.start.isoformat() if self.start else None,
        }


def _kw(value: Decimal) -> Decimal:
    return value.quantize(KW)


def _number(telegram: Telegram, code: str, scale_units: Mapping[str, Decimal]) -> Decimal | None:
    found = telegram.values.get(code)
    if found is None or not isinstance(found.value, Decimal | int) or isinstance(found.value, bool):
        return None
    factor = scale_units.get((found.unit or "kW").lower())
    return None if factor is None else Decimal(found.value) * factor


_POWER_UNITS = {"kw": Decimal(1), "w": Decimal("0.001")}


def _month_of_entry(entry: MonthlyPeak) -> str | None:
    """The month an e-MUCS 98.1.0 entry is about: the month before its `YYMM01` capture stamp."""
    if entry.month_start is not None:
        before = entry.month_start - timedelta(days=1)
        return f"{before.year:04d}-{before.month:02d}"
    if entry.peak_time is not None:
        return f"{entry.peak_time.year:04d}-{entry.peak_time.month:02d}"
    return None


def _previous_months(month: str, count: int) -> list[str]:
    year, mon = (int(part) for part in month.split("-"))
    out = []
    for _ in range(count):
        out.append(f"{year:04d}-{mon:02d}")
        year, mon = (year - 1, 12) if mon == 1 else (year, mon - 1)
    return out


class CapacityGuard:
    """Telegrams in, peak warnings out; `state()` is the `/api/v1/peaks` JSON.

    Args:
        tz: the zone of the clock quarter-hours and months.
        threshold_kw: warn when the projection passes this (None: no threshold warning).
        minimum_kw: the capacity tariff's minimum month peak (Flanders: 2.5 kW).
        months_billed: months averaged by the capacity tariff (12).
        warn_after_s: no projection warnings during the first seconds of a quarter-hour (too noisy).
        tariff_labels, max_gap_s: passed to the guard's own `QuarterHourAggregator`.
    """

    def __init__(
        self,
        tz: str = "Europe/Brussels",
        *,
        threshold_kw: Decimal | float | str | None = None,
        minimum_kw: Decimal | float | str = Decimal("2.5"),
        months_billed: int = 12,
        warn_after_s: int = 60,
        tariff_labels: Mapping[int, str] | None = None,
        max_gap_s: int = 15,
    ) -> None:
        self.aggregator = QuarterHourAggregator(tz, tariff_labels=tariff_labels, max_gap_s=max_gap_s)
        self.threshold_kw = None if threshold_kw is None else Decimal(str(threshold_kw))
        self.minimum_kw = Decimal(str(minimum_kw))
        self.months_billed = months_billed
        self.warn_after_s = warn_after_s
        self._peaks: dict[str, MonthPeak] = {}
        self._fired: set[tuple[str, int]] = set()
        self._power_kw: Decimal | None = None
        self._meter_average_kw: Decimal | None = None
        self._meter_month: MonthPeak | None = None
        self._meter_history: dict[str, MonthPeak] = {}

    # -- input -----------------------------------------------------------------------------------------
    def update(self, telegram: Telegram) -> list[PeakWarningEvent]:
        """Feed one telegram; returns the new events (a rejected telegram changes nothing)."""
        added = self.aggregator.add(telegram)
        if added.rejected is not None:
            return []
        for quarter in added:
            self.add_quarter_hour(quarter)
        self._read_meter(telegram)
        return self._check()

    def add_quarter_hour(self, quarter: QuarterHour) -> None:
        """Count a closed quarter-hour in its month's peak."""
        self._add_peak(quarter.start, quarter.avg_import_kw)

    def load(self, records: Iterable[Mapping[str, Any]]) -> None:
        """Seed the month peaks from stored quarter-hour records (`start`, `avg_import_kw`) at startup."""
        for record in records:
            self._add_peak(
                datetime.fromisoformat(str(record["start"])), Decimal(str(record["avg_import_kw"]))
            )

    def _add_peak(self, start: datetime, kw: Decimal) -> None:
        month = f"{start.year:04d}-{start.month:02d}"
        known = self._peaks.get(month)
        if known is None or kw > known.peak_kw:
            self._peaks[month] = MonthPeak(month, _kw(kw), start)
        if len(self._peaks) > 13:
            for old in sorted(self._peaks)[:-13]:
                del self._peaks[old]

    def _read_meter(self, telegram: Telegram) -> None:
        self._power_kw = _number(telegram, "1-0:1.7.0", _POWER_UNITS)
        self._meter_average_kw = _number(telegram, "1-0:1.4.0", _POWER_UNITS)
        month_max = telegram.values.get("1-0:1.6.0")
        value = _number(telegram, "1-0:1.6.0", _POWER_UNITS)
        if month_max is not None and value is not None:
            stamp = month_max.timestamp
            month = f"{stamp.year:04d}-{stamp.month:02d}" if stamp is not None else self._open_month()
            self._meter_month = MonthPeak(month, _kw(value), stamp) if month else None
        buffer = telegram.values.get("0-0:98.1.0")
        if buffer is not None and isinstance(buffer.value, tuple):
            history: dict[str, MonthPeak] = {}
            for entry in buffer.value:
                if not isinstance(entry, MonthlyPeak):
                    continue
                month = _month_of_entry(entry)
                if month is not None:
                    factor = _POWER_UNITS.get((entry.unit or "kW").lower(), Decimal(1))
                    history[month] = MonthPeak(month, _kw(entry.value * factor), entry.peak_time)
            self._meter_history = history

    def _open_month(self) -> str | None:
        current = self.aggregator.current()
        return None if current is None else f"{current.start.year:04d}-{current.start.month:02d}"

    # -- the open quarter-hour -------------------------------------------------------------------------
    def running(self) -> dict[str, Any] | None:
        """The open quarter-hour: elapsed s, import kWh so far, average, demand and projected kW."""
        current = self.aggregator.current()
        if current is None:
            return None
        elapsed = current.duration_s
        remaining = max(QUARTER_S - elapsed, 0)
        energy_kwh = Decimal(current.import_wh) / 1000
        average_kw = current.avg_import_kw
        power_kw = self._power_kw if self._power_kw is not None else average_kw
        demand_kw = _kw(energy_kwh * 3600 / QUARTER_S)
        projected_kw = _kw((energy_kwh * 3600 + power_kw * remaining) / QUARTER_S)
        return {
            "start": current.start.isoformat(),
            "end": current.end.isoformat(),
            "as_of": current.as_of.isoformat() if current.as_of else None,
            "elapsed_s": elapsed,
            "import_kwh": float(_kw(energy_kwh)),
            "average_kw": float(average_kw),
            "demand_kw": float(demand_kw),
            "power_kw": float(_kw(power_kw)),
            "projected_kw": float(projected_kw),
            "estimated": current.estimated,
            "_start_ts": int(current.start.timestamp()),
            "_projected": projected_kw,
            "_demand": demand_kw,
        }

    def _check(self) -> list[PeakWarningEvent]:
        run = self.running()
        if run is None or run["elapsed_s"] < self.warn_after_s:
            return []
        start_ts: int = run["_start_ts"]
        projected: Decimal = run["_projected"]
        self._fired = {key for key in self._fired if key[1] == start_ts}
        events: list[PeakWarningEvent] = []
        month = run["start"][:7]
        peak = self._billing_month_peak(month)
        bar = max(peak, self.minimum_kw)
        if projected > bar and ("new_month_peak", start_ts) not in self._fired:
            self._fired.add(("new_month_peak", start_ts))
            events.append(
                self._event(
                    run, "new_month_peak", bar, f"projected {projected} kW would set a new month peak"
                )
            )
        if (
            self.threshold_kw is not None
            and projected > self.threshold_kw
            and ("threshold", start_ts) not in self._fired
        ):
            self._fired.add(("threshold", start_ts))
            events.append(
                self._event(
                    run,
                    "threshold",
                    self.threshold_kw,
                    f"projected {projected} kW exceeds {self.threshold_kw} kW",
                )
            )
        return events

    @staticmethod
    def _event(
        run: Mapping[str, Any], kind: PeakWarningKind, limit_kw: Decimal, message: str
    ) -> PeakWarningEvent:
        return {
            "type": "peak_warning",
            "kind": kind,
            "at": run["as_of"],
            "quarter_start": run["start"],
            "quarter_end": run["end"],
            "projected_kw": run["projected_kw"],
            "limit_kw": float(limit_kw),
            "message": message,
        }

    # -- month peaks and the capacity tariff -----------------------------------------------------------
    def _meter_peak(self, month: str) -> MonthPeak | None:
        if self._meter_month is not None and self._meter_month.month == month:
            return self._meter_month
        return self._meter_history.get(month)

    def _billing_month_peak(self, month: str) -> Decimal:
        """The month's peak as billed: the meter's when it sent one, else ours (0 when unknown)."""
        peak = self._meter_peak(month) or self._peaks.get(month)
        return peak.peak_kw if peak is not None else Decimal(0)

    def history(self) -> list[dict[str, Any]]:
        """13 months, newest first: our peak, the meter's, the difference, the value used for billing."""
        months = set(self._peaks) | set(self._meter_history)
        if self._meter_month is not None:
            months.add(self._meter_month.month)
        out = []
        for month in sorted(months, reverse=True)[:13]:
            ours = self._peaks.get(month)
            meter = self._meter_peak(month)
            billed = meter if meter is not None else ours
            out.append(
                {
                    "month": month,
                    "peak_kw": float(billed.peak_kw) if billed else None,
                    "source": "meter" if meter is not None else "gateway",
                    "gateway_peak_kw": float(ours.peak_kw) if ours else None,
                    "gateway_peak_start": ours.start.isoformat() if ours and ours.start else None,
                    "meter_peak_kw": float(meter.peak_kw) if meter else None,
                    "meter_peak_time": meter.start.isoformat() if meter and meter.start else None,
                    "difference_kw": float(ours.peak_kw - meter.peak_kw) if ours and meter else None,
                }
            )
        return out

    def capacity_tariff(self, month: str | None = None) -> dict[str, Any]:
        """Flanders: average of the last `months_billed` month peaks, each at least `minimum_kw`."""
        history = {row["month"]: row for row in self.history()}
        month = month or self._open_month() or (max(history) if history else None)
        if month is None:
            return {"average_kw": None, "minimum_kw": float(self.minimum_kw), "months": []}
        counted = []
        for key in _previous_months(month, self.months_billed):
            row = history.get(key)
            if row is None or row["peak_kw"] is None:
                continue
            peak = Decimal(str(row["peak_kw"]))
            counted.append(
                {"month": key, "peak_kw": row["peak_kw"], "billed_kw": float(max(peak, self.minimum_kw))}
            )
        if not counted:
            return {"average_kw": float(self.minimum_kw), "minimum_kw": float(self.minimum_kw), "months": []}
        total = sum((Decimal(str(c["billed_kw"])) for c in counted), Decimal(0))
        return {
            "average_kw": float(_kw(total / len(counted))),
            "minimum_kw": float(self.minimum_kw),
            "months": counted,
        }

    def state(self) -> dict[str, Any]:
        """The `/api/v1/peaks` JSON: the open quarter-hour, this month's peak, 13 months, the tariff figure,
        the meter's own figures and the differences."""
        run = self.running()
        quarter = None if run is None else {k: v for k, v in run.items() if not k.startswith("_")}
        month = run["start"][:7] if run else None
        ours = self._peaks.get(month) if month else None
        meter_month = self._meter_peak(month) if month else None
        differences: dict[str, Any] = {
            "current_average_kw": float(run["_demand"] - self._meter_average_kw)
            if run is not None and self._meter_average_kw is not None
            else None,
            "month_peak_kw": float(ours.peak_kw - meter_month.peak_kw) if ours and meter_month else None,
        }
        return {
            "quarter_hour": quarter,
            "month": {
                "month": month,
                "peak_kw": float(self._billing_month_peak(month)) if month else None,
                "gateway": ours.to_json() if ours else None,
                "meter": meter_month.to_json() if meter_month else None,
            },
            "history": self.history(),
            "capacity_tariff": self.capacity_tariff(month),
            "threshold_kw": float(self.threshold_kw) if self.threshold_kw is not None else None,
            "meter": {
                "current_average_kw": float(self._meter_average_kw)
                if self._meter_average_kw is not None
                else None,
                "month_peak": self._meter_month.to_json() if self._meter_month else None,
                "history": [p.to_json() for _, p in sorted(self._meter_history.items(), reverse=True)],
            },
            "differences": differences,
        }

    # -- persistence -----------------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        """Our month peaks and the aggregator state, JSON-ready."""
        return {
            "version": SNAPSHOT_VERSION,
            "aggregator": self.aggregator.snapshot(),
            "peaks": [p.to_json() for p in self._peaks.values()],
            "fired": [[kind, ts] for kind, ts in sorted(self._fired)],
        }

    def restore(self, snapshot: Mapping[str, Any] | None) -> None:
        """Continue from a `snapshot()` (None: start empty). Raises ValueError on a broken one."""
        if snapshot is None:
            self.aggregator.restore(None)
            self._peaks, self._fired = {}, set()
            return
        if snapshot.get("version") != SNAPSHOT_VERSION:
            raise ValueError(f"unsupported guard snapshot version {snapshot.get('version')!r}")
        try:
            self.aggregator.restore(snapshot["aggregator"])
            self._peaks = {
                p["month"]: MonthPeak(
                    p["month"],
                    Decimal(str(p["peak_kw"])),
                    datetime.fromisoformat(p["start"]) if p["start"] else None,
                )
                for p in snapshot["peaks"]
            }
            self._fired = {(str(kind), int(ts)) for kind, ts in snapshot["fired"]}
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"broken guard snapshot: {exc!r}") from exc

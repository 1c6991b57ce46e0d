"""Seeded, deterministic power profiles: household, heat pump, EV, PV, wind, hospital.

Strategy: every profile is a pure vectorised function of time, `_power(ts) -> watts` over a float array of
Unix seconds. Randomness is counter-based, not stateful: `hash_u01(seed, stream, slot)` (SplitMix64) gives
the same uniform number for the same (seed, appliance, time slot) whatever order or chunking the caller
uses, so `power_w(ts)` at any second and `series_w` over a year agree, and a seed reproduces everything.
Events (a kettle, a washing cycle, an EV session, a cloudy day) are drawn per slot (hour or day) and
tested against each instant. Local time (Europe/Brussels, EU DST rule) is computed vectorised.

`power_w(ts)` is the mean over the second starting at `ts` (evaluated at its middle);
`series_w(start_ts, count, step_s)` averages sub-samples every `min(step_s, 15)` s within each step.
Consumption profiles return positive watts drawn; production profiles (pv, wind) positive watts produced.
Sun position at latitude 50.5 N, longitude 4.5 E (Belgium).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
LATITUDE_DEG = 50.5
LONGITUDE_DEG = 4.5

_MASK64 = np.uint64(0xFFFFFFFFFFFFFFFF)


def _splitmix(x: NDArray[np.uint64]) -> NDArray[np.uint64]:
    x = x + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def hash_u01(seed: int, stream: int, slot: NDArray[np.int64] | int) -> FloatArray:
    """Uniform [0, 1) numbers, a pure function of (seed, stream, slot) — vectorised over `slot`."""
    with np.errstate(over="ignore"):
        base = _splitmix(np.array([(seed * 1_000_003 + stream * 7919) & 0xFFFFFFFFFFFFFFFF], dtype=np.uint64))
        h = _splitmix(np.asarray(slot, dtype=np.int64).astype(np.uint64) ^ base)
    return (h >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def _dst_table() -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Transition instants (UTC s) and the offset in force after each, EU rule, 1970-2200."""
    instants: list[int] = []
    offsets: list[int] = []
    for year in range(1970, 2201):
        for month, offset in ((3, 7200), (10, 3600)):
            last = datetime(year, month, 31, 1, tzinfo=UTC)
            last = last.replace(day=31 - (last.weekday() + 1) % 7)
            instants.append(int(last.timestamp()))
            offsets.append(offset)
    return np.array(instants, dtype=np.int64), np.array(offsets, dtype=np.int64)


_DST_INSTANTS, _DST_OFFSETS = _dst_table()


def local_offset_s(ts: FloatArray | NDArray[np.int64]) -> NDArray[np.int64]:
    """UTC offset of Europe/Brussels (3600 or 7200 s) at each Unix time."""
    idx = np.searchsorted(_DST_INSTANTS, np.asarray(ts), side="right") - 1
    return np.where(idx >= 0, _DST_OFFSETS[np.clip(idx, 0, None)], 3600)


class _Clock:
    """Local-time features of an array of instants, computed once per evaluation."""

    def __init__(self, ts: FloatArray) -> None:
        self.ts = ts
        local = ts + local_offset_s(ts)
        self.local_day = np.floor(local / 86400.0).astype(np.int64)
        self.hour = (local - self.local_day * 86400.0) / 3600.0
        self.weekday = (self.local_day + 3) % 7  # 1970-01-01 was a Thursday (3); Monday = 0
        self.day_of_year = (ts / 86400.0) % 365.2425
        self.day_start_utc = self.local_day * 86400 - (local - ts)  # approx: offset of the instant


def _bump(hour: FloatArray, centre: float, width: float) -> FloatArray:
    d = (hour - centre + 12.0) % 24.0 - 12.0
    return np.exp(-0.5 * (d / width) ** 2)


def _smooth_noise(seed: int, stream: int, ts: FloatArray, period_s: float) -> FloatArray:
    """A deterministic, piecewise-linear noise in [0, 1) with knots every `period_s` seconds."""
    pos = ts / period_s
    k = np.floor(pos).astype(np.int64)
    frac = pos - k
    return hash_u01(seed, stream, k) * (1 - frac) + hash_u01(seed, stream, k + 1) * frac


class PowerProfile:
    """A power profile: mean watts per second, and vectorised series for whole years."""

    def __init__(
        self,
        kind: str,
        seed: int,
        func: Callable[[FloatArray], FloatArray],
        params: dict[str, float] | None = None,
    ) -> None:
        self.kind = kind
        self.seed = seed
        self._func = func
        self.params = dict(params or {})  # what `make_profile` was given (the ground truth reads it)

    def power_w(self, ts: int) -> float:
        """Mean power (W) over the second starting at Unix time `ts` (UTC seconds)."""
        return float(self._func(np.array([ts + 0.5]))[0])

    def block_w(self, start_ts: int, count: int) -> FloatArray:
        """Per-second powers for `count` seconds from `start_ts` (what `power_w` gives, vectorised)."""
        return self._func(start_ts + 0.5 + np.arange(count, dtype=np.float64))

    def series_w(self, start_ts: int, count: int, step_s: int) -> FloatArray:
        """Mean power (W) per step of `step_s` seconds, `count` steps from `start_ts`."""
        if count <= 0:
            return np.zeros(0)
        sub = min(step_s, 15)
        per_step = max(1, step_s // sub)
        out = np.empty(count, dtype=np.float64)
        chunk = max(1, 500_000 // per_step)
        for first in range(0, count, chunk):
            n = min(chunk, count - first)
            t0 = start_ts + first * step_s
            grid = t0 + (np.arange(n * per_step, dtype=np.float64) * sub) + sub / 2.0
            out[first : first + n] = self._func(grid).reshape(n, per_step).mean(axis=1)
        return out


# --- consumption -------------------------------------------------------------------------------------

# (stream, watts, mean duration s, probability per hour by local hour bump centre/width/base)
_APPLIANCES: tuple[tuple[int, float, float, float, float, float, float], ...] = (
    # stream, power_w, duration_s, p_base, p_peak, centre_h, width_h
    (11, 2000.0, 180.0, 0.01, 0.30, 7.5, 1.0),  # kettle, morning
    (12, 2000.0, 150.0, 0.02, 0.25, 19.0, 2.0),  # kettle, evening
    (13, 2500.0, 1800.0, 0.00, 0.25, 18.5, 1.0),  # oven / cooking
    (14, 1800.0, 4500.0, 0.00, 0.06, 10.0, 3.0),  # washing machine
    (15, 2000.0, 3000.0, 0.00, 0.08, 21.0, 1.5),  # dishwasher
    (16, 1200.0, 900.0, 0.00, 0.15, 7.0, 0.7),  # shower pump / hair dryer
    (17, 1200.0, 1200.0, 0.00, 0.04, 14.0, 4.0),  # misc (iron, vacuum)
)


def _appliance_events(seed: int, stream: int, clock: _Clock, spec: tuple[float, ...]) -> FloatArray:
    """Power of one appliance: events drawn per hour slot, painted onto the (sorted) instants."""
    power, duration, p_base, p_peak, centre, width = spec
    ts = clock.ts
    if ts.size == 0:
        return np.zeros_like(ts)
    if ts.size > 1 and not bool(np.all(ts[1:] >= ts[:-1])):
        order = np.argsort(ts, kind="stable")
        out = np.empty_like(ts)
        out[order] = _appliance_events(seed, stream, _Clock(ts[order]), spec)
        return out
    back = math.ceil(2 * duration / 3600.0)
    slot = np.arange(int(ts[0] // 3600) - back, int(ts[-1] // 3600) + 1, dtype=np.int64)
    slot_mid: FloatArray = slot.astype(np.float64) * 3600.0 + 1800.0
    hour = (slot_mid + local_offset_s(slot_mid)) % 86400.0 / 3600.0
    prob = p_base + p_peak * _bump(hour, centre, width)
    occurs = hash_u01(seed, stream * 10 + 0, slot) < prob
    start = slot * 3600.0 + hash_u01(seed, stream * 10 + 1, slot) * 3600.0
    dur = duration * (0.5 + hash_u01(seed, stream * 10 + 2, slot))
    start, stop = start[occurs], (start + dur)[occurs]
    diff = np.zeros(ts.size + 1, dtype=np.int64)
    np.add.at(diff, np.searchsorted(ts, start, side="left"), 1)
    np.add.at(diff, np.searchsorted(ts, stop, side="left"), -1)
    return np.where(np.cumsum(diff[:-1]) > 0, power, 0.0)


def _household(seed: int, *, base_w: float = 140.0, scale: float = 1.0) -> Callable[[FloatArray], FloatArray]:
    def f(ts: FloatArray) -> FloatArray:
        clock = _Clock(ts)
        h = clock.hour
        winter = 0.5 + 0.5 * np.cos(2 * math.pi * (clock.day_of_year - 15.0) / 365.2425)
        shape = (
            base_w
            + 200.0 * _bump(h, 7.5, 1.0)
            + (250.0 + 200.0 * winter) * _bump(h, 19.5, 2.2)
            + 80.0 * _bump(h, 13.0, 3.0)
        )
        fridge_phase = hash_u01(seed, 1, 0)[0] * 3000.0
        fridge = np.where(((ts + fridge_phase) % 3000.0) < 1100.0, 90.0, 0.0)
        appliances = np.zeros_like(ts)
        for stream, *spec in _APPLIANCES:
            appliances = appliances + _appliance_events(seed, stream, clock, tuple(spec))
        jitter = 0.9 + 0.2 * _smooth_noise(seed, 2, ts, 60.0)
        return scale * (shape * jitter + fridge + appliances)

    return f


def _outdoor_temp_c(seed: int, clock: _Clock) -> FloatArray:
    season = 10.5 - 7.5 * np.cos(2 * math.pi * (clock.day_of_year - 20.0) / 365.2425)
    daily = 3.5 * np.cos(2 * math.pi * (clock.hour - 15.0) / 24.0)
    weather = 6.0 * (_smooth_noise(seed, 31, clock.ts, 3 * 86400.0) - 0.5)
    return season + daily + weather


def _heat_pump(
    seed: int, *, rated_w: float = 3000.0, heat_loss_w_per_k: float = 180.0
) -> Callable[[FloatArray], FloatArray]:
    def f(ts: FloatArray) -> FloatArray:
        clock = _Clock(ts)
        t_out = _outdoor_temp_c(seed, clock)
        demand_w = np.clip(18.0 - t_out, 0.0, None) * heat_loss_w_per_k
        cop = np.clip(2.0 + 0.1 * (t_out + 7.0), 2.0, 5.0)
        electric = np.minimum(demand_w / cop, rated_w)
        # below 25 % of rated it cycles on/off (20-minute cycles) instead of modulating
        low = electric < 0.25 * rated_w
        duty = electric / (0.25 * rated_w)
        on = ((ts % 1200.0) / 1200.0) < duty
        electric = np.where(low, np.where(on, 0.25 * rated_w, 0.0), electric)
        dhw = np.where(_bump(clock.hour, 6.5, 0.35) > 0.6, 1800.0, 0.0)  # hot-water boost at dawn
        standby = 15.0
        return electric + dhw + standby

    return f


def _ev(
    seed: int, *, charger_w: float = 7400.0, probability: float = 0.6, mean_kwh: float = 14.0
) -> Callable[[FloatArray], FloatArray]:
    def f(ts: FloatArray) -> FloatArray:
        clock = _Clock(ts)
        out = np.zeros_like(ts)
        for lag in (0, 1):
            day = clock.local_day - lag
            weekend = ((day + 3) % 7) >= 5
            p = np.where(weekend, probability * 0.5, probability)
            occurs = hash_u01(seed, 41, day) < p
            arrive_h = np.where(weekend, 11.0, 17.0) + hash_u01(seed, 42, day) * 4.0
            energy_wh = mean_kwh * 1000.0 * (0.3 + 1.4 * hash_u01(seed, 43, day))
            start = day * 86400.0 - 3600.0 + arrive_h * 3600.0  # local day start ~ UTC-1h (winter)
            dur = energy_wh / charger_w * 3600.0
            active = occurs & (ts >= start) & (ts < start + dur)
            out = np.where(active, charger_w, out)
        return out

    return f


def _hospital(seed: int, *, peak_kw: float = 900.0) -> Callable[[FloatArray], FloatArray]:
    def f(ts: FloatArray) -> FloatArray:
        clock = _Clock(ts)
        weekday = clock.weekday < 5
        base = 0.45
        day_activity = np.where(weekday, 0.35, 0.15) * np.clip(_bump(clock.hour, 13.0, 3.5) * 1.3, 0, 1)
        t_out = _outdoor_temp_c(seed, clock)
        hvac = 0.012 * np.abs(t_out - 16.0)
        noise = 0.05 * (_smooth_noise(seed, 51, ts, 300.0) - 0.5)
        return peak_kw * 1000.0 * np.clip(base + day_activity + hvac + noise, 0.2, 1.0)

    return f


# --- production --------------------------------------------------------------------------------------


def sun_elevation_sin(ts: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """(sin elevation, cos azimuth-from-south component, declination) of the sun at 50.5 N, 4.5 E."""
    day = (ts / 86400.0) % 365.2425
    decl = np.radians(23.44) * np.sin(2 * math.pi * (day - 80.0) / 365.2425)
    solar_h = (ts % 86400.0) / 3600.0 + LONGITUDE_DEG / 15.0
    hour_angle = np.radians(15.0 * (solar_h - 12.0))
    lat = math.radians(LATITUDE_DEG)
    sin_el = math.sin(lat) * np.sin(decl) + math.cos(lat) * np.cos(decl) * np.cos(hour_angle)
    return sin_el, hour_angle, decl


def _pv(
    seed: int, *, kwp: float = 4.0, tilt_deg: float = 35.0, inverter_kw: float | None = None
) -> Callable[[FloatArray], FloatArray]:
    lat = math.radians(LATITUDE_DEG)
    tilt = math.radians(tilt_deg)
    limit_w = (inverter_kw if inverter_kw is not None else kwp * 0.95) * 1000.0

    def f(ts: FloatArray) -> FloatArray:
        sin_el, hour_angle, decl = sun_elevation_sin(ts)
        up = sin_el > 0.01
        # south-facing plane: incidence as for a horizontal plane at latitude (lat - tilt)
        cos_inc = math.sin(lat - tilt) * np.sin(decl) + math.cos(lat - tilt) * np.cos(decl) * np.cos(
            hour_angle
        )
        air_mass = 1.0 / np.clip(sin_el, 0.05, None)
        beam = 1000.0 * 0.7 ** (air_mass**0.678)
        diffuse = 0.12 * beam * np.clip(sin_el, 0, None) + 30.0 * np.clip(sin_el, 0, None)
        poa = beam * np.clip(cos_inc, 0, None) + diffuse
        local_day = np.floor((ts + local_offset_s(ts)) / 86400.0).astype(np.int64)
        day_u = hash_u01(seed, 61, local_day)
        # 30 % of days overcast (15-35 %), 30 % broken (40-90 % fluctuating), 40 % clear
        overcast = 0.15 + 0.2 * hash_u01(seed, 62, local_day)
        broken = 0.4 + 0.5 * _smooth_noise(seed, 63, ts, 240.0)
        clear = 0.97 + 0.03 * _smooth_noise(seed, 64, ts, 600.0)
        cloud = np.where(day_u < 0.3, overcast, np.where(day_u < 0.6, broken, clear))
        power = kwp * poa * 0.86 * cloud
        return np.where(up, np.minimum(power, limit_w), 0.0)

    return f


def _wind(seed: int, *, rated_kw: float = 2000.0) -> Callable[[FloatArray], FloatArray]:
    def f(ts: FloatArray) -> FloatArray:
        day = (ts / 86400.0) % 365.2425
        season = 1.0 + 0.25 * np.cos(2 * math.pi * (day - 15.0) / 365.2425)
        # Weibull(k=2) by inverse transform of a slowly varying uniform, mean ~6.5 m/s at hub height
        u = np.clip(_smooth_noise(seed, 71, ts, 3 * 3600.0), 1e-6, 1 - 1e-6)
        gust = 1.0 + 0.08 * (_smooth_noise(seed, 72, ts, 20.0) - 0.5)
        speed = 7.3 * np.sqrt(-np.log(1.0 - u)) * season * gust
        cut_in, rated_speed, cut_out = 3.0, 12.0, 25.0
        frac = np.clip((speed**3 - cut_in**3) / (rated_speed**3 - cut_in**3), 0.0, 1.0)
        frac = np.where((speed < cut_in) | (speed > cut_out), 0.0, frac)
        return rated_kw * 1000.0 * frac

    return f


def _gas_heating(
    seed: int, *, heat_loss_w_per_k: float = 200.0, boiler_w: float = 24000.0
) -> Callable[[FloatArray], FloatArray]:
    """Gas burned (W of fuel, positive) by a boiler: space heating, hot water at dawn and dusk, cooking."""

    def f(ts: FloatArray) -> FloatArray:
        clock = _Clock(ts)
        t_out = _outdoor_temp_c(seed, clock)
        night_setback = np.where((clock.hour >= 22.5) | (clock.hour < 6.0), 0.4, 1.0)
        heating = np.clip(18.0 - t_out, 0.0, None) * heat_loss_w_per_k * night_setback / 0.92
        # modulating boiler: below 20 % of its power it cycles (10-minute cycles)
        low = heating < 0.2 * boiler_w
        on = ((ts % 600.0) / 600.0) < heating / (0.2 * boiler_w)
        heating = np.where(low, np.where(on, 0.2 * boiler_w, 0.0), np.minimum(heating, boiler_w))
        showers = _appliance_events(seed, 81, clock, (boiler_w, 480.0, 0.0, 0.5, 7.0, 0.8))
        cooking = _appliance_events(seed, 82, clock, (2500.0, 1500.0, 0.0, 0.3, 18.7, 0.8))
        return np.maximum(heating, showers) + cooking

    return f


_FACTORIES: dict[str, Callable[..., Callable[[FloatArray], FloatArray]]] = {
    "household": _household,
    "heat_pump": _heat_pump,
    "ev": _ev,
    "pv": _pv,
    "wind": _wind,
    "hospital": _hospital,
    "gas_heating": _gas_heating,
}
PROFILE_KINDS = tuple(_FACTORIES)
PRODUCTION_KINDS = frozenset({"pv", "wind"})


def make_profile(kind: str, *, seed: int, **params: float) -> PowerProfile:
    """A deterministic profile. Params: household `base_w`, `scale`; heat_pump `rated_w`,
    `heat_loss_w_per_k`; ev `charger_w`, `probability`, `mean_kwh`; pv `kwp`, `tilt_deg`, `inverter_kw`;
    wind `rated_kw`; hospital `peak_kw`; gas_heating (fuel watts) `heat_loss_w_per_k`, `boiler_w`."""
    try:
        factory = _FACTORIES[kind]
    except KeyError:
        raise ValueError(f"unknown profile kind {kind!r}; known: {', '.join(PROFILE_KINDS)}") from None
    return PowerProfile(kind, seed, factory(seed, **params), params)

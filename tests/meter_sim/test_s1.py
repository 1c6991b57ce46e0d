"""S1 frames: construct layout, FCS, decoder resync, per-second RMS, power and THD vs the truth."""

from __future__ import annotations

import math
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from dsmr_parser.s1 import (
    S1_FRAME,
    S1Accumulator,
    S1Decoder,
    S1Error,
    S1Sample,
    build_frame,
    fcs16,
    parse_frame,
)
from meter_sim import Meter
from meter_sim.s1 import S1Generator

BXL = ZoneInfo("Europe/Brussels")


def test_frame_layout_and_construct_round_trip() -> None:
    frame = build_frame(
        meter_id="1SAG1100000292",
        sequence=15,
        frequency_mhz=50107,
        sampling=52,
        voltages_lsb=(2837, -1, 0),
        currents_lsb=(1530, -70000, 0),
    )
    assert len(frame) == 45 and frame[:5] == bytes.fromhex("7E802BFF03") and frame[-1] == 0x7E
    assert frame[19] == 0x0A | 0x05 and frame[20] == 0x34 and frame[21:23] == bytes.fromhex("C3BB")
    assert int.from_bytes(frame[42:44], "little") == fcs16(frame[1:42])
    s = parse_frame(frame)
    assert s.voltages_v[0] == pytest.approx(70.925) and s.currents_a[1] == pytest.approx(-70.0)
    assert S1_FRAME.build(S1_FRAME.parse(frame)) == frame
    with pytest.raises(ValueError, match="FCS"):
        parse_frame(frame[:30] + bytes([frame[30] ^ 1]) + frame[31:])


@pytest.mark.parametrize(
    ("kind", "when"),
    [("be-3ph", datetime(2026, 6, 1, 13, tzinfo=BXL)), ("be-1ph", datetime(2026, 1, 8, 19, tzinfo=BXL))],
)
def test_generator_decoded_within_one_percent(kind: str, when: datetime) -> None:
    meter = Meter(kind, seed=2, start=when)
    meter.set_extra_load(4.5, 60)
    gen, dec, acc = S1Generator(meter), S1Decoder(), S1Accumulator()
    for _ in range(2):
        data = gen.second()
        assert len(data) % 45 == 0
        # generator packing equals the declarative construct definition
        assert S1_FRAME.build(S1_FRAME.parse(data[:45])) == data[:45]
        results = []
        for i in range(0, len(data), 997):  # arbitrary chunking
            for ev in dec.feed(data[i : i + 997]):
                assert isinstance(ev, S1Sample), ev
                r = acc.add(ev)
                if r is not None:
                    results.append(r)
        assert len(results) == 1
        r, truth = results[0], gen.last
        assert truth is not None and r.samples == truth.samples
        for ph in range(meter.phases):
            assert r.voltage_rms_v[ph] == pytest.approx(truth.voltage_rms_v[ph], rel=0.01)
            assert r.current_rms_a[ph] == pytest.approx(truth.current_rms_a[ph], rel=0.01)
            assert r.power_w[ph] == pytest.approx(truth.power_w[ph], rel=0.01, abs=2.0)
            assert r.current_thd[ph] == pytest.approx(math.hypot(0.15, 0.08), rel=0.02)
        assert r.frequency_hz == pytest.approx(truth.frequency_hz)
        assert sum(r.power_w) == pytest.approx(sum(truth.power_w), rel=0.01)


def test_decoder_resyncs_on_junk_bad_fcs_and_reports_lost_frames() -> None:
    gen = S1Generator(Meter("be-3ph", seed=1, start=datetime(2026, 6, 1, 12, tzinfo=BXL)))
    data = gen.second()[: 45 * 6]
    broken = bytearray(data)
    broken[45 * 2 + 20] ^= 0xFF  # frame 2: bad FCS
    stream = b"\x7e\x00junk\x7e" + bytes(broken[: 45 * 4]) + bytes(broken[45 * 5 :])  # frame 4 lost
    events = S1Decoder().feed(stream)
    samples = [e for e in events if isinstance(e, S1Sample)]
    errors = [e for e in events if isinstance(e, S1Error)]
    assert len(samples) == 4
    reasons = [e.reason for e in errors]
    assert "junk" in reasons and "fcs" in reasons and "lost_frames" in reasons
    assert [e.count for e in errors if e.reason == "lost_frames"] == [1, 1]  # frame 2 (bad) and 4 (cut)

"""Cross-check: every simulated telegram is accepted by our parser AND the independent `dsmr-parser` package.

Runs the reference in its own venv (.bench-venv at the project root, created here if missing: its import name
`dsmr_parser` collides with ours, so it runs as a separate process from /tmp in isolated mode), CRC check on.
Prints per meter type: telegrams checked, accepted by both, and values that differ (compared by name for the
registers, powers, voltages, currents, tariff, capacity and gas). Exit status 1 if anything disagrees.

    .venv/bin/python bench/crosscheck_reference.py [--count 300] [--every 37]
"""

from __future__ import annotations

import argparse
import base64
import json
import subprocess
import sys
import tempfile
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._reference_venv import reference_python  # noqa: E402
from dsmr_parser import Telegram, TelegramReader  # noqa: E402
from meter_sim import Simulation  # noqa: E402

SPEC = {"be-1ph": "BELGIUM_FLUVIUS", "be-3ph": "BELGIUM_FLUVIUS", "nl-dsmr5": "V5", "dsmr22": "V2_2"}
NAMES = {
    "1-0:1.8.1": "ELECTRICITY_USED_TARIFF_1",
    "1-0:1.8.2": "ELECTRICITY_USED_TARIFF_2",
    "1-0:2.8.1": "ELECTRICITY_DELIVERED_TARIFF_1",
    "1-0:2.8.2": "ELECTRICITY_DELIVERED_TARIFF_2",
    "0-0:96.14.0": "ELECTRICITY_ACTIVE_TARIFF",
    "1-0:1.7.0": "CURRENT_ELECTRICITY_USAGE",
    "1-0:2.7.0": "CURRENT_ELECTRICITY_DELIVERY",
    "1-0:32.7.0": "INSTANTANEOUS_VOLTAGE_L1",
    "1-0:52.7.0": "INSTANTANEOUS_VOLTAGE_L2",
    "1-0:72.7.0": "INSTANTANEOUS_VOLTAGE_L3",
    "1-0:31.7.0": "INSTANTANEOUS_CURRENT_L1",
    "1-0:51.7.0": "INSTANTANEOUS_CURRENT_L2",
    "1-0:71.7.0": "INSTANTANEOUS_CURRENT_L3",
    "1-0:21.7.0": "INSTANTANEOUS_ACTIVE_POWER_L1_POSITIVE",
    "1-0:22.7.0": "INSTANTANEOUS_ACTIVE_POWER_L1_NEGATIVE",
    "1-0:1.4.0": "BELGIUM_CURRENT_AVERAGE_DEMAND",
    "1-0:1.6.0": "BELGIUM_MAXIMUM_DEMAND_MONTH",
    "0-1:24.2.3": "BELGIUM_MBUS1_METER_READING2",
    "0-1:24.2.1": "HOURLY_GAS_METER_READING",
    "0-1:24.3.0": "GAS_METER_READING",
}

HELPER = r"""
import base64, json, sys
from dsmr_parser import telegram_specifications as ts
from dsmr_parser.parsers import TelegramParser
out = []
for line in sys.stdin:
    job = json.loads(line)
    parser = TelegramParser(getattr(ts, job["spec"]), apply_checksum_validation=job["crc"])
    text = base64.b64decode(job["data"]).decode("ascii")
    try:
        tg = parser.parse(text, throw_ex=True)
    except Exception as exc:
        out.append({"ok": False, "error": f"{type(exc).__name__}: {exc}"})
        continue
    values = {}
    for name in dir(tg):
        if name.isupper():
            obj = getattr(tg, name)
            v = getattr(obj, "value", None)
            if v is not None and not isinstance(v, list):
                values[name] = str(v)
    out.append({"ok": True, "values": values})
print(json.dumps(out))
"""


def ensure_venv() -> Path | None:
    try:
        return reference_python()
    except (subprocess.CalledProcessError, OSError):
        return None


def reference_parse(python: Path, jobs: list[dict[str, object]]) -> list[dict[str, object]]:
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "ref_helper.py"
        script.write_text(HELPER)
        proc = subprocess.run(
            [str(python), "-I", str(script)],
            input="".join(json.dumps(j) + "\n" for j in jobs),
            capture_output=True,
            text=True,
            cwd=tmp,
            check=True,
        )
    result: list[dict[str, object]] = json.loads(proc.stdout)
    return result


def _same(ours: object, theirs: str) -> bool:
    try:
        return Decimal(str(ours)) == Decimal(theirs)
    except ArithmeticError:
        return str(ours) == theirs


def crosscheck(kind: str, count: int, every: int, python: Path, seed: int = 1) -> dict[str, int]:
    start = datetime(2026, 3, 28, 22, 0, tzinfo=ZoneInfo("Europe/Brussels"))
    frames = [f for _, f in Simulation(kind, seed, start, every=every, count=count)]
    crc = kind != "dsmr22"
    jobs = [{"spec": SPEC[kind], "crc": crc, "data": base64.b64encode(f).decode()} for f in frames]
    theirs = reference_parse(python, jobs)
    ours_ok = both = mismatches = compared = 0
    for frame, ref in zip(frames, theirs, strict=True):
        events = TelegramReader().feed(frame)
        ok = (
            len(events) == 1
            and isinstance(events[0], Telegram)
            and events[0].crc == ("ok" if crc else "absent")
        )
        tg = events[0] if ok and isinstance(events[0], Telegram) else None
        ours_ok += ok
        if tg is not None and ok and ref["ok"]:
            both += 1
            ref_values = ref["values"]
            assert isinstance(ref_values, dict)
            for code, name in NAMES.items():
                if code in tg.values and name in ref_values:
                    compared += 1
                    if not _same(tg.values[code].value, ref_values[name]):
                        mismatches += 1
                        print(f"  {kind} {code}: ours {tg.values[code].value} reference {ref_values[name]}")
        elif not ref["ok"]:
            print(f"  {kind}: reference rejected a telegram: {ref.get('error')}")
    return {
        "checked": len(frames),
        "ours": ours_ok,
        "both": both,
        "compared": compared,
        "mismatches": mismatches,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=300)
    ap.add_argument("--every", type=int, default=37, help="simulated seconds between checked telegrams")
    ap.add_argument("--meters", default=",".join(SPEC))
    args = ap.parse_args(argv)
    python = ensure_venv()
    if python is None:
        print("reference venv unavailable (offline?): cannot run dsmr-parser", file=sys.stderr)
        return 3
    bad = False
    print(f"{'meter':10} {'checked':>8} {'ours':>6} {'both':>6} {'values':>7} {'mismatching':>11}")
    for kind in args.meters.split(","):
        r = crosscheck(kind, args.count, args.every, python)
        print(
            f"{kind:10} {r['checked']:8d} {r['ours']:6d} {r['both']:6d} "
            f"{r['compared']:7d} {r['mismatches']:11d}"
        )
        bad |= r["both"] != r["checked"] or r["mismatches"] > 0
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

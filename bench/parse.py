"""Parser benchmark: this project's TelegramReader vs the PyPI `dsmr-parser` in the same run.

Both do the same work: frame a byte stream, validate CRC-16, convert every value. Times are the process's
CPU time (`time.process_time`), best of three, so other work on a shared machine does not skew the ratio.
Streams are distinct telegrams (time, power, voltages, currents, registers change every second). The
reference runs in its own venv (.bench-venv; created here when missing): its import name collides with ours.

Ours is measured twice: as installs get it (the hot modules compiled with mypyc by setup.py; built here into
.bench-compiled from the current source) and as the development venv runs it (the same source, interpreted).

`p1gw parse` is also measured as users meet it, the whole process (interpreter start, imports, framing,
parsing and the JSON Lines it prints), against a whole `dsmr-parser` process parsing the same file; its output
must be byte-identical compiled and interpreted.

    .venv/bin/python bench/parse.py            # Belgian and DSMR 5 streams, ratios, memory over 1M telegrams
    .venv/bin/python bench/parse.py --quick    # smaller streams, no million-telegram run
    .venv/bin/python bench/parse.py --cli      # only `p1gw parse`, whole process, 5,000 Belgian telegrams
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._ours_parse import run as parse_stream  # noqa: E402
from bench._reference_venv import VENV as REFERENCE_VENV  # noqa: E402
from bench._reference_venv import reference_python  # noqa: E402
from bench.telegram_streams import belgian, dsmr5  # noqa: E402
from dsmr_parser import Telegram, TelegramReader  # noqa: E402

COMPILED = ROOT / ".bench-compiled"
HOT_MODULES = ("decoding", "framing", "jsontext", "parser", "reader", "timestamps")


def compiled_site() -> Path:
    """The project built as a wheel with its mypyc-compiled modules, unpacked into .bench-compiled/site
    (rebuilt when a hot module's source is newer than the build)."""
    site = COMPILED / "site"
    stamp = COMPILED / "built"
    sources = [ROOT / "dsmr_parser" / f"{name}.py" for name in HOT_MODULES]
    if stamp.exists() and all(src.stat().st_mtime < stamp.stat().st_mtime for src in sources):
        return site
    subprocess.run(["rm", "-rf", str(COMPILED)], check=True)
    wheels = COMPILED / "wheels"
    env = {**os.environ, "P1GW_COMPILE": "1"}
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    subprocess.run([*pip, "wheel", "--quiet", "--no-deps", "-w", str(wheels), str(ROOT)], check=True, env=env)
    wheel = next(wheels.glob("p1_gateway-*.whl"))
    subprocess.run([*pip, "install", "--quiet", "--no-deps", "--target", str(site), str(wheel)], check=True)
    stamp.touch()
    return site


def ours_subprocess(path: Path, site: Path | None) -> dict[str, Any]:
    """Our parser in a child process: the compiled build (`site`) or the development source (None)."""
    env = {**os.environ, "PYTHONPATH": str(site)} if site else dict(os.environ)
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "_ours_parse.py"), str(path), "--time"],
        check=True,
        capture_output=True,
        text=True,
        cwd=tempfile.gettempdir(),
        env=env,
    )
    result: dict[str, Any] = json.loads(out.stdout)
    compiled = result["module"].endswith(".so")
    if compiled != (site is not None):
        raise RuntimeError(f"expected the {'compiled' if site else 'source'} parser, ran {result['module']}")
    return result


def reference(path: Path, spec: str) -> dict[str, float]:
    out = subprocess.run(
        [str(reference_python()), str(ROOT / "bench" / "_reference_parse.py"), str(path), spec],
        check=True,
        capture_output=True,
        text=True,
        cwd=tempfile.gettempdir(),  # keep our dsmr_parser off the reference's sys.path
    )
    result: dict[str, float] = json.loads(out.stdout)  # {"count", "seconds", "check"}: numbers
    return result


def child_cpu(command: list[str], env: dict[str, str] | None = None, out: Path | None = None) -> float:
    """CPU seconds (user + system) of one whole child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(out or os.devnull, "wb") as sink:
        subprocess.run(
            command, check=True, stdout=sink, stderr=subprocess.DEVNULL, cwd=tempfile.gettempdir(), env=env
        )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def whole_process(site: Path, count: int = 5_000) -> None:
    """`p1gw parse FILE > out.jsonl` vs a whole dsmr-parser process on the same distinct Belgian telegrams
    (CPU time, best of three); the JSON must be identical compiled and interpreted."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "belgian.p1"
        path.write_bytes(b"".join(belgian(count)))
        script = str(ROOT / "bench" / "_reference_parse.py")
        ref = min(
            child_cpu([str(reference_python()), script, str(path), "BELGIUM_FLUVIUS"]) for _ in range(3)
        )
        print(
            f"\np1gw parse, whole process, {count:,} distinct Belgian telegrams -> JSON Lines, CPU best of 3"
        )
        print(f"  dsmr-parser (parsing only)  {ref:6.3f} s")
        outputs: dict[str, bytes] = {}
        for name, where in (("compiled (mypyc wheel)", site), ("interpreted (source)", None)):
            env = {**os.environ, "PYTHONPATH": str(where)} if where else dict(os.environ)
            out = Path(tmp) / f"{len(outputs)}.jsonl"
            command = [sys.executable, "-m", "gateway.cli", "parse", str(path)]
            ours = min(child_cpu(command, env, out) for _ in range(3))
            outputs[name] = out.read_bytes()
            print(f"  p1gw parse, {name:24s} {ours:6.3f} s   ratio {ref / ours:5.1f}x")
        first, *others = outputs.values()
        assert all(other == first for other in others), "compiled and interpreted JSON differ"
        assert first.count(b"\n") == count
        print(f"  JSON identical compiled and interpreted ({len(first):,} bytes)")


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def memory_over_a_million(pool: list[bytes]) -> None:
    reader = TelegramReader()
    blob = b"".join(pool)
    passes = 1_000_000 // len(pool)
    seen = 0
    marks = []
    start = time.process_time()
    for p in range(passes):
        for i in range(0, len(blob), 4096):
            seen += sum(1 for e in reader.feed(blob[i : i + 4096]) if isinstance(e, Telegram))
        if p in (passes // 10, passes // 2, passes - 1):
            marks.append((seen, rss_mb()))
    elapsed = time.process_time() - start
    print(f"\nstreaming {seen:,} telegrams: {seen / elapsed:,.0f}/s; max RSS at each mark:")
    for count, mb in marks:
        print(f"  after {count:>9,} telegrams: {mb:6.1f} MB")
    print(f"  framer buffer at the end: {reader.framer.buffered} bytes")


def instructions(python: Path, script: str, args: list[str], cwd: str, site: Path | None = None) -> int:
    """Instructions executed by one run under valgrind's callgrind (independent of machine load)."""
    out = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", str(python), script, *args],
        check=True,
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(site)} if site else None,
    )
    for line in out.stderr.splitlines():
        if "Collected :" in line:
            return int(line.split(":")[-1])
    raise RuntimeError(out.stderr[-500:])


def instruction_ratio(label: str, telegrams: list[bytes], spec: str, n: int, site: Path) -> None:
    """Instructions per telegram for both parsers: runs of n and 2n telegrams, the difference / n."""
    paths = []
    for count in (n, 2 * n):
        with tempfile.NamedTemporaryFile(suffix=".p1", delete=False) as f:
            f.write(b"".join(telegrams[:count]))
            paths.append(f.name)
    tmp = tempfile.gettempdir()
    ours_script = str(ROOT / "bench" / "_ours_parse.py")
    ref_script = str(ROOT / "bench" / "_reference_parse.py")
    ref_i = [instructions(reference_python(), ref_script, [p, spec], tmp) for p in paths]
    per_ref = (ref_i[1] - ref_i[0]) / n
    print(f"{label}: dsmr-parser {per_ref:12,.0f} instructions/telegram")
    for name, where in (("compiled (mypyc wheel)", site), ("interpreted (source)", None)):
        ours_i = [instructions(Path(sys.executable), ours_script, [p], tmp, where) for p in paths]
        per_ours = (ours_i[1] - ours_i[0]) / n
        print(
            f"  ours, {name:24s} {per_ours:10,.0f} instructions/telegram   ratio {per_ref / per_ours:5.1f}x"
        )
    for p in paths:
        Path(p).unlink()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--cli", action="store_true", help="only `p1gw parse`, whole process")
    parser.add_argument(
        "--instructions",
        action="store_true",
        help="also count instructions per telegram under valgrind (load-independent; slow)",
    )
    args = parser.parse_args()
    n_ours, n_ref = (5_000, 1_000) if args.quick else (30_000, 3_000)
    print(f"python {sys.version.split()[0]}; reference: PyPI dsmr-parser in {REFERENCE_VENV.name}")
    site = compiled_site()
    if args.cli:
        whole_process(site)
        return 0
    pools = {}
    for label, make, spec in (
        ("Belgian e-MUCS 1.7.1", belgian, "BELGIUM_FLUVIUS"),
        ("DSMR 5.0.2", dsmr5, "V5"),
    ):
        telegrams = make(n_ours)
        pools[label] = telegrams
        paths = []
        for count in (n_ours, n_ref):
            with tempfile.NamedTemporaryFile(suffix=".p1", delete=False) as f:
                f.write(b"".join(telegrams[:count]))
                paths.append(Path(f.name))
        ref = min((reference(paths[1], spec) for _ in range(3)), key=lambda r: r["seconds"])
        runs = {
            "compiled (mypyc wheel)": ours_subprocess(paths[0], site),
            "interpreted (source)": ours_subprocess(paths[0], None),
        }
        _, _, check_ours = parse_stream(b"".join(telegrams[:n_ref]))
        for path in paths:
            path.unlink()
        assert ref["count"] == n_ref, ref
        assert abs(ref["check"] - float(check_ours)) < 1e-6, (ref["check"], check_ours)
        ref_rate = ref["count"] / ref["seconds"]
        print(f"{label}: dsmr-parser {ref_rate:8,.0f} telegrams/s ({1e6 / ref_rate:7.1f} us)")
        checks = {run["check"] for run in runs.values()}
        assert len(checks) == 1, runs  # compiled and source convert the same values
        for name, run in runs.items():
            assert run["count"] == n_ours, run
            rate = run["count"] / run["seconds"]
            print(
                f"  ours, {name:24s} {rate:10,.0f} telegrams/s ({1e6 / rate:6.1f} us)   "
                f"ratio {rate / ref_rate:5.1f}x"
            )
    if args.instructions:
        print("\ninstructions (valgrind callgrind; runs of 200 and 400 telegrams, the difference / 200):")
        instruction_ratio("Belgian e-MUCS 1.7.1", pools["Belgian e-MUCS 1.7.1"], "BELGIUM_FLUVIUS", 200, site)
        instruction_ratio("DSMR 5.0.2", pools["DSMR 5.0.2"], "V5", 200, site)
    whole_process(site)
    if not args.quick:
        memory_over_a_million(pools["Belgian e-MUCS 1.7.1"][:20_000])
    return 0


if __name__ == "__main__":
    sys.exit(main())

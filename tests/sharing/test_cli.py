"""`p1gw share` end to end on a synthetic community: files, their consistency, errors, sizing."""

from __future__ import annotations

import csv
import json
import os
import re
import resource
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from gateway.cli import main
from sharing import synthetic
from sharing.clock import Grid, parse_start


@pytest.fixture(scope="module")
def community_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("community")
    comm = synthetic.community(6)
    grid = Grid(parse_start("2026-01-31T00:00:00+01:00"), 96 * 3)  # spans two months
    data = synthetic.generate(comm, grid, seed=3)
    synthetic.write_members_csv(folder / "members.csv", comm)
    synthetic.write_data_csv(folder / "data.csv", comm, data)
    return folder / "members.csv", folder / "data.csv"


def wh(text: str) -> int:
    whole, _, frac = text.partition(".")
    return int(whole) * 1000 + int(frac)


def test_share_writes_consistent_outputs(
    community_files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    members, data = community_files
    out = tmp_path / "out"
    code = main(["share", "--members", str(members), "--data", str(data), "--key",
                 "fluvius-optimal", "--out", str(out), "--peaks", "50"])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    with (out / "allocation.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["start", "ean", "consumption_kwh", "injection_kwh", "shared_kwh",
                             "residual_kwh", "surplus_kwh"]  # fmt: skip
    assert len(rows) == 96 * 3 * 8
    for r in rows:
        assert wh(r["shared_kwh"]) + wh(r["residual_kwh"]) == wh(r["consumption_kwh"])
        assert 0 <= wh(r["surplus_kwh"]) <= wh(r["injection_kwh"])
    kpis = json.loads((out / "kpis.json").read_text())
    shared = sum(wh(r["shared_kwh"]) for r in rows)
    injected = sum(wh(r["injection_kwh"]) for r in rows)
    surplus = sum(wh(r["surplus_kwh"]) for r in rows)
    assert round(kpis["total"]["shared_kwh"] * 1000) == shared
    assert shared + surplus == injected
    assert [m["month"] for m in kpis["months"]] == ["2026-01", "2026-02"]
    assert kpis["peaks"]["n"] == 50 and kpis["peaks"]["kth_monthly_peak"] == 11
    assert sum(m["real_key_pct"] or 0 for m in kpis["members"]) == pytest.approx(100, abs=0.01)
    report = (out / "report.html").read_text()
    assert report.count("<section>") == 2 and "<svg" in report and "<script" not in report
    assert (out / "members" / f"{rows[0]['ean']}.csv").exists()
    monthly = list(csv.DictReader((out / "community_monthly.csv").open()))
    assert sum(wh(m["shared_kwh"]) for m in monthly) == shared
    assert "self-consumption" in capsys.readouterr().out


def test_period_selection_and_sizing(
    community_files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    members, data = community_files
    out = tmp_path / "size"
    code = main(["share", "--members", str(members), "--data", str(data), "--key", "dynamic",
                 "--from", "2026-02-01", "--to", "2026-02-02", "--out", str(out), "--no-report",
                 "--size-pv", "0,100", "--size-wind", "0,50", "--size-keys", "dynamic,fixed"])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    kpis = json.loads((out / "kpis.json").read_text())
    assert kpis["quarter_hours"] == 96 and kpis["from"] == "2026-02-01T00:00:00+01:00"
    sizing = list(csv.DictReader((out / "sizing.csv").open()))
    assert len(sizing) == 2 * 2 * 2
    dyn = [r for r in sizing if r["key"] == "dynamic"]
    coverage = [float(r["coverage_pct"]) for r in dyn]
    assert coverage[0] < coverage[-1]  # more capacity, more coverage
    assert "sizing: pv profile =" in capsys.readouterr().err


def test_bad_input_exits_2_with_file_and_line(
    community_files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    members, data = community_files
    broken = tmp_path / "broken.csv"
    lines = data.read_text().splitlines()
    lines[5] = lines[5].replace(",0.", ",-0.", 1)
    broken.write_text("\n".join(lines) + "\n")
    code = main(["share", "--members", str(members), "--data", str(broken), "--key", "dynamic",
                 "--out", str(tmp_path / "o")])  # fmt: skip
    assert code == 2
    assert "broken.csv:6:46: negative energy" in capsys.readouterr().err
    code = main(["share", "--members", str(members), "--data", str(data), "--key", "multi-round",
                 "--out", str(tmp_path / "o")])  # fmt: skip
    assert code == 2 and "--rounds" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("tail", "message"),
    [
        (b"," + b"1" * 41 + b",0\n", r"hostile.csv:\d+:\d+: kWh value has more than 9 digits"),
        (b",0.1,0" + b" " * 300_000 + b"\n", r"hostile.csv:\d+:4097: line longer than 4096 bytes"),
        (b",\xb0,0\n", r"hostile.csv:\d+:\d+: not a plain decimal number: .*'\xb0'"),
        (b",1e3,0\n", r"hostile.csv:\d+:\d+: not a plain decimal number: .*'1e3'"),
    ],
)
def test_hostile_values_exit_2_with_file_line_column(
    community_files: tuple[Path, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    tail: bytes,
    message: str,
) -> None:
    members, data = community_files
    lines = data.read_bytes().splitlines(keepends=True)
    start_ean = b",".join(lines[1].split(b",")[:2])
    hostile = tmp_path / "hostile.csv"
    hostile.write_bytes(b"".join(lines[:3]) + start_ean + tail)
    code = main(["share", "--members", str(members), "--data", str(hostile), "--key", "dynamic",
                 "--out", str(tmp_path / "o")])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert re.search(message, err), err


@pytest.mark.parametrize("user_setting", [None, "narenas:1"])
def test_share_sets_polars_allocator_to_keep_freed_pages_unless_the_user_did(
    user_setting: str | None,
) -> None:
    env = {k: v for k, v in os.environ.items() if k != "_RJEM_MALLOC_CONF"}
    if user_setting is not None:
        env["_RJEM_MALLOC_CONF"] = user_setting
    code = (
        "import os, sys; import gateway.cli.share; "
        "print(os.environ['_RJEM_MALLOC_CONF'], 'polars' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    # set before polars is imported by the subcommand: polars appends it to its own default, so it wins
    conf, imported = out.stdout.split()
    assert conf.endswith("," + (user_setting or "dirty_decay_ms:-1,muzzy_decay_ms:-1")) and imported == "True"


def _file_size_limit(limit: int) -> Callable[[], None]:
    """A child process whose writes past ``limit`` bytes in one file fail (EFBIG), as on a full disk."""

    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


@pytest.mark.skipif(not hasattr(signal, "SIGXFSZ"), reason="needs POSIX file size limits")
def test_a_failed_write_names_the_output_keeps_the_previous_run_and_leaves_nothing(
    community_files: tuple[Path, Path], tmp_path: Path
) -> None:
    members, data = community_files
    out = tmp_path / "out"
    argv = [sys.executable, "-m", "gateway.cli", "share", "--members", str(members), "--data", str(data),
            "--key", "dynamic", "--parquet", "--out", str(out)]  # fmt: skip
    subprocess.run(argv, check=True, capture_output=True)
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert (out / "allocation.csv").stat().st_size > 100_000
    # allocation.csv (polars, in a writer thread) fails past 64 KB; the rest would fit
    failed = subprocess.run(argv, capture_output=True, text=True, preexec_fn=_file_size_limit(65_536))
    assert failed.returncode == 1, failed.stderr
    assert f"p1gw share: cannot write allocation.csv in {out}: " in failed.stderr
    assert "free some disk space or choose another --out" in failed.stderr
    assert "Traceback" not in failed.stderr
    after = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before  # the earlier run's files as they were, no .partial left

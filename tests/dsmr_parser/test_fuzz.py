"""The short version of bench/fuzz.py on every test run: mutated telegram streams (half with a valid CRC)
never raise out of `feed()`, never lose the valid telegram glued after them, give the same events however
they are chunked, and every value is typed and finite. The long run (1,000,000 inputs) is documented in
bench/README.md."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_short_fuzz_run_has_no_failures() -> None:
    spec = importlib.util.spec_from_file_location("fuzz", ROOT / "bench" / "fuzz.py")
    assert spec is not None and spec.loader is not None
    fuzz = importlib.util.module_from_spec(spec)
    sys.modules["fuzz"] = fuzz  # its dataclasses look their module up
    spec.loader.exec_module(fuzz)
    figures = fuzz.run(1500, seed=20261201)
    assert figures.inputs == 1500
    assert not figures.failed(), figures.report()

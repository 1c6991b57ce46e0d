"""The parser's hot modules as installs get them: compiled with mypyc (setup.py).

`scripts/test` builds the wheel and runs the parser and simulator tests a second time against it with
P1GW_EXPECT_COMPILED=1; this test makes sure that run really exercised the compiled modules (a silent
fallback to pure Python would otherwise pass unnoticed). In the ordinary run it checks the opposite: the
development venv imports the source files, so edits take effect at once.
"""

from __future__ import annotations

import os

import pytest

from dsmr_parser import decoding, framing, jsontext, parser, reader, timestamps

HOT = (decoding, framing, jsontext, parser, reader, timestamps)


@pytest.mark.skipif(os.environ.get("P1GW_EXPECT_COMPILED") != "1", reason="not the compiled run")
def test_the_compiled_run_uses_the_compiled_modules() -> None:
    for module in HOT:
        assert module.__file__ is not None and module.__file__.endswith(".so"), module.__file__


@pytest.mark.skipif(os.environ.get("P1GW_EXPECT_COMPILED") == "1", reason="the compiled run")
def test_the_development_venv_runs_the_source() -> None:
    for module in HOT:
        assert module.__file__ is not None and module.__file__.endswith(".py"), module.__file__

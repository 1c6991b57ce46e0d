"""Build hook: compile the parser's hot path with mypyc where a C compiler is available.

The compiled modules are the same source files (type-annotated, `mypy --strict` clean), turned into C
extensions by mypyc, the compiler mypy and black ship with. They are about 1.4x faster than CPython
running the same code (bench/parse.py measures both).

- Wheels and `pip install .` (the Raspberry Pi installer) compile when they can and fall back to the pure
  Python modules, which behave identically, when mypyc or a C toolchain (gcc, Python headers) is missing.
- Editable installs (`pip install -e .`, the development venv) stay pure Python, so an edit takes effect at
  once instead of hiding behind a stale compiled module.
- `P1GW_COMPILE=1` makes compiling mandatory (an error fails the build; CI uses it), `P1GW_COMPILE=0`
  never compiles.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from setuptools import setup
from setuptools.command.build_ext import build_ext

HOT_MODULES = [
    "dsmr_parser/decoding.py",
    "dsmr_parser/framing.py",
    "dsmr_parser/jsontext.py",
    "dsmr_parser/parser.py",
    "dsmr_parser/reader.py",
    "dsmr_parser/timestamps.py",
]
MODE = os.environ.get("P1GW_COMPILE", "auto")  # "auto", "1" or "0"


def compiled_extensions() -> list[Any]:
    if MODE == "0":
        return []
    try:
        from mypyc.build import mypycify

        return list(mypycify(HOT_MODULES, opt_level="3", group_name="dsmr_parser_native"))
    except (Exception, SystemExit) as exc:
        if MODE == "1":
            raise
        print(f"p1-gateway: not compiling the parser with mypyc ({exc!r}); installing pure Python")
        return []


class OptionalBuildExt(build_ext):
    """Builds the mypyc extensions all or nothing: a failure leaves the pure-Python modules in charge."""

    def run(self) -> None:
        if self.editable_mode and MODE != "1":
            return
        try:
            super().run()
        except Exception as exc:
            if MODE == "1":
                raise
            for output in self.get_outputs():
                Path(output).unlink(missing_ok=True)
            print(f"p1-gateway: compiling the parser failed ({exc!r}); installing pure Python")


setup(ext_modules=compiled_extensions(), cmdclass={"build_ext": OptionalBuildExt})

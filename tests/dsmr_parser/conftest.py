from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

# A copy of ../shared/telegrams (exact bytes), kept with the tests so a fresh clone is self-contained.
TELEGRAMS = Path(__file__).resolve().parent / "telegrams"


@pytest.fixture
def telegram_bytes() -> Callable[[str], bytes]:
    def load(name: str) -> bytes:
        return (TELEGRAMS / name).read_bytes()

    return load

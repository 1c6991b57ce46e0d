"""Parses a telegram file with this project's TelegramReader, as the reference script does the other one.

    python bench/_ours_parse.py FILE          # count only (for instruction counting under callgrind)
    python bench/_ours_parse.py FILE --time   # JSON: count, best-of-3 CPU seconds, checksum, module file

Which `dsmr_parser` runs is the caller's choice (PYTHONPATH): the development source or a compiled build.
"""

import json
import sys
import time
from decimal import Decimal

from dsmr_parser import Telegram, TelegramReader, parser


def run(data: bytes) -> tuple[int, float, Decimal]:
    reader = TelegramReader()
    count = 0
    check = Decimal(0)
    start = time.process_time()
    for i in range(0, len(data), 4096):
        for event in reader.feed(data[i : i + 4096]):
            if isinstance(event, Telegram):
                count += 1
                power = event.values.get("1-0:1.7.0")
                if power is not None:
                    assert isinstance(power.value, Decimal), power  # kW, with decimals
                    check += power.value
    return count, time.process_time() - start, check


if __name__ == "__main__":
    with open(sys.argv[1], "rb") as f:
        data = f.read()
    if "--time" in sys.argv[2:]:
        count, seconds, check = min((run(data) for _ in range(3)), key=lambda r: r[1])
        result = {"count": count, "seconds": seconds, "check": float(check), "module": parser.__file__}
        print(json.dumps(result))
    else:
        print(run(data)[0])

"""Runs inside the reference venv (.bench-venv, PyPI `dsmr-parser`): framing with its TelegramBuffer,
parsing with CRC validation and full value conversion; prints JSON with the count, time and a checksum."""

import json
import sys
import time

from dsmr_parser.clients.telegram_buffer import TelegramBuffer  # type: ignore[import-not-found]
from dsmr_parser.parsers import TelegramParser  # type: ignore[import-not-found]

# `dsmr_parser` here is PyPI's dsmr-parser (this runs in .bench-venv); mypy sees our package of that name,
# which has none of these modules.
from dsmr_parser import telegram_specifications  # type: ignore[attr-defined]

path, spec_name = sys.argv[1], sys.argv[2]
spec = getattr(telegram_specifications, spec_name)
with open(path, "rb") as f:
    data = f.read().decode("ascii")
parser = TelegramParser(spec, apply_checksum_validation=True)
buffer = TelegramBuffer()
count = 0
check = 0.0
start = time.process_time()
for i in range(0, len(data), 4096):
    buffer.append(data[i : i + 4096])
    for text in buffer.get_all():
        telegram = parser.parse(text)
        count += 1
        power = getattr(telegram, "CURRENT_ELECTRICITY_USAGE", None)
        check += float(power.value) if power is not None else 0.0
elapsed = time.process_time() - start
print(json.dumps({"count": count, "seconds": elapsed, "check": round(check, 3)}))

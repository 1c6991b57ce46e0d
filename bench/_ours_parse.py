"""Parses a telegram file with this project's TelegramReader (for instruction counting under callgrind)."""

import sys

from dsmr_parser import Telegram, TelegramReader

reader = TelegramReader()
with open(sys.argv[1], "rb") as f:
    data = f.read()
count = 0
for i in range(0, len(data), 4096):
    count += sum(1 for e in reader.feed(data[i : i + 4096]) if isinstance(e, Telegram))
print(count)

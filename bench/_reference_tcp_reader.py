"""Runs inside the reference venv (.bench-venv, PyPI `dsmr-parser`): the asyncio TCP reader that Home
Assistant's DSMR integration uses (`create_tcp_dsmr_reader`), connected to HOST PORT with the telegram
specification VERSION ("5B": Belgian e-MUCS, "5": DSMR 5). Prints one JSON line per telegram (the value of
each of its objects, as text) and stops after COUNT telegrams.

    .bench-venv/bin/python bench/_reference_tcp_reader.py 127.0.0.1 2001 5B 10
"""

import asyncio
import json
import sys


async def main(host: str, port: int, version: str, count: int) -> None:
    # PyPI's dsmr-parser in .bench-venv, not our dsmr_parser (which mypy sees under that name)
    from dsmr_parser.clients.protocol import create_tcp_dsmr_reader  # type: ignore[import-not-found]

    done = asyncio.Event()
    seen = 0

    def on_telegram(telegram: object) -> None:
        nonlocal seen
        values = {}
        for name in dir(telegram):
            if name.isupper():
                value = getattr(getattr(telegram, name), "value", None)
                if value is not None and not isinstance(value, list):
                    values[name] = str(value)
        print(json.dumps(values), flush=True)
        seen += 1
        if seen >= count:
            done.set()

    transport, _ = await create_tcp_dsmr_reader(
        host, port, version, on_telegram, loop=asyncio.get_running_loop()
    )
    try:
        await done.wait()
    finally:
        transport.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])))

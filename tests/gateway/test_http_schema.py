"""The live API against its own OpenAPI schema: schemathesis fuzzes every operation, bounded.

Strategy: `p1gw run` as a real process (the in-process simulator with prepayment, a SQLite file, a control
token, the production HTTP server) and the `st` command line (schemathesis, a dev dependency) reading
`/openapi.json` from it. Coverage and fuzzing phases (5 examples an operation) with every check: no 5xx;
status codes, content types, headers and bodies as the schema says; schema-valid requests accepted and
schema-violating ones refused (config: tests/gateway/schemathesis.toml). Bounded: a fixed seed, one
worker; about 40 s on an idle 2-core machine.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from pathlib import Path

import httpx

from gateway.cli.demo import free_port_from

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
ST = Path(sys.executable).with_name("st")
TOKEN = "schema-token"


async def test_the_live_api_conforms_to_its_schema(tmp_path: Path) -> None:
    port = free_port_from("127.0.0.1", 0)
    base = f"http://127.0.0.1:{port}"
    gateway = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "run", "--port", "sim:be-3ph?seed=3&speed=60&prepayment=20",
         "--db", str(tmp_path / "gw.sqlite"), "--http", f"127.0.0.1:{port}", "--log-level", "error"],
        cwd=ROOT, env={**os.environ, "P1GW_HTTP__TOKEN": TOKEN}, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        async with asyncio.timeout(60), httpx.AsyncClient() as client:
            while True:
                assert gateway.poll() is None, gateway.stderr.read() if gateway.stderr else ""
                try:
                    if (await client.get(base + "/api/v1/now")).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.1)
        proc = await asyncio.create_subprocess_exec(
            str(ST), "--config-file", str(HERE / "schemathesis.toml"), "--no-color", "run",
            f"{base}/openapi.json", "--header", f"Authorization: Bearer {TOKEN}",
            "--max-examples", "5", "--seed", "20261201", "--workers", "1",
            "--phases", "coverage,fuzzing", "--request-timeout", "30", "--warnings", "off",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, cwd=tmp_path,
        )  # fmt: skip
        output, _ = await asyncio.wait_for(proc.communicate(), 400)
    finally:
        gateway.terminate()
        gateway.wait(30)
    text = output.decode(errors="replace")
    assert proc.returncode == 0, text[-6000:]
    selected = re.search(r"Selected: (\d+)/(\d+)", text)  # every operation of the schema, none skipped
    assert selected is not None and selected[1] == selected[2], text[-2000:]
    assert int(selected[1]) >= 23 and f"Tested: {selected[1]}" in text, text[-2000:]
    assert gateway.returncode == 0

"""Serving a simulation: its telegrams (or S1 frames) paced in real time to a file, stdout, a pty or TCP.

This is the simulator's shell side; the model (`meter`, `profiles`, `calendars`, ...) knows no sockets,
threads or clocks. A `Sink` is where the bytes go: a file (or stdout), a raw pty's master end (bytes nobody
reads are lost, as on a wire), or a TCP server whose accept thread adds every client to the broadcast (a
client that fails a write is dropped). `serve` paces the simulation's writes at `speed` x real time (or as
fast as possible), writes the per-quarter-hour truth CSV alongside and prints the meter's notifications.
"""

from __future__ import annotations

import contextlib
import csv
import os
import socket
import sys
import threading
import time
import tty
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import IO, Any

from .calendars import ZONE
from .registers import QuarterHourTruth
from .simulation import Simulation

TRUTH_COLUMNS = (
    "start",
    "end",
    "import_t1_wh",
    "import_t2_wh",
    "export_t1_wh",
    "export_t2_wh",
    "import_wh",
    "export_wh",
    "avg_import_w",
)


class Sink:
    """Where bytes go: a file or stdout (`out`, "-" or None: stdout), a pty master (`pty`), or all clients
    of a TCP server on `tcp` ("HOST:PORT"). A pty prints its device path, a server its tcp:// address."""

    def __init__(self, *, out: str | None = None, pty: bool = False, tcp: str | None = None) -> None:
        self.file: IO[bytes] | None = None
        self.master: int | None = None
        self.server: socket.socket | None = None
        self.clients: list[socket.socket] = []
        self.lock = threading.Lock()
        if pty:
            master, slave = os.openpty()
            tty.setraw(slave)
            os.set_blocking(master, False)
            self.master, self._slave = master, slave
            print(os.ttyname(slave), flush=True)
        elif tcp:
            host, _, port = tcp.rpartition(":")
            srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            srv.bind((host or "127.0.0.1", int(port)))
            srv.listen(16)
            self.server = srv
            h, p = srv.getsockname()
            print(f"tcp://{h}:{p}", flush=True)
            threading.Thread(target=self._accept, daemon=True).start()
        elif out in (None, "-"):
            self.file = sys.stdout.buffer
        else:
            assert out is not None
            self.file = open(out, "wb")  # noqa: SIM115 - closed in close()

    def _accept(self) -> None:
        assert self.server is not None
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn.settimeout(2.0)
            with self.lock:
                self.clients.append(conn)

    def write(self, data: bytes) -> None:
        if not data:
            return
        if self.file is not None:
            self.file.write(data)
        elif self.master is not None:
            with contextlib.suppress(
                BlockingIOError, OSError
            ):  # nobody reading: bytes are lost, as on a wire
                os.write(self.master, data)
        else:
            with self.lock:
                for c in list(self.clients):
                    try:
                        c.sendall(data)
                    except OSError:
                        self.clients.remove(c)
                        c.close()

    def close(self) -> None:
        if self.file is not None:
            self.file.flush()
            if self.file is not sys.stdout.buffer:
                self.file.close()
        if self.server is not None:
            self.server.close()
            with self.lock:
                for c in self.clients:
                    c.close()


def paced(items: Iterator[tuple[int, bytes]], speed: float | None) -> Iterator[bytes]:
    """The bytes of (simulated offset s, bytes) items, each at its offset / `speed` (None: at once)."""
    t0 = time.monotonic()
    for offset, data in items:
        if speed:
            delay = t0 + offset / speed - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        yield data


def s1_items(sim: Simulation, count: int | None, duration_s: int | None) -> Iterator[tuple[int, bytes]]:
    """The meter's S1 port: one second of frames per item, until `count` seconds or `duration_s`."""
    from .s1 import S1Generator

    gen = S1Generator(sim.meter)
    n = 0
    while (count is None or n < count) and (duration_s is None or sim.offset_s < duration_s):
        frames = gen.second()
        n += 1
        yield sim.offset_s, frames


def _truth_writer(path: str) -> tuple[IO[str], Any]:
    f = open(path, "w", newline="")  # noqa: SIM115 - closed by serve()
    w = csv.writer(f)
    w.writerow(TRUTH_COLUMNS)
    return f, w


def _truth_row(qh: QuarterHourTruth) -> list[object]:
    end = datetime.fromtimestamp(qh.start.timestamp() + 900, UTC).astimezone(ZONE)
    return [
        qh.start.isoformat(),
        end.isoformat(),
        qh.import_t1_wh,
        qh.import_t2_wh,
        qh.export_t1_wh,
        qh.export_t2_wh,
        qh.import_wh,
        qh.export_wh,
        4 * qh.import_wh,
    ]


def serve(
    sim: Simulation,
    sink: Sink,
    *,
    speed: float | None,
    s1: bool = False,
    count: int | None = None,
    duration_s: int | None = None,
    truth_path: str | None = None,
) -> int:
    """Write the simulation to `sink` until it ends (or Ctrl-C, or a closed stdout); the number of writes.

    Args:
        speed: simulated seconds per real second; None: as fast as possible.
        s1: the S1 port's frames instead of P1 telegrams (`count`/`duration_s` stop them).
        truth_path: write the exact per-quarter-hour register deltas (Wh) there as CSV.
    The sink is closed at the end.
    """
    truth = _truth_writer(truth_path) if truth_path else None
    sent = 0
    try:
        items = s1_items(sim, count, duration_s) if s1 else ((sim.offset_s, frame) for _, frame in sim)
        for data in paced(items, speed):
            sink.write(data)
            sent += 1
            if truth is not None:
                for qh in sim.drain_quarter_hours():
                    truth[1].writerow(_truth_row(qh))
            for note in sim.meter.drain_notifications():
                print(
                    f"{note.at.isoformat()} {note.energy} {note.kind.value}: {note.message}", file=sys.stderr
                )
    except (KeyboardInterrupt, BrokenPipeError):
        pass
    finally:
        with contextlib.suppress(BrokenPipeError):
            sink.close()
        if truth is not None:
            truth[0].close()
    return sent

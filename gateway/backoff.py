"""The shell's one reconnect backoff policy: exponential, capped, optionally jittered, reset after a success.

Pure: no clock, no sleeping, no global random state. The caller asks `next_delay()` for how long to wait
before its next attempt (seconds, a float), sleeps that long itself, and calls `reset()` once an attempt
has succeeded (a connection that delivered data, a broker session that opened).

The un-jittered delay starts at `initial_s` and is multiplied by `factor` after every `next_delay()`, up
to `max_s`. With `jitter` j > 0 each returned delay is that delay times a factor drawn uniformly from
[1 - j, 1] with the injected `random.Random`, so reconnecting clients spread out without ever waiting
longer than the cap. `current_s` and `capped` say where the policy stands without advancing it (for the
`retry_s` of a log line, or a one-time "still unreachable" once the cap is reached).
"""

from __future__ import annotations

import random


class Backoff:
    """Delays between reconnect attempts.

    Args:
        initial_s: the first delay (seconds, > 0), and the delay again after `reset()`.
        max_s: the cap (seconds, > 0); an `initial_s` above it starts at the cap.
        factor: how much the delay grows after each attempt (>= 1; 2: doubling).
        jitter: the fraction (0 to 1) a delay may be shortened by at random; 0: exact delays.
        rng: where the jitter comes from (required when jitter > 0; seed it in tests).
    """

    def __init__(
        self,
        initial_s: float,
        max_s: float,
        *,
        factor: float = 2.0,
        jitter: float = 0.0,
        rng: random.Random | None = None,
    ) -> None:
        if initial_s <= 0:
            raise ValueError(f"initial_s must be positive, not {initial_s!r}")
        if max_s <= 0:
            raise ValueError(f"max_s must be positive, not {max_s!r}")
        if factor < 1:
            raise ValueError(f"factor must be at least 1, not {factor!r}")
        if not 0 <= jitter <= 1:
            raise ValueError(f"jitter must be between 0 and 1, not {jitter!r}")
        if jitter > 0 and rng is None:
            raise ValueError("a jittered backoff needs an rng (random.Random)")
        self.initial_s = min(initial_s, max_s)
        self.max_s = max_s
        self.factor = factor
        self.jitter = jitter
        self._rng = rng
        self._delay_s = self.initial_s

    @property
    def current_s(self) -> float:
        """The un-jittered delay the next `next_delay()` is drawn from (seconds)."""
        return self._delay_s

    @property
    def capped(self) -> bool:
        """True once the delay has grown to the cap."""
        return self._delay_s >= self.max_s

    def next_delay(self) -> float:
        """How long to wait before the next attempt (seconds); the delay after it grows toward the cap."""
        delay = self._delay_s
        if self.jitter > 0 and self._rng is not None:
            delay *= self._rng.uniform(1.0 - self.jitter, 1.0)
        self._delay_s = min(self._delay_s * self.factor, self.max_s)
        return delay

    def reset(self) -> None:
        """An attempt succeeded: the next delay is `initial_s` again."""
        self._delay_s = self.initial_s

"""Clocks for the sandbox API server: wall-clock by default, a manual one for tests that jump through time."""

from __future__ import annotations

import functools
import math
import threading
import time
from datetime import datetime, timezone


class SystemClock:
    """Wall-clock time in epoch seconds."""

    def now(self) -> float:
        return time.time()


class ManualClock:
    """A clock that only moves when told to; ``advance`` lets a test skip minutes of rollout in no time."""

    def __init__(self, start: float | datetime | None = None) -> None:
        if isinstance(start, datetime):
            start = start.timestamp()
        self._now = float(start if start is not None else time.time())
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += seconds


def rfc3339(epoch: float) -> str:
    """``metav1.Time`` text: second precision, UTC, ``Z`` suffix."""
    return datetime.fromtimestamp(int(epoch), tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def rfc3339_micro(epoch: float) -> str:
    """``metav1.MicroTime`` text (microseconds rounded half to even, as ``datetime.fromtimestamp``)."""
    return _fraction_text(epoch, 1_000_000, 6)


def rfc3339_nano(epoch: float) -> str:
    """The timestamp the kubelet prefixes to log lines with ``timestamps=true``."""
    return _fraction_text(epoch, 1_000_000_000, 9)


def _fraction_text(epoch: float, per_second: int, digits: int) -> str:
    # Log lines are written by the ten thousand: the date is formatted once per day, the rest with integers.
    whole = math.floor(epoch)
    fraction = round((epoch - whole) * per_second)
    if fraction >= per_second:
        whole, fraction = whole + 1, fraction - per_second
    day, second = divmod(whole, 86_400)
    hours, second = divmod(second, 3_600)
    minutes, second = divmod(second, 60)
    return f"{_date_text(day)}T{hours:02d}:{minutes:02d}:{second:02d}.{fraction:0{digits}d}Z"


@functools.lru_cache(maxsize=64)
def _date_text(day: int) -> str:
    return datetime.fromtimestamp(day * 86_400, tz=timezone.utc).strftime("%Y-%m-%d")


def parse_rfc3339(text: str) -> float:
    cleaned = text.strip()
    if cleaned.endswith("Z"):
        cleaned = cleaned[:-1] + "+00:00"
    if "." in cleaned:
        head, rest = cleaned.split(".", 1)
        digits = ""
        tail = ""
        for i, ch in enumerate(rest):
            if ch.isdigit():
                digits += ch
            else:
                tail = rest[i:]
                break
        fraction = float("0." + digits) if digits else 0.0
        return datetime.fromisoformat(head + tail).timestamp() + fraction
    return datetime.fromisoformat(cleaned).timestamp()

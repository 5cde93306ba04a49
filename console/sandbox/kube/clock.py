"""Clocks for the sandbox API server: wall-clock by default, a manual one for tests that jump through time."""

from __future__ import annotations

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
    """``metav1.MicroTime`` text."""
    return datetime.fromtimestamp(epoch, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def rfc3339_nano(epoch: float) -> str:
    """The timestamp the kubelet prefixes to log lines with ``timestamps=true``."""
    whole = int(epoch)
    nanos = int(round((epoch - whole) * 1e9))
    if nanos >= 1_000_000_000:
        whole, nanos = whole + 1, nanos - 1_000_000_000
    base = datetime.fromtimestamp(whole, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{base}.{nanos:09d}Z"


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

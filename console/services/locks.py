"""Locks that hold across browser sessions, command-line processes and console replicas: lease rows.

A lease is a row of the audit database's ``leases`` table: taken when free or expired, renewed while its work
runs (a background timer, so a slow backend cannot let it lapse), given back at the end. A process that dies
holding one lets it expire after ``ttl_seconds``. The promotion lock (one promotion per model and alias at a
time) and the elected guard worker both stand on it.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

from console.errors import Conflict

DEFAULT_TTL_SECONDS = 60.0


class LeaseStore(Protocol):
    """What a lock needs of the audit store."""

    def acquire_lease(self, name: str, holder: str, *, ttl_seconds: float) -> bool:
        """Take the lease if it is free or expired (or already ours); True when this holder has it now."""
        ...

    def release_lease(self, name: str, holder: str) -> None:
        """Give the lease back, if this holder still has it."""
        ...


def new_holder(kind: str = "action") -> str:
    """A holder name unique across processes: what it is and a random id."""
    return f"{kind}-{uuid.uuid4().hex[:16]}"


class _Renewal:
    """Renews a held lease every third of its lifetime until stopped."""

    def __init__(self, store: LeaseStore, name: str, holder: str, ttl_seconds: float) -> None:
        self._store, self._name, self._holder, self._ttl = store, name, holder, ttl_seconds
        self._stopped = threading.Event()
        self.lost = False
        self._thread = threading.Thread(target=self._run, name=f"lease-{name}", daemon=True)

    def _run(self) -> None:
        while not self._stopped.wait(self._ttl / 3):
            try:
                if not self._store.acquire_lease(self._name, self._holder, ttl_seconds=self._ttl):
                    self.lost = True
                    return
            except Exception:  # noqa: BLE001 - a failed renewal is retried; the lease outlives a few
                continue

    def __enter__(self) -> _Renewal:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopped.set()
        self._thread.join(timeout=5)


@contextmanager
def holding(store: LeaseStore, name: str, *, what: str, wait_seconds: float = 30.0,
            ttl_seconds: float = DEFAULT_TTL_SECONDS) -> Iterator[str]:
    """Hold the lease ``name`` for the block, waiting up to ``wait_seconds`` for it; yields the holder name.

    Raises Conflict ("... is in progress") when another holder keeps it longer than the wait.
    """
    holder = new_holder()
    deadline = time.monotonic() + wait_seconds
    while not store.acquire_lease(name, holder, ttl_seconds=ttl_seconds):
        if time.monotonic() > deadline:
            raise Conflict(f"{what} is in progress elsewhere; try again when it has finished.")
        time.sleep(random.uniform(0.02, 0.12))  # jitter: waiters do not wake in step
    try:
        with _Renewal(store, name, holder, ttl_seconds):
            yield holder
    finally:
        store.release_lease(name, holder)

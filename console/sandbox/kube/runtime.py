"""What the node does to a pod over time: scheduling, image pull, start, readiness, and crash loops.

Everything is a pure function of the pod, its creation instant and the clock, so the kubelet loop, the log
generator and a test that advances a manual clock all agree on what a container was doing at any moment.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass



@dataclass(frozen=True)
class Timing:
    """Delays of the simulated node, in seconds (tests shrink them)."""

    pod_schedule_seconds: float = 0.0
    pod_start_seconds: float = 1.0
    pod_ready_seconds: float = 2.0
    crash_after_seconds: float = 3.0
    crash_backoff_seconds: float = 10.0
    crash_backoff_max_seconds: float = 300.0
    pod_terminate_seconds: float = 1.0
    log_interval_seconds: float = 5.0


def is_broken_image(image: str) -> bool:
    tag = image.rsplit("/", 1)[-1]
    return ":" in tag and "broken" in tag.split(":", 1)[1]


@dataclass(frozen=True)
class Instance:
    """One run of a container (restart ``index``); ``finished`` is None while it runs."""

    index: int
    started: float
    finished: float | None
    exit_code: int = 0


@dataclass(frozen=True)
class ContainerTimeline:
    name: str
    image: str
    broken: bool
    current: Instance | None  # the running instance, or None while waiting
    last_terminated: Instance | None
    restart_count: int
    ready_since: float | None
    waiting_reason: str | None
    backoff_seconds: float
    next_change: float | None


def container_timeline(name: str, image: str, started_at: float, now: float, timing: Timing) -> ContainerTimeline:
    """The state of one container at ``now``, given when its first instance started."""
    broken = is_broken_image(image)
    if now < started_at:
        return ContainerTimeline(name, image, broken, None, None, 0, None, "ContainerCreating", 0.0, started_at)
    if not broken:
        ready_at = started_at + timing.pod_ready_seconds
        current = Instance(0, started_at, None)
        return ContainerTimeline(
            name, image, False, current, None, 0,
            ready_at if now >= ready_at else None, None, 0.0,
            None if now >= ready_at else ready_at,
        )
    run = max(timing.crash_after_seconds, 0.01)
    base = max(timing.crash_backoff_seconds, 0.01)
    cap = max(timing.crash_backoff_max_seconds, base)

    def backoff(i: int) -> float:
        return min(base * (2 ** min(i, 60)), cap)

    # Instance i starts at s(i); back-off doubles until it reaches the cap, then every cycle is run + cap long.
    starts = [started_at]
    while backoff(len(starts) - 1) < cap:
        starts.append(starts[-1] + run + backoff(len(starts) - 1))
    capped_from = len(starts) - 1

    def start(i: int) -> float:
        if i <= capped_from:
            return starts[i]
        return starts[capped_from] + (i - capped_from) * (run + cap)

    if now < start(capped_from):
        index = max(i for i in range(len(starts)) if starts[i] <= now)
    else:
        index = capped_from + int((now - start(capped_from)) // (run + cap))
    begun = start(index)
    if now < begun + run:
        last = Instance(index - 1, start(index - 1), start(index - 1) + run, 1) if index else None
        return ContainerTimeline(name, image, True, Instance(index, begun, None), last, index, None, None, 0.0, begun + run)
    return ContainerTimeline(
        name, image, True, None, Instance(index, begun, begun + run, 1), index + 1, None, "CrashLoopBackOff",
        backoff(index), start(index + 1),
    )


def container_id(pod_uid: str, container: str, index: int) -> str:
    digest = hashlib.sha256(f"{pod_uid}/{container}/{index}".encode()).hexdigest()
    return f"containerd://{digest}"


def image_id(image: str) -> str:
    repository = image.split("@", 1)[0]
    last = repository.rsplit("/", 1)
    if ":" in last[-1]:
        repository = repository.rsplit(":", 1)[0]
    return f"{repository}@sha256:{hashlib.sha256(image.encode()).hexdigest()}"


def pod_ip(pod_uid: str) -> str:
    digest = hashlib.sha256(pod_uid.encode()).digest()
    return f"10.128.{digest[0] % 8}.{2 + digest[1] % 250}"

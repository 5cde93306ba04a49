"""Logs: read one pod's container log, or all pods of a deployment merged by time, and follow them.

Logs are reads: the role needs ``read`` and no audit record is written. Every request asks the API for
``timestamps=true`` (to merge pods and to follow) and at most ``MAX_LOG_BYTES_PER_POD`` bytes per pod
(``limitBytes``); the timestamps are dropped only when the lines are rendered.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime

from console.adapters.kubernetes import KubernetesCluster
from console.domain.access import Actor, Permission
from console.domain.logs import (
    MAX_LOG_BYTES_PER_POD,
    NO_FILTER,
    LogFilter,
    LogLine,
    merge_by_time,
    parse_log,
    render_lines,
    validate_tail_lines,
)
from console.domain.times import format_rfc3339
from console.domain.workloads import PodInfo
from console.errors import ConsoleError, InvalidInput
from console.services.audit import require
from console.services.deployments import pods_of

_Target = tuple[str, str | None]  # pod, container
_PodLines = tuple[list[LogLine], str]  # lines, note

# Pods of one deployment are read in parallel; a deployment rarely has more replicas than this.
MAX_PARALLEL_READS = 8


@dataclass(frozen=True)
class LogResult:
    """What a read found: the lines that pass the filter, and what the operator must know about the rest."""

    lines: tuple[LogLine, ...]
    merged: bool
    pods: tuple[str, ...]  # the pods asked for, in order
    read_count: int  # lines read (after the tail, before the filter)
    last_timestamp: datetime | None  # the newest line read; a follow asks for lines after it
    notes: dict[str, str] = field(default_factory=dict)  # pod -> e.g. "cut at 5 MB"
    errors: dict[str, str] = field(default_factory=dict)  # pod -> why it did not answer

    def text(self, *, timestamps: bool = True) -> str:
        """The lines as text: with a ``[pod]`` prefix when several pods are merged."""
        return render_lines(self.lines, timestamps=timestamps, pod_prefix=self.merged)


def deployment_names(cluster: KubernetesCluster, actor: Actor, namespace: str) -> list[str]:
    """The deployments of one allowed namespace, by name: one list call, for the logs page's picker."""
    require(actor, Permission.READ)
    return sorted(item.metadata.name for item in cluster.list_namespaced_deployments(namespace))


def read_logs(
    cluster: KubernetesCluster,
    actor: Actor,
    *,
    namespace: str,
    deployment: str,
    pod: str | None,
    container: str | None,
    tail_lines: object,
    since_seconds: int | None,
    previous: bool = False,
    log_filter: LogFilter = NO_FILTER,
    since_time: datetime | None = None,
    pods: Sequence[PodInfo] | None = None,
) -> LogResult:
    """The last ``tail_lines`` lines of one pod's container, or of every pod of the deployment merged by time.

    ``pod=None`` reads every pod of the deployment (``container`` None: each pod's first container) and keeps
    the newest ``tail_lines`` of the merged lines, each rendered with its pod. ``since_time`` (a follow) reads
    only lines newer than it and wins over ``since_seconds``. A pod that does not answer while others do is
    named in ``errors``; when no pod answers, its error is raised. ``pods``: the deployment's pods when the
    caller has just listed them (the logs page does, for its picker), so they are not listed twice.
    """
    require(actor, Permission.READ)
    tail = validate_tail_lines(tail_lines)
    if since_seconds is not None and (isinstance(since_seconds, bool) or not isinstance(since_seconds, int)
                                      or since_seconds < 1):
        raise InvalidInput(f"The time range must be a positive number of seconds (got {since_seconds!r}).")
    if since_time is not None and since_time.tzinfo is None:
        raise InvalidInput("A follow needs a time with a time zone.")
    cluster.require_namespace(namespace)

    if pod is None:
        targets = [(info.name, container or (info.containers[0] if info.containers else None))
                   for info in (pods_of(cluster, actor, namespace, deployment) if pods is None else pods)]
        if not targets:
            return LogResult((), True, (), 0, since_time)
    else:
        targets = [(pod, container)]

    def read_one(target: _Target) -> _PodLines:
        name, container_name = target
        return _read_pod(cluster, namespace, name, container_name, tail=tail, since_seconds=since_seconds,
                         since_time=since_time, previous=previous, levels=log_filter.min_level is not None)

    outcomes: list[_PodLines | ConsoleError] = []
    if len(targets) == 1:
        outcomes.append(_attempt(read_one, targets[0]))
    else:
        with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL_READS, len(targets))) as pool:
            outcomes.extend(pool.map(lambda target: _attempt(read_one, target), targets))

    failures = [(name, outcome) for (name, _), outcome in zip(targets, outcomes) if isinstance(outcome, ConsoleError)]
    if len(failures) == len(targets):
        raise failures[0][1]
    streams: list[Sequence[LogLine]] = []
    notes: dict[str, str] = {}
    for (name, _), outcome in zip(targets, outcomes):
        if not isinstance(outcome, ConsoleError):
            streams.append(outcome[0])
            if outcome[1]:
                notes[name] = outcome[1]

    lines = merge_by_time(streams) if len(streams) > 1 else list(streams[0])
    lines = lines[-tail:]
    last = max((line.timestamp for line in lines if line.timestamp is not None), default=since_time)
    return LogResult(
        lines=tuple(log_filter.apply(lines)),
        merged=pod is None,
        pods=tuple(name for name, _ in targets),
        read_count=len(lines),
        last_timestamp=last,
        notes=notes,
        errors={name: str(error) for name, error in failures},
    )


def _attempt(read_one: Callable[[_Target], _PodLines], target: _Target) -> _PodLines | ConsoleError:
    try:
        return read_one(target)
    except ConsoleError as err:
        return err


def _read_pod(
    cluster: KubernetesCluster, namespace: str, pod: str, container: str | None, *, tail: int,
    since_seconds: int | None, since_time: datetime | None, previous: bool, levels: bool,
) -> tuple[list[LogLine], str]:
    """One container's lines (oldest first) and a note when the read was cut at the byte limit.

    ``levels``: read each line's level (only a level filter needs them; see ``parse_log``)."""
    try:
        body = cluster.read_pod_log(
            namespace, pod, container=container, tail_lines=tail,
            since_seconds=None if since_time is not None else since_seconds,
            since_time=_since_time_parameter(since_time) if since_time is not None else None,
            previous=previous, timestamps=True, limit_bytes=MAX_LOG_BYTES_PER_POD,
        )
    except InvalidInput as err:
        if previous and "previous terminated container" in err.message:
            raise InvalidInput(
                f"Pod {pod} has no previous container{f' {container!r}' if container else ''}: it has not "
                "restarted, or its last terminated instance is gone. Turn off 'Previous container' to read "
                "the current one.",
                problems=[err.message],
            ) from err
        raise
    note = ""
    # The API stops at limitBytes; a body that long was cut (the replacement of a split character can only
    # make the re-encoded text longer, never shorter).
    if len(body.encode("utf-8")) >= MAX_LOG_BYTES_PER_POD:
        if not body.endswith("\n"):
            body = body[: body.rfind("\n") + 1]  # the last line is incomplete
        note = (f"cut at {_size_text(MAX_LOG_BYTES_PER_POD)}: only the oldest part of the requested lines was "
                "read; ask for fewer lines or a shorter time range to see the newest ones.")
    lines = parse_log(body, pod=pod, container=container or "", levels=levels)
    if since_time is not None:
        # sinceTime has second precision on some servers: drop what the previous read already had.
        lines = [line for line in lines if line.timestamp is None or line.timestamp > since_time]
    return lines, note


def _since_time_parameter(moment: datetime) -> str:
    # Whole seconds, rounded down: every server accepts it, and the lines in between are dropped above.
    return format_rfc3339(moment)


def _size_text(size: int) -> str:
    if size % (1024 * 1024) == 0:
        return f"{size // (1024 * 1024)} MB"
    return f"{size:,} bytes"

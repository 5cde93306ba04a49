"""Logs page helpers: the pickers (preselected from the query string), the options, and the live log view.

The lines shown live in a bounded buffer in ``st.session_state``: a full script run reads them once for the
current choices (and keeps them while only the display changes: timestamps, follow, pause); a follow refresh,
inside ``st.fragment(run_every=...)``, reads only the lines newer than the last one it has and appends them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import streamlit as st

from console.domain.access import Actor
from console.domain.logs import (
    DEFAULT_TAIL_LINES,
    LEVELS,
    MAX_TAIL_LINES,
    SINCE_CHOICES,
    LogFilter,
    LogLine,
    log_file_name,
    render_lines,
)
from console.domain.times import format_rfc3339, parse_rfc3339_or_none
from console.domain.workloads import PodInfo
from console.errors import Forbidden, InvalidInput
from console.services.context import ConsoleContext
from console.services.deployments import pods_of
from console.services.logs import LogResult, deployment_names, read_logs
from console.ui import session
from console.ui.errors import show_error

ALL_PODS = "All pods (merged)"
ALL_LEVELS = "All levels"
FOLLOW_SECONDS = 2.0
SINCE_LABELS = {"all": "Everything kept", "5m": "Last 5 minutes", "15m": "Last 15 minutes", "1h": "Last hour",
                "6h": "Last 6 hours", "24h": "Last 24 hours"}


@dataclass(frozen=True)
class LogRequest:
    """Everything that decides which lines are read; a change of any of it reads again."""

    namespace: str
    deployment: str
    pod: str | None
    container: str | None
    tail_lines: int
    since_seconds: int | None
    since_time: datetime | None
    previous: bool
    log_filter: LogFilter

    @property
    def file_name(self) -> str:
        return log_file_name(deployment=self.deployment, pod=self.pod, container=self.container)


@dataclass(frozen=True)
class LogTarget:
    """What the pickers chose: a deployment, one of its pods (None: all merged) and a container."""

    namespace: str
    deployment: str
    pod: PodInfo | None
    container: str | None
    pods: tuple[PodInfo, ...]


@dataclass
class LogBuffer:
    request: LogRequest
    refresh: int
    lines: list[LogLine]
    last_timestamp: datetime | None
    merged: bool
    read_count: int
    notes: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    read_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    fresh: bool = True  # read by this script run; a follow refresh need not read again


def apply_query_params(namespaces: tuple[str, ...]) -> None:
    """Preselect from ``?namespace=..&deployment=..&pod=..&since=..`` once per session; bad values get a message."""
    if not session.take_log_link():
        return
    params = st.query_params
    namespace = params.get("namespace")
    if namespace:
        if namespace in namespaces:
            session.preset_widget("logs_namespace", namespace)
        else:
            show_error(Forbidden(f"Namespace {namespace!r} is not managed by this console "
                                 f"(allowed: {', '.join(namespaces)})."))
            return
    for name in ("deployment", "pod"):
        if params.get(name):
            session.preset_widget(f"logs_query_{name}", params[name])
    since = params.get("since")
    if since:
        if since in SINCE_CHOICES:
            session.preset_widget("logs_since", since)
        elif (moment := parse_rfc3339_or_none(since.replace(" ", "+"))) is not None:
            session.preset_widget("logs_since_time", moment)
            session.preset_widget("logs_since", _since_time_label(moment))
        else:
            show_error(InvalidInput(f"The link's time {since!r} is neither one of {', '.join(SINCE_CHOICES)} nor an "
                                    "RFC 3339 time such as 2024-05-01T10:00:00Z; showing everything kept."))


def _since_time_label(moment: datetime) -> str:
    return f"Since {format_rfc3339(moment, 'microseconds')}"


def _select(column: Any, label: str, options: list[str], key: str, **kwargs: Any) -> str | None:
    preset_key = f"logs_query_{key.removeprefix('logs_')}"
    preset = session.widget_value(preset_key)
    session.forget_widget(preset_key)
    if preset in options:
        session.preset_widget(key, preset)
    elif session.widget_value(key) not in options:
        session.forget_widget(key)  # a value from another namespace or deployment
    return column.selectbox(label, options, key=key, **kwargs)


def pick_target(context: ConsoleContext, actor: Actor) -> LogTarget | None:
    """The pickers; None when the namespace has no deployment."""
    cluster, namespaces = context.kubernetes(), context.settings.namespaces
    columns = st.columns([2, 3, 4, 2])
    namespace = _select(columns[0], "Namespace", list(namespaces), "logs_namespace")
    assert namespace is not None
    names = deployment_names(cluster, actor, namespace)
    if not names:
        st.info(f"No deployment in {namespace}.")
        return None
    deployment = _select(columns[1], "Deployment", names, "logs_deployment")
    assert deployment is not None
    pods = pods_of(cluster, actor, namespace, deployment)
    by_name = {pod.name: pod for pod in pods}
    pod_name = _select(columns[2], "Pod", [ALL_PODS, *by_name], "logs_pod", format_func=lambda name: (
        name if name == ALL_PODS else f"{name} · {by_name[name].status_text} · {by_name[name].restarts} restarts"))
    pod = by_name.get(pod_name or "")
    containers = list((pod or (pods[0] if pods else None)).containers) if pods else []
    container = _select(columns[3], "Container", containers, "logs_container") if containers else None
    return LogTarget(namespace, deployment, pod, container, tuple(pods))


@dataclass(frozen=True)
class LogOptions:
    """The read options (the request) and the display toggles."""

    request: LogRequest
    timestamps: bool
    follow: bool


def options_form(target: LogTarget) -> LogOptions:
    """The read options and display toggles; InvalidInput for a bad filter."""
    columns = st.columns([2, 2, 2, 2, 2])
    tail = columns[0].number_input("Lines (tail)", min_value=1, max_value=MAX_TAIL_LINES, value=DEFAULT_TAIL_LINES,
                                   step=100, key="logs_tail")
    since_time = session.widget_value("logs_since_time")
    since_options = ([_since_time_label(since_time)] if since_time else []) + list(SINCE_CHOICES)
    since = columns[1].selectbox("Since", since_options, key="logs_since",
                                 format_func=lambda choice: SINCE_LABELS.get(choice, choice))
    previous = columns[2].toggle("Previous container", key="logs_previous",
                                 help="The log of the container instance before the last restart.")
    timestamps = columns[3].toggle("Timestamps", value=True, key="logs_timestamps")
    follow = columns[4].toggle("Follow", key="logs_follow", disabled=previous,
                               help="Refresh every 2 s with the newest lines (not for a previous container).")
    filters = st.columns([5, 1, 1, 2, 1])
    text = filters[0].text_input("Filter", key="logs_filter", placeholder="text, or a regular expression")
    regex = filters[1].checkbox("Regex", key="logs_regex")
    match_case = filters[2].checkbox("Match case", key="logs_case")
    level = filters[3].selectbox("Level (at least)", [ALL_LEVELS, *LEVELS], key="logs_level")
    paused = filters[4].toggle("Pause", key="logs_paused", disabled=not follow or previous)
    if filters[4].button("Reload", key="logs_reload", icon=":material/refresh:"):
        session.request_log_refresh()
    log_filter = LogFilter.build(text, regex=regex, ignore_case=not match_case,
                                 min_level=None if level == ALL_LEVELS else level)
    from_time = since_time if since not in SINCE_CHOICES else None
    request = LogRequest(
        namespace=target.namespace, deployment=target.deployment, pod=target.pod.name if target.pod else None,
        container=target.container,
        tail_lines=int(tail), since_seconds=None if from_time else SINCE_CHOICES.get(since),
        since_time=from_time, previous=previous, log_filter=log_filter,
    )
    return LogOptions(request, timestamps, follow and not paused and not previous)


def load(context: ConsoleContext, actor: Actor, request: LogRequest,
         pods: tuple[PodInfo, ...] | None = None) -> LogBuffer:
    """The buffer for this request: kept when only the display changed, read again otherwise.

    ``pods``: the deployment's pods the picker just listed, reused for a merged read instead of listing them again.
    """
    refresh = session.log_refresh_count()
    buffer = session.log_buffer()
    if isinstance(buffer, LogBuffer) and buffer.request == request and buffer.refresh == refresh:
        buffer.fresh = False
        return buffer
    session.set_log_buffer(None)  # never show lines of an earlier choice under a new one
    result = _read(context, actor, request, since_time=request.since_time, pods=pods)
    buffer = LogBuffer(request, refresh, list(result.lines), result.last_timestamp, result.merged,
                       result.read_count, dict(result.notes), dict(result.errors))
    session.set_log_buffer(buffer)
    return buffer


def _read(context: ConsoleContext, actor: Actor, request: LogRequest, *, since_time: datetime | None,
          pods: tuple[PodInfo, ...] | None = None) -> LogResult:
    return read_logs(
        context.kubernetes(), actor, namespace=request.namespace, deployment=request.deployment, pod=request.pod,
        container=request.container, tail_lines=request.tail_lines, since_seconds=request.since_seconds,
        previous=request.previous, log_filter=request.log_filter, since_time=since_time,
        pods=list(pods) if pods is not None else None,
    )


def live_log(context: ConsoleContext, actor: Actor, buffer: LogBuffer, *, timestamps: bool, follow: bool) -> None:
    """The lines, the notes and the download; refreshed every 2 s while following."""
    st.fragment(run_every=FOLLOW_SECONDS if follow else None)(_live_log)(
        context, actor, buffer, timestamps=timestamps, follow=follow)


def _live_log(context: ConsoleContext, actor: Actor, buffer: LogBuffer, *, timestamps: bool, follow: bool) -> None:
    if follow and not buffer.fresh:
        try:
            # Before any line arrived, "newer" means newer than the first read.
            newer = _read(context, actor, buffer.request, since_time=buffer.last_timestamp or buffer.read_at)
        except Exception as err:  # noqa: BLE001 - a failed refresh keeps what is shown and says why
            show_error(err)
        else:
            buffer.lines = (buffer.lines + list(newer.lines))[-buffer.request.tail_lines:]
            buffer.last_timestamp = newer.last_timestamp
            buffer.notes.update(newer.notes)
            buffer.errors = dict(newer.errors)
    buffer.fresh = False
    for pod, note in buffer.notes.items():
        st.info(f"**{pod}**: {note}", icon=":material/content_cut:")
    for pod, message in buffer.errors.items():
        st.warning(f"**{pod}** did not answer: {message}", icon=":material/block:")
    shown = f"{len(buffer.lines):,} lines"
    if buffer.request.log_filter.active:
        shown += f" match the filter (of {buffer.read_count:,} read)"
    state = f" · following every {FOLLOW_SECONDS:g} s" if follow else ""
    newest = f" · newest {format_rfc3339(buffer.last_timestamp, 'microseconds')}" if buffer.last_timestamp else ""
    st.caption(shown + newest + state)
    text = render_lines(buffer.lines, timestamps=timestamps, pod_prefix=buffer.merged)
    if not buffer.lines:
        st.info("No log lines" + (" match the filter." if buffer.request.log_filter.active else " in this range."))
    else:
        st.code(text, language=None, height=600)
    st.download_button("Download", data=text, file_name=buffer.request.file_name, mime="text/plain",
                       icon=":material/download:", key="logs_download", disabled=not buffer.lines)

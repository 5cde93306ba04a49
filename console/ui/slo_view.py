"""SLOs page helpers: the overview table, one SLO's charts with change markers, and the SLA report."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import pandas as pd
import streamlit as st

from console.domain.access import Actor
from console.domain.audit import AuditFilter
from console.domain.slo import Objective, SlaMonth, SloStatus
from console.domain.slo_spec import SloCatalog
from console.domain.times import format_rfc3339
from console.errors import BackendUnavailable
from console.services import slo as service
from console.services.context import ConsoleContext
from console.services.deployments import deployment_detail
from console.ui.slo_figures import Marker

REFRESH_SECONDS = 30
RANGES = {"6 hours": timedelta(hours=6), "24 hours": timedelta(days=1), "3 days": timedelta(days=3),
          "7 days": timedelta(days=7), "30 days": timedelta(days=30)}
_POINTS = 240  # per chart: enough to see an incident, few enough to stay a quick range query
ALERT_ICONS = {"page": "🔴 page", "ticket": "🟠 ticket", "no data": "⚪ no data", "ok": "🟢 ok"}


@dataclass(frozen=True)
class ChangeMarkers:
    """The markers of one SLO's deployment, or why there are none."""

    markers: tuple[Marker, ...]
    problems: tuple[str, ...] = ()


def slo_directory(context: ConsoleContext) -> Path:
    directory = context.settings.slo_directory
    if directory is None:
        raise BackendUnavailable("No SLOs are configured: set CONSOLE_SLO_DIR to a directory of OpenSLO specs.",
                                 backend="SLO specs")
    return directory


@st.cache_data(ttl=60, max_entries=4, show_spinner=False)
def catalog(directory: str) -> SloCatalog:
    """The SLO specs of ``directory``, re-read at most once a minute."""
    return service.load_slo_directory(directory)


def deployment_of(objective: Objective) -> tuple[str, str] | None:
    """The Deployment an SLO watches: the spec's service names it, the selector's ``namespace`` label places it."""
    indicator = objective.indicator
    selector = getattr(indicator, "total", None) or getattr(indicator, "histogram", None)
    for matcher in getattr(selector, "matchers", ()):
        if matcher.name == "namespace" and matcher.operator == "=":
            return matcher.value, objective.service
    return None


# --- overview ----------------------------------------------------------------------------------------------


def _percent(value: float | None, digits: int = 3) -> float | None:
    return None if value is None or math.isnan(value) else round(value * 100, digits)


def _number(value: float | None, digits: int = 2) -> float | None:
    return None if value is None or math.isnan(value) else round(value, digits)


def duration_text(duration: timedelta | None) -> str:
    if duration is None:
        return "∞"
    seconds = int(duration.total_seconds())
    if seconds <= 0:
        return "exhausted"
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3600)
    if days:
        return f"{days}d {hours}h"
    return f"{hours}h {rest // 60}m" if hours else f"{rest // 60}m"


def overview_frame(statuses: list[SloStatus]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "SLO": f"?slo={status.name}",
                "service": status.service,
                "objective %": _percent(status.objective.target),
                "window": status.objective.window.label,
                "SLI now %": _percent(status.sli),
                "attainment %": _percent(status.attainment),
                "budget left %": _percent(status.error_budget_remaining, 1),
                "budget left min": _number(status.error_budget_remaining_minutes, 1),
                "burn 1h": _number(status.burn_rate_1h),
                "burn 6h": _number(status.burn_rate_6h),
                "burn 3d": _number(status.burn_rate_3d),
                "alert": ALERT_ICONS[status.alert_state.value],
                "exhausted in": duration_text(status.time_to_exhaustion),
                "source": "recording rules" if status.from_recording_rules else "raw counters",
            }
            for status in statuses
        ],
        columns=["SLO", "service", "objective %", "window", "SLI now %", "attainment %", "budget left %",
                 "budget left min", "burn 1h", "burn 6h", "burn 3d", "alert", "exhausted in", "source"],
    )


OVERVIEW_COLUMNS = {
    "SLO": st.column_config.LinkColumn("SLO", display_text=r"\?slo=(.*)", help="Open the SLO's charts"),
    "budget left %": st.column_config.ProgressColumn("budget left %", min_value=0, max_value=100, format="%.1f%%"),
}


def overview(context: ConsoleContext, objectives: tuple[Objective, ...], now: datetime) -> list[SloStatus]:
    """Every SLO's status, recording rules when Prometheus has them; errors reach the caller."""
    return service.slo_overview(context.prometheus(), objectives, now=now)


# --- detail ------------------------------------------------------------------------------------------------


def history_step(length: timedelta) -> timedelta:
    return max(timedelta(seconds=30), length / _POINTS)


def links(namespace: str, deployment: str, at: datetime) -> tuple[str, str]:
    """Links to the deployment and to its logs from ``at`` (a minute before, to see what led to it)."""
    deployment_link = "/deployments?" + urlencode({"namespace": namespace, "deployment": deployment})
    logs_link = "/logs?" + urlencode(
        {"namespace": namespace, "deployment": deployment, "since": format_rfc3339(at - timedelta(minutes=1))}
    )
    return deployment_link, logs_link


def change_markers(
    context: ConsoleContext, actor: Actor, objective: Objective, *, start: datetime, end: datetime
) -> ChangeMarkers:
    """Revisions of the SLO's Deployment (ReplicaSet creation) and console actions on it or its model."""
    target = deployment_of(objective)
    if target is None:
        return ChangeMarkers((), ("the SLO's selector names no namespace, so its deployment is unknown",))
    namespace, name = target
    markers: list[Marker] = []
    problems: list[str] = []
    model = ""
    try:
        detail = deployment_detail(context.kubernetes(), actor, namespace, name)
        model = detail.deployment.model
        for revision in detail.revisions:
            if revision.created_at is None or not start <= revision.created_at <= end:
                continue
            deployment_link, logs_link = links(namespace, name, revision.created_at)
            markers.append(Marker(
                at=revision.created_at, kind="revision",
                title=f"revision {revision.number} · model v{revision.model_version or '-'}",
                detail=f"{', '.join(revision.images)} · {revision.change_cause or 'no change-cause'}",
                deployment_link=deployment_link, logs_link=logs_link,
            ))
    except Exception as err:  # noqa: BLE001 - the charts stand without markers
        problems.append(f"revisions unavailable: {getattr(err, 'message', None) or err.__class__.__name__}")
    try:
        seen: set[int] = set()
        for text in filter(None, (f"{namespace}/{name}", model)):
            for record in context.audit.query(AuditFilter(target_contains=text, since=start, until=end, limit=200)):
                if record.id in seen:
                    continue
                seen.add(record.id)
                deployment_link, logs_link = links(namespace, name, record.at)
                markers.append(Marker(
                    at=record.at, kind="action",
                    title=f"{record.username}: {record.action} ({record.outcome.value})",
                    detail=f"{record.target} · {record.reason or 'no reason given'}",
                    deployment_link=deployment_link, logs_link=logs_link,
                ))
    except Exception as err:  # noqa: BLE001
        problems.append(f"console actions unavailable: {getattr(err, 'message', None) or err.__class__.__name__}")
    return ChangeMarkers(tuple(sorted(markers, key=lambda marker: marker.at)), tuple(problems))


def markers_frame(markers: tuple[Marker, ...]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"time (UTC)": marker.at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"),
             "kind": marker.kind, "what": marker.title, "detail": marker.detail,
             "deployment": marker.deployment_link, "logs": marker.logs_link}
            for marker in reversed(markers)
        ],
        columns=["time (UTC)", "kind", "what", "detail", "deployment", "logs"],
    )


MARKER_COLUMNS = {
    "deployment": st.column_config.LinkColumn("deployment", display_text="open deployment"),
    "logs": st.column_config.LinkColumn("logs", display_text="logs at that time"),
}


# --- SLA ---------------------------------------------------------------------------------------------------


def recent_months(now: datetime, count: int = 12) -> list[date]:
    months, year, month = [], now.year, now.month
    for _ in range(count):
        months.append(date(year, month, 1))
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return months


def sla_frame(months: list[SlaMonth]) -> pd.DataFrame:
    def verdict(sla: SlaMonth) -> str:
        if sla.breached is None:
            return "no data"
        if sla.breached:
            return "breached"
        return "met" if sla.complete else "on track"

    return pd.DataFrame(
        [
            {
                "service": sla.service,
                "SLO": sla.objective.name,
                "month": sla.month.strftime("%Y-%m"),
                "SLA target %": _percent(sla.sla_target),
                "attainment %": _percent(sla.attainment),
                "downtime min": _number(sla.downtime_minutes, 1),
                "allowed min": _number(sla.allowed_downtime_minutes, 1),
                "breached": verdict(sla),
                "month complete": sla.complete,
            }
            for sla in months
        ],
        columns=["service", "SLO", "month", "SLA target %", "attainment %", "downtime min", "allowed min",
                 "breached", "month complete"],
    )


def show_problems(catalog_: SloCatalog) -> None:
    if catalog_.problems:
        with st.expander(f"{len(catalog_.problems)} problem(s) in the SLO specs", icon=":material/warning:"):
            for problem in catalog_.problems:
                st.markdown(f"- {problem}")


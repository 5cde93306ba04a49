"""SLOs page helpers: the overview table, one SLO's charts with change markers, and the SLA report."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import pandas as pd
import streamlit as st

from console.domain.access import Actor
from console.domain.slo import Objective
from console.domain.slo_alerts import WORKBOOK_PERIOD, rule_alerts
from console.domain.slo_sla import SlaMonth
from console.domain.slo_spec import SloCatalog
from console.domain.slo_status import SloStatus
from console.domain.slo_windows import RollingWindow, duration_text
from console.domain.times import format_rfc3339
from console.errors import BackendUnavailable
from console.services import slo as service
from console.services import slo_markers
from console.services.context import ConsoleContext
from console.services.slo_markers import ChangeMarker, ChangeMarkers

REFRESH_SECONDS = 30
RANGES = {"6 hours": timedelta(hours=6), "24 hours": timedelta(days=1), "3 days": timedelta(days=3),
          "7 days": timedelta(days=7), "30 days": timedelta(days=30)}
_POINTS = 240  # per chart: enough to see an incident, few enough to stay a quick range query
ALERT_ICONS = {"page": "🔴 page", "ticket": "🟠 ticket", "no data": "⚪ no data", "ok": "🟢 ok"}


def slo_directory(context: ConsoleContext) -> Path:
    """The configured SLO directory, or BackendUnavailable saying how to configure one."""
    directory = context.settings.slo_directory
    if directory is None:
        raise BackendUnavailable("No SLOs are configured: set CONSOLE_SLO_DIR to a directory of OpenSLO specs.",
                                 backend="SLO specs")
    return directory


@st.cache_data(ttl=60, max_entries=4, show_spinner=False)
def catalog(directory: str) -> SloCatalog:
    """The SLO specs of ``directory``, re-read at most once a minute."""
    return service.load_slo_directory(directory)


# --- overview ----------------------------------------------------------------------------------------------


def _percent(value: float | None, digits: int = 3) -> float | None:
    return None if value is None or math.isnan(value) else round(value * 100, digits)


def _number(value: float | None, digits: int = 2) -> float | None:
    return None if value is None or math.isnan(value) else round(value, digits)


def duration_text_or_state(duration: timedelta | None) -> str:
    """Time to exhaustion as the overview shows it: ``3d 4h``, ``exhausted``, or ``∞`` when nothing burns."""
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


# The workbook's own 30-day table: the alerts' names, and the example in each burn column's help.
_WORKBOOK_ALERTS = rule_alerts(RollingWindow(WORKBOOK_PERIOD)).alerts
BURN_COLUMNS = tuple(f"burn {alert.name}" for alert in _WORKBOOK_ALERTS)


def overview_frame(statuses: list[SloStatus]) -> pd.DataFrame:
    """One row per SLO; the burn-rate columns are over the long windows of the SLO's own alert table."""
    rows = []
    for status in statuses:
        burn_rates = status.alert_burn_rates
        rows.append({
            "SLO": f"?slo={status.name}",
            "service": status.service,
            "objective %": _percent(status.objective.target),
            "window": status.objective.window.label,
            "SLI now %": _percent(status.sli),
            "attainment %": _percent(status.attainment),
            "budget left %": _percent(status.error_budget_remaining, 1),
            "budget left min": _number(status.error_budget_remaining_minutes, 1),
            **{f"burn {alert.name}": _number(burn) for alert, burn in burn_rates},
            "alert windows": " · ".join(duration_text(alert.long_window) for alert, _ in burn_rates),
            "alert": ALERT_ICONS[status.alert_state.value],
            "exhausted in": duration_text_or_state(status.time_to_exhaustion),
            "source": "recording rules" if status.from_recording_rules else "raw counters",
        })
    return pd.DataFrame(
        rows,
        columns=["SLO", "service", "objective %", "window", "SLI now %", "attainment %", "budget left %",
                 "budget left min", *BURN_COLUMNS, "alert windows", "alert", "exhausted in", "source"],
    )


def _burn_help(index: int) -> str:
    alert = _WORKBOOK_ALERTS[index]
    return (f"Burn rate over the {alert.name} alert's long window: {duration_text(alert.long_window)} for a 30-day "
            f"SLO, scaled with the SLO's window (see 'alert windows'). It {alert.severity.value}s above "
            f"{alert.factor:g}x, once {alert.budget_share * 100:g}% of the window's budget has burned.")


OVERVIEW_COLUMNS = {
    "SLO": st.column_config.LinkColumn("SLO", display_text=r"\?slo=(.*)", help="Open the SLO's charts"),
    "budget left %": st.column_config.ProgressColumn("budget left %", min_value=0, max_value=100, format="%.1f%%"),
    **{name: st.column_config.NumberColumn(name, help=_burn_help(index)) for index, name in enumerate(BURN_COLUMNS)},
    "alert windows": st.column_config.TextColumn(
        "alert windows", help="The long windows of page quick · page slow · ticket quick · ticket slow"),
}


def overview(context: ConsoleContext, actor: Actor, objectives: tuple[Objective, ...], now: datetime
             ) -> list[SloStatus]:
    """Every SLO's status, recording rules when Prometheus has them; errors reach the caller."""
    return service.slo_overview(context.prometheus(), actor, objectives, now=now)


# --- detail ------------------------------------------------------------------------------------------------


def alert_table_text(objective: Objective, at: datetime) -> str:
    """The SLO's burn-rate alerts in one line: each alert's windows, factor and share of the budget."""
    parts = [
        f"{alert.name} {alert.factor:.3g}x over {duration_text(alert.long_window)} and "
        f"{duration_text(alert.short_window)} ({alert.budget_share * 100:g}% of the budget)"
        for alert in objective.burn_rate_alerts(at=at).alerts
    ]
    return "burn-rate alerts: " + " · ".join(parts)


def history_step(length: timedelta) -> timedelta:
    """The step of a chart's range query: about 240 points, never under 30 s."""
    return max(timedelta(seconds=30), length / _POINTS)


def links(namespace: str, deployment: str, at: datetime) -> tuple[str, str]:
    """Links to the deployment and to its logs from ``at`` (a minute before, to see what led to it)."""
    deployment_link = "/deployments?" + urlencode({"namespace": namespace, "deployment": deployment})
    logs_link = "/logs?" + urlencode(
        {"namespace": namespace, "deployment": deployment, "since": format_rfc3339(at - timedelta(minutes=1))}
    )
    return deployment_link, logs_link


def change_markers(context: ConsoleContext, actor: Actor, objective: Objective, *, start: datetime,
                   end: datetime) -> ChangeMarkers:
    """The markers the acting user may see (a viewer: revisions only)."""
    return slo_markers.change_markers(context.optional_kubernetes(), context.audit, actor, objective,
                                      start=start, end=end)


def markers_frame(markers: tuple[ChangeMarker, ...]) -> pd.DataFrame:
    """The changes of the charts' range as a table, newest first, with their links."""
    return pd.DataFrame(
        [
            {"time (UTC)": marker.at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"),
             "kind": marker.kind, "what": marker.title, "detail": marker.detail,
             **dict(zip(("deployment", "logs"), links(marker.namespace, marker.deployment, marker.at)))}
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
    """The first days of the ``count`` months up to ``now``'s, newest first."""
    months, year, month = [], now.year, now.month
    for _ in range(count):
        months.append(date(year, month, 1))
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return months


def sla_status_text(sla: SlaMonth) -> str:
    """``breached``, ``met``, ``no data``, or a running month's state with the downtime it may still lose."""
    if sla.downtime_minutes_left is None:
        return sla.status.value
    return f"{sla.status.value} · {sla.downtime_minutes_left:,.1f} min left this month"


def sla_frame(months: list[SlaMonth]) -> pd.DataFrame:
    """The SLA report: one row per SLO with an SLA target, its month's status first among the numbers."""
    return pd.DataFrame(
        [
            {
                "service": sla.service,
                "SLO": sla.objective.name,
                "month": sla.month.strftime("%Y-%m"),
                "status": sla_status_text(sla),
                "SLA target %": _percent(sla.sla_target),
                "attainment %": _percent(sla.attainment),
                "downtime min": _number(sla.downtime_minutes, 1),
                "allowed min": _number(sla.allowed_downtime_minutes, 1),
                "left min": _number(sla.downtime_minutes_left, 1),
                "month complete": sla.complete,
            }
            for sla in months
        ],
        columns=["service", "SLO", "month", "status", "SLA target %", "attainment %", "downtime min", "allowed min",
                 "left min", "month complete"],
    )


def show_problems(catalog_: SloCatalog) -> None:
    """The SLO specs' problems, folded away under one warning."""
    if catalog_.problems:
        with st.expander(f"{len(catalog_.problems)} problem(s) in the SLO specs", icon=":material/warning:"):
            for problem in catalog_.problems:
                st.markdown(f"- {problem}")


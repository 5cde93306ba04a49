"""Audit page helpers: the filter form and the table rows."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pandas as pd
import streamlit as st

from console.domain.access import Actor, Permission
from console.domain.audit import AuditFilter, AuditRecord, Outcome
from console.services.audit import export_audit_csv
from console.services.context import ConsoleContext

ANY = "(any)"


def filter_form(usernames: list[str], actions: list[str], *, today: date) -> AuditFilter:
    """Draw the filters and return the filter they describe (the time range is whole UTC days)."""
    columns = st.columns([1, 1, 1, 1, 2])
    username = columns[0].selectbox("User", [ANY, *usernames], key="audit_user")
    action = columns[1].selectbox("Action", [ANY, *actions], key="audit_action")
    outcome = columns[2].selectbox("Outcome", [ANY, *(o.value for o in Outcome)], key="audit_outcome")
    target = columns[3].text_input("Target contains", key="audit_target")
    days = columns[4].date_input(
        "Time range (UTC)", value=(today - timedelta(days=30), today), max_value=today, key="audit_days"
    )
    since, until = _day_range(days)
    return AuditFilter(
        username=None if username == ANY else username,
        action=None if action == ANY else action,
        outcome=None if outcome == ANY else Outcome(outcome),
        target_contains=target.strip() or None,
        since=since,
        until=until,
    )


def _day_range(days: object) -> tuple[datetime | None, datetime | None]:
    # While the user picks a range, the widget holds one date only.
    if isinstance(days, (tuple, list)):
        picked = list(days)
    else:
        picked = [days] if days else []
    if not picked:
        return None, None
    start = datetime.combine(picked[0], time.min, tzinfo=UTC)
    end_day = picked[-1] if len(picked) > 1 else picked[0]
    return start, datetime.combine(end_day, time.min, tzinfo=UTC) + timedelta(days=1)


def records_frame(records: list[AuditRecord]) -> pd.DataFrame:
    """The records as the Audit page's table (newest first, as given)."""
    return pd.DataFrame(
        [
            {
                "time (UTC)": record.at.strftime("%Y-%m-%d %H:%M:%S"),
                "user": record.username,
                "role": record.role,
                "action": record.action,
                "target": record.target,
                "outcome": record.outcome.value,
                "reason": record.reason,
                "parameters": ", ".join(f"{k}={v}" for k, v in sorted(record.parameters.items())),
                "error": record.error,
            }
            for record in records
        ],
        columns=["time (UTC)", "user", "role", "action", "target", "outcome", "reason", "parameters", "error"],
    )


def download_button(context: ConsoleContext, actor: Actor, audit_filter: AuditFilter) -> None:
    """The CSV export of what the filter shows, for admins (the service checks the role again)."""
    if not actor.can(Permission.EXPORT_AUDIT):
        return
    st.download_button(
        "Download CSV",
        data=lambda: export_audit_csv(context.audit, actor, audit_filter),
        file_name="audit.csv",
        mime="text/csv",
        icon=":material/download:",
    )

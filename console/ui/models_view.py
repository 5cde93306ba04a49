"""Models page helpers: tables, the promote and model-rollback dialogs, the alias holder at a time."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time

import pandas as pd
import streamlit as st

from console.domain.access import Actor, Permission
from console.domain.changes import MAX_REASON_CHARS
from console.domain.mlflow_models import AliasHistory
from console.domain.times import to_utc
from console.services import models as service
from console.services.context import ConsoleContext
from console.services.promotion import ModelActionResponse, ModelRollbackRequest, PromoteRequest
from console.ui import readers, session
from console.ui.errors import show_error, shown_errors

PAGE = "models"


def versions_frame(overview: service.ModelOverview) -> pd.DataFrame:
    """The versions table: aliases, the gate's key metric, status, the other metrics."""
    return pd.DataFrame(
        [
            {
                "version": row.version.version,
                "aliases": ", ".join(row.version.aliases),
                row.key_metric: row.key_metric_value,
                "status": row.version.status + (" (archived)" if row.version.is_archived else ""),
                "created": row.version.creation_time,
                "other metrics": ", ".join(f"{k}={v:.4g}" for k, v in sorted(row.source_run_metrics.items())
                                           if k != row.key_metric),
                "tags": ", ".join(f"{k}={v}" for k, v in sorted(row.version.tags.items())
                                  if not k.startswith("mlops.console/")),
                "run id": row.version.run_id,
            }
            for row in overview.versions
        ],
        columns=["version", "aliases", overview.policy.key_metric, "status", "created", "other metrics", "tags",
                 "run id"],
    )


def history_frame(histories: tuple[AliasHistory, ...]) -> pd.DataFrame:
    """The promotion history of every alias, newest first within each alias."""
    return pd.DataFrame(
        [
            {"alias": h.alias, "at (UTC)": r.at, "version": r.version, "previous": r.previous_version,
             "action": r.action, "by": r.actor, "reason": r.reason, "gate": r.gate,
             "overridden": "yes" if r.overridden else ""}
            for h in histories for r in reversed(h.records)
        ],
        columns=["alias", "at (UTC)", "version", "previous", "action", "by", "reason", "gate", "overridden"],
    )


def _after_action(result: ModelActionResponse) -> None:
    readers.clear_after_change()
    session.post_notice(PAGE, result.message)
    session.watch_rollouts(result.rollout_targets)
    st.rerun()


def _run(action: Callable[[], ModelActionResponse]) -> None:
    try:
        result = action()
    except Exception as err:  # noqa: BLE001 - shown in the dialog, recorded by the service
        show_error(err)
        return
    _after_action(result)


def _following(context: ConsoleContext, actor: Actor, model: str, alias: str) -> None:
    if not context.settings.kubernetes_configured:
        st.caption("Kubernetes is not connected: only the registry changes.")
        return
    with shown_errors():
        followers = context.promotions().following_deployments(actor, model=model, alias=alias)
        if followers:
            st.write("Rolls out to: " + ", ".join(f"`{d.key}` (now v{d.model_version or '-'})" for d in followers))
        else:
            st.caption(f"No deployment follows {alias!r}: only the registry changes.")


@st.dialog("Promote model version", width="large")
def promote_dialog(context: ConsoleContext, actor: Actor, model: str, version: int, alias: str) -> None:
    """The gate's verdict, the followers that roll out, and the confirmation (an admin may override)."""
    with shown_errors():
        check = context.promotions().check(actor, model=model, version=version, alias=alias)
        gate = check.gate
        holder = "nobody" if check.current_holder is None else f"version {check.current_holder}"
        st.write(f"Move **{alias}** of **{model}** from {holder} to **version {version}**.")
        columns = st.columns(3)
        columns[0].metric(f"candidate {gate.policy.key_metric}", "-" if gate.candidate_value is None
                          else f"{gate.candidate_value:.4g}")
        columns[1].metric(f"holder {gate.policy.key_metric}", "-" if gate.holder_value is None
                          else f"{gate.holder_value:.4g}")
        columns[2].metric("gain", "-" if gate.gain is None else f"{gate.gain:+.4g}",
                          help=f"{gate.policy.direction}, at least {gate.policy.min_gain:g} required")
        (st.success if gate.passed else st.error)(f"Gate {gate.summary}")
        _following(context, actor, model, alias)
        override = False
        if not gate.passed:
            if not actor.can(Permission.OVERRIDE_GATE):
                st.info("A failing gate blocks the promotion; only an admin may override it.")
                return
            override = st.checkbox("Override the failed gate (admin; recorded with your reason)", key="promote_override")
        reason = st.text_area("Reason (recorded with the promotion)", key="promote_reason", max_chars=MAX_REASON_CHARS)
        if st.button("Promote", type="primary", key="promote_confirm", disabled=not gate.passed and not override):
            _run(lambda: context.promotions().promote(PromoteRequest(
                actor=actor, model=model, version=version, alias=alias, reason=reason, override_gate=override,
                expected_holder=check.current_holder)))


@st.dialog("Roll back model", width="large")
def rollback_dialog(context: ConsoleContext, actor: Actor, model: str, alias: str) -> None:
    """Where a model rollback moves the alias, the followers that roll back, and the confirmation."""
    with shown_errors():
        current, target = context.promotions().rollback_target(actor, model=model, alias=alias)
        st.write(f"Move **{alias}** of **{model}** back from version {current} to **version {target}**, its previous "
                 "holder; each following deployment goes back to the newest revision that served it.")
        _following(context, actor, model, alias)
        reason = st.text_area("Reason (recorded with the rollback)", key="model_rollback_reason", max_chars=MAX_REASON_CHARS)
        if st.button("Roll back", type="primary", key="model_rollback_confirm"):
            _run(lambda: context.promotions().roll_back(ModelRollbackRequest(
                actor=actor, model=model, alias=alias, reason=reason, expected_holder=current)))


def action_bar(context: ConsoleContext, actor: Actor, overview: service.ModelOverview) -> None:
    """Promote and roll back, for roles that may (the service checks the role again)."""
    if not actor.can(Permission.PROMOTE_MODEL):
        return
    bar = st.columns([1, 1, 1, 1])
    version = bar[0].selectbox("Version", [r.version.version for r in overview.versions], key="models_version")
    alias = bar[1].text_input("Alias", value=service.CHAMPION, key="models_alias").strip()
    if bar[2].button("Promote", icon=":material/upgrade:", key="models_promote"):
        promote_dialog(context, actor, overview.model.name, version, alias)
    if bar[3].button("Roll back model", icon=":material/history:", key="models_rollback"):
        rollback_dialog(context, actor, overview.model.name, alias)


def holder_at_time(context: ConsoleContext, actor: Actor, model: str) -> None:
    """Which version held an alias at a UTC time the operator picks."""
    when = st.columns([1, 1, 1, 3])
    asked_alias = when[0].text_input("Alias at time T", value=service.CHAMPION, key="models_at_alias").strip()
    day = when[1].date_input("Date (UTC)", key="models_at_date")
    moment = when[2].time_input("Time (UTC)", value=time(12, 0), key="models_at_time")
    answer = service.alias_holder_at(context.mlflow(), context.audit, actor, model=model, alias=asked_alias,
                                     at=to_utc(datetime.combine(day, moment)))
    if not answer.known:
        when[3].info("Before the retained history: unknown.")
    elif answer.version is None:
        when[3].info(f"Nobody held {asked_alias!r} then.")
    else:
        by = f" (since {answer.record.at:%Y-%m-%d %H:%M} UTC, {answer.record.action} by {answer.record.actor})" \
            if answer.record else ""
        when[3].success(f"Version {answer.version} held {asked_alias!r}{by}.")


def gate_caption(overview: service.ModelOverview) -> str:
    """The model's gate policy in one line, with the problems of its tags."""
    policy = overview.policy
    return (f"Gate: {policy.key_metric}, {policy.direction}, minimum gain {policy.min_gain:g}"
            + (" · tag problems: " + "; ".join(overview.policy_problems) if overview.policy_problems else ""))

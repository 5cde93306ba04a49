"""Models page helpers: cached registry reads, tables, the promote and model-rollback dialogs, rollout progress."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import streamlit as st

from console.adapters.kubernetes import KubernetesCluster
from console.domain.access import Actor, Permission
from console.domain.mlflow_models import AliasHistory, RegisteredModel
from console.services import deployments as deployment_service
from console.services import models as service
from console.services import promotion
from console.services.context import ConsoleContext
from console.ui.backends import kubernetes_cluster, mlflow_registry
from console.ui.deployments_view import WATCH_KEY, cached_rows
from console.ui.errors import show_error, shown_errors

MESSAGE_KEY = "models_message"
ROLLOUTS_KEY = "models_rollouts"


@st.cache_data(ttl=30, max_entries=4, show_spinner=False)
def cached_models(tracking_uri: str) -> tuple[RegisteredModel, ...]:
    return mlflow_registry().list_registered_models()


@st.cache_data(ttl=15, max_entries=16, show_spinner=False)
def cached_overview(tracking_uri: str, model: str) -> service.ModelOverview:
    return service.model_overview(mlflow_registry(), model=model)


@st.cache_data(ttl=15, max_entries=16, show_spinner=False)
def cached_history(tracking_uri: str, model: str) -> tuple[AliasHistory, ...]:
    return service.promotion_history(mlflow_registry(), model=model)


def optional_cluster(context: ConsoleContext) -> KubernetesCluster | None:
    """The cluster when Kubernetes is configured; None lets a promotion change only the registry."""
    return kubernetes_cluster() if context.settings.kubernetes_configured else None


def clear_caches() -> None:
    cached_models.clear()
    cached_overview.clear()
    cached_history.clear()
    cached_rows.clear()


def versions_frame(overview: service.ModelOverview) -> pd.DataFrame:
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
    return pd.DataFrame(
        [
            {"alias": h.alias, "at (UTC)": r.at, "version": r.version, "previous": r.previous_version,
             "action": r.action, "by": r.actor, "reason": r.reason, "gate": r.gate,
             "overridden": "yes" if r.overridden else ""}
            for h in histories for r in reversed(h.records)
        ],
        columns=["alias", "at (UTC)", "version", "previous", "action", "by", "reason", "gate", "overridden"],
    )


def _after_action(result: promotion.ModelActionResult) -> None:
    clear_caches()
    st.session_state[MESSAGE_KEY] = result.message
    if result.rollout_targets:
        st.session_state[ROLLOUTS_KEY] = list(result.rollout_targets)
        st.session_state[WATCH_KEY] = result.rollout_targets[0]
    st.rerun()


def _run(action: Callable[[], promotion.ModelActionResult]) -> None:
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
        followers = promotion.following_deployments(kubernetes_cluster(), actor, model=model, alias=alias)
        if followers:
            st.write("Rolls out to: " + ", ".join(f"`{d.key}` (now v{d.model_version or '-'})" for d in followers))
        else:
            st.caption(f"No deployment follows {alias!r}: only the registry changes.")


@st.dialog("Promote model version", width="large")
def promote_dialog(context: ConsoleContext, actor: Actor, model: str, version: int, alias: str) -> None:
    with shown_errors():
        check = service.check_promotion(mlflow_registry(), model=model, version=version, alias=alias)
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
        reason = st.text_area("Reason (recorded with the promotion)", key="promote_reason", max_chars=1000)
        if st.button("Promote", type="primary", key="promote_confirm", disabled=not gate.passed and not override):
            _run(lambda: promotion.promote_model(
                registry=mlflow_registry(), cluster=optional_cluster(context), audit=context.audit, actor=actor,
                model=model, version=version, alias=alias, reason=reason, override_gate=override,
                expected_holder=check.current_holder, clock=context.clock))


@st.dialog("Roll back model", width="large")
def rollback_dialog(context: ConsoleContext, actor: Actor, model: str, alias: str) -> None:
    with shown_errors():
        current, target = promotion.rollback_target(mlflow_registry(), model=model, alias=alias)
        st.write(f"Move **{alias}** of **{model}** back from version {current} to **version {target}**, its previous "
                 "holder; each following deployment goes back to the newest revision that served it.")
        _following(context, actor, model, alias)
        reason = st.text_area("Reason (recorded with the rollback)", key="model_rollback_reason", max_chars=1000)
        if st.button("Roll back", type="primary", key="model_rollback_confirm"):
            _run(lambda: promotion.rollback_model(
                registry=mlflow_registry(), cluster=optional_cluster(context), audit=context.audit, actor=actor,
                model=model, alias=alias, reason=reason, expected_holder=current, clock=context.clock))


@st.fragment(run_every=1.5)
def rollout_progress(actor: Actor) -> None:
    """Live progress of the deployments the last promotion or rollback touched, until each is done."""
    targets = st.session_state.get(ROLLOUTS_KEY) or []
    if not targets:
        return
    remaining = []
    for namespace, name in targets:
        with shown_errors():
            progress = deployment_service.rollout_status(kubernetes_cluster(), actor, namespace, name)
            st.progress(progress.fraction, text=f"{namespace}/{name}: {progress.message}")
            if not (progress.done or progress.failed):
                remaining.append((namespace, name))
    if not remaining:
        st.session_state.pop(ROLLOUTS_KEY, None)
        cached_rows.clear()

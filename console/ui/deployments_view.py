"""Deployments page helpers: tables, the action dialogs and the live rollout progress."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pandas as pd
import streamlit as st

from console.domain.access import Actor, Permission
from console.domain.workloads import Health
from console.services import deployments as service
from console.services.context import ConsoleContext
from console.ui.backends import kubernetes_cluster
from console.ui.errors import show_error, shown_errors

WATCH_KEY = "deployments_watch"
MESSAGE_KEY = "deployments_message"
FAILED_KEY = "deployments_message_is_failure"
HEALTH_ICONS = {Health.HEALTHY: "●", Health.PROGRESSING: "◐", Health.DEGRADED: "✖", Health.PAUSED: "❚❚"}


def age(created_at: datetime | None, now: datetime) -> str:
    if created_at is None:
        return "-"
    seconds = max(0, int((now - created_at).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


@st.cache_resource(ttl=10, max_entries=4, show_spinner=False)
def cached_rows(namespaces: tuple[str, ...], _actor: Actor) -> tuple[service.DeploymentRow, ...]:
    """All deployments (three list calls), shared by every viewer for a few seconds; keyed by the allow-list.

    A resource cache, not a data cache: the rows are frozen and nobody changes them, so every session can be
    handed the same objects instead of an unpickled copy of 200 deployments with their pods on each run.
    """
    return tuple(service.list_deployments(kubernetes_cluster(), _actor))


def overview_frame(rows: list[service.DeploymentRow], now: datetime) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "namespace": row.deployment.namespace,
                "name": row.deployment.name,
                "ready": f"{row.deployment.ready}/{row.deployment.desired}",
                "up-to-date": row.deployment.updated,
                "available": row.deployment.available,
                "age": age(row.deployment.created_at, now),
                "image": ", ".join(row.deployment.images),
                "model": row.deployment.model,
                "version": row.deployment.model_version,
                "health": f"{HEALTH_ICONS[row.deployment.health]} {row.deployment.health.value}",
                "reason": row.deployment.health_reason,
                "last change": row.deployment.change_cause,
            }
            for row in rows
        ],
        columns=["namespace", "name", "ready", "up-to-date", "available", "age", "image", "model", "version",
                 "health", "reason", "last change"],
    )


def revisions_frame(detail: service.DeploymentDetail, now: datetime) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "revision": revision.number,
                "current": "◀ current" if revision.is_current else "",
                "age": age(revision.created_at, now),
                "images": ", ".join(revision.images),
                "model version": revision.model_version,
                "change-cause": revision.change_cause,
                "replicas": f"{revision.ready_replicas}/{revision.replicas}",
            }
            for revision in detail.revisions
        ],
        columns=["revision", "current", "age", "images", "model version", "change-cause", "replicas"],
    )


def pods_frame(detail: service.DeploymentDetail, now: datetime) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "pod": pod.name,
                "status": pod.status_text,
                "ready": f"{pod.ready_containers}/{pod.total_containers}",
                "restarts": pod.restarts,
                "age": age(pod.created_at, now),
                "node": pod.node,
            }
            for pod in detail.pods
        ],
        columns=["pod", "status", "ready", "restarts", "age", "node"],
    )


def events_frame(detail: service.DeploymentDetail, now: datetime) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"last seen": age(e.last_seen, now), "type": e.type, "reason": e.reason, "object": e.involved,
             "message": e.message, "count": e.count}
            for e in detail.events
        ],
        columns=["last seen", "type", "reason", "object", "message", "count"],
    )


def _after_action(result: service.ActionResult) -> None:
    cached_rows.clear()
    st.session_state[MESSAGE_KEY] = result.message
    if result.changed:
        st.session_state[WATCH_KEY] = (result.deployment.namespace, result.deployment.name)
    st.rerun()


def _run_action(action: Callable[[str], service.ActionResult], reason: str) -> None:
    try:
        result = action(reason)
    except Exception as err:  # noqa: BLE001 - shown in the dialog, recorded by the service
        show_error(err)
        return
    _after_action(result)


def _reason_input(key: str) -> str:
    return st.text_area("Reason (recorded with the action)", key=key, max_chars=1000)


@st.dialog("Scale deployment")
def scale_dialog(context: ConsoleContext, actor: Actor, deployment: service.DeploymentInfo) -> None:
    st.write(f"**{deployment.key}** has {deployment.desired} replicas.")
    replicas = st.number_input("Replicas", min_value=0, max_value=context.settings.max_replicas,
                               value=deployment.desired, step=1, key="scale_replicas")
    reason = _reason_input("scale_reason")
    if st.button("Scale", type="primary", key="scale_confirm"):
        _run_action(lambda why: service.scale(
            kubernetes_cluster(), context.audit, actor, namespace=deployment.namespace, name=deployment.name,
            replicas=replicas, seen_resource_version=deployment.resource_version, reason=why,
            max_replicas=context.settings.max_replicas, clock=context.clock), reason)


@st.dialog("Restart deployment")
def restart_dialog(context: ConsoleContext, actor: Actor, deployment: service.DeploymentInfo) -> None:
    st.write(f"Every pod of **{deployment.key}** is replaced by a rolling update.")
    reason = _reason_input("restart_reason")
    if st.button("Restart", type="primary", key="restart_confirm"):
        _run_action(lambda why: service.restart(
            kubernetes_cluster(), context.audit, actor, namespace=deployment.namespace, name=deployment.name,
            seen_resource_version=deployment.resource_version, reason=why, clock=context.clock), reason)


@st.dialog("Pause or resume rollout")
def pause_dialog(context: ConsoleContext, actor: Actor, deployment: service.DeploymentInfo) -> None:
    verb = "Resume" if deployment.paused else "Pause"
    st.write(f"{verb} the rollout of **{deployment.key}**.")
    reason = _reason_input("pause_reason")
    if st.button(verb, type="primary", key="pause_confirm"):
        _run_action(lambda why: service.set_paused(
            kubernetes_cluster(), context.audit, actor, namespace=deployment.namespace, name=deployment.name,
            paused=not deployment.paused, seen_resource_version=deployment.resource_version, reason=why,
            clock=context.clock), reason)


@st.dialog("Roll back deployment", width="large")
def rollback_dialog(context: ConsoleContext, actor: Actor, deployment: service.DeploymentInfo,
                    revisions: tuple[int, ...]) -> None:
    revision = st.selectbox("Revision", revisions, key="rollback_revision")
    with shown_errors():
        plan = service.plan_rollback(kubernetes_cluster(), actor, namespace=deployment.namespace,
                                     name=deployment.name, to_revision=revision)
        if deployment.paused:
            st.warning("This deployment is paused: resume it before rolling back.")
        if plan.already_current:
            st.info(f"The current template already matches revision {plan.target.number}: nothing would change.")
        else:
            st.write("What changes:")
            st.table(pd.DataFrame([{"what": c.what, "now": c.before, "after rollback": c.after} for c in plan.changes]))
        reason = _reason_input("rollback_reason")
        if st.button("Roll back", type="primary", key="rollback_confirm"):
            _run_action(lambda why: service.rollback(
                kubernetes_cluster(), context.audit, actor, namespace=deployment.namespace, name=deployment.name,
                to_revision=revision, seen_resource_version=deployment.resource_version, reason=why,
                clock=context.clock), reason)


def action_bar(context: ConsoleContext, actor: Actor, detail: service.DeploymentDetail) -> None:
    """The action buttons, for roles that may act; the service checks the role again."""
    if not actor.can(Permission.OPERATE_DEPLOYMENT):
        return
    deployment = detail.deployment
    columns = st.columns(4)
    if columns[0].button("Scale", icon=":material/unfold_more:", key="action_scale"):
        scale_dialog(context, actor, deployment)
    if columns[1].button("Restart", icon=":material/restart_alt:", key="action_restart"):
        restart_dialog(context, actor, deployment)
    if columns[2].button("Resume" if deployment.paused else "Pause", icon=":material/pause_circle:", key="action_pause"):
        pause_dialog(context, actor, deployment)
    if columns[3].button("Roll back", icon=":material/history:", key="action_rollback",
                         disabled=len(detail.revisions) < 2):
        rollback_dialog(context, actor, deployment, tuple(r.number for r in detail.revisions if not r.is_current))


@st.fragment(run_every=1.5)
def rollout_watch(actor: Actor) -> None:
    """The live progress of the last action's rollout, until it completes or fails."""
    watched = st.session_state.get(WATCH_KEY)
    if not watched:
        return
    namespace, name = watched
    with shown_errors():
        progress = service.rollout_status(kubernetes_cluster(), actor, namespace, name)
        st.progress(progress.fraction, text=f"{namespace}/{name}: {progress.message}")
        if progress.done or progress.failed:
            # Redraw the whole page once, so the table and detail show the finished state.
            st.session_state.pop(WATCH_KEY, None)
            st.session_state[MESSAGE_KEY] = f"{namespace}/{name}: {progress.message}"
            st.session_state[FAILED_KEY] = progress.failed
            cached_rows.clear()
            st.rerun(scope="app")

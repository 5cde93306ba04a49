"""Deployments page helpers: the filters and tables, and the action dialogs."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pandas as pd
import streamlit as st

from console.domain.access import Actor, Permission
from console.domain.changes import MAX_REASON_CHARS
from console.domain.workloads import Health
from console.services import deployments as service
from console.services.context import ConsoleContext
from console.services.promotion import ModelRollbackRequest
from console.ui import readers, session
from console.ui.errors import show_error, shown_errors

PAGE = "deployments"
HEALTH_ICONS = {Health.HEALTHY: "●", Health.PROGRESSING: "◐", Health.DEGRADED: "✖", Health.PAUSED: "❚❚"}


def age(created_at: datetime | None, now: datetime) -> str:
    """How long ago ``created_at`` was, as kubectl prints it (``5d``, ``3h``, ``12m``, ``40s``)."""
    if created_at is None:
        return "-"
    seconds = max(0, int((now - created_at).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


HEALTH_CHOICES = tuple(health.value for health in Health)


def filtered(rows: tuple[service.DeploymentRow, ...], *, namespaces: list[str], healths: list[str],
             text: str) -> list[service.DeploymentRow]:
    """The rows that pass the page's filters (any namespace or health when none is chosen; text anywhere)."""
    text = text.strip().lower()
    return [
        row for row in rows
        if (not namespaces or row.deployment.namespace in namespaces)
        and (not healths or row.deployment.health.value in healths)
        and (not text or text in " ".join((row.deployment.key, *row.deployment.images, row.deployment.model,
                                           row.deployment.change_cause)).lower())
    ]


def detail_caption(deployment: service.DeploymentInfo) -> str:
    """The line under a deployment's name: health, model, alias, resourceVersion."""
    return (f"{HEALTH_ICONS[deployment.health]} {deployment.health.value} {deployment.health_reason} · "
            f"model {deployment.model or '-'} v{deployment.model_version or '-'} · follows alias "
            f"{deployment.alias or '-'} · resourceVersion {deployment.resource_version}")


def overview_frame(rows: list[service.DeploymentRow], now: datetime) -> pd.DataFrame:
    """The overview table: one row per deployment."""
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
    """The revision history table of one deployment, newest first."""
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
    """The pods table of one deployment."""
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
    """The recent events of one deployment, newest first."""
    return pd.DataFrame(
        [
            {"last seen": age(e.last_seen, now), "type": e.type, "reason": e.reason, "object": e.involved,
             "message": e.message, "count": e.count}
            for e in detail.events
        ],
        columns=["last seen", "type", "reason", "object", "message", "count"],
    )


def _after_action(result: service.ActionResult) -> None:
    readers.clear_after_change()
    session.post_notice(PAGE, result.message)
    if result.changed:
        session.watch_rollouts([(result.deployment.namespace, result.deployment.name)])
    st.rerun()


def _run_action(action: Callable[[str], service.ActionResult], reason: str) -> None:
    try:
        result = action(reason)
    except Exception as err:  # noqa: BLE001 - shown in the dialog, recorded by the service
        show_error(err)
        return
    _after_action(result)


def _reason_input(key: str) -> str:
    return st.text_area("Reason (recorded with the action)", key=key, max_chars=MAX_REASON_CHARS)


@st.dialog("Scale deployment")
def scale_dialog(context: ConsoleContext, actor: Actor, deployment: service.DeploymentInfo) -> None:
    """Confirm a scale with a replica count and a reason."""
    st.write(f"**{deployment.key}** has {deployment.desired} replicas.")
    replicas = st.number_input("Replicas", min_value=0, max_value=context.settings.max_replicas,
                               value=deployment.desired, step=1, key="scale_replicas")
    reason = _reason_input("scale_reason")
    if st.button("Scale", type="primary", key="scale_confirm"):
        _run_action(lambda why: service.scale(
            context.kubernetes(), context.audit, actor, namespace=deployment.namespace, name=deployment.name,
            replicas=replicas, seen_resource_version=deployment.resource_version, reason=why,
            max_replicas=context.settings.max_replicas, clock=context.clock), reason)


@st.dialog("Restart deployment")
def restart_dialog(context: ConsoleContext, actor: Actor, deployment: service.DeploymentInfo) -> None:
    """Confirm a rolling restart with a reason."""
    st.write(f"Every pod of **{deployment.key}** is replaced by a rolling update.")
    reason = _reason_input("restart_reason")
    if st.button("Restart", type="primary", key="restart_confirm"):
        _run_action(lambda why: service.restart(
            context.kubernetes(), context.audit, actor, namespace=deployment.namespace, name=deployment.name,
            seen_resource_version=deployment.resource_version, reason=why, clock=context.clock), reason)


@st.dialog("Pause or resume rollout")
def pause_dialog(context: ConsoleContext, actor: Actor, deployment: service.DeploymentInfo) -> None:
    """Confirm a pause or a resume with a reason."""
    verb = "Resume" if deployment.paused else "Pause"
    st.write(f"{verb} the rollout of **{deployment.key}**.")
    reason = _reason_input("pause_reason")
    if st.button(verb, type="primary", key="pause_confirm"):
        _run_action(lambda why: service.set_paused(
            context.kubernetes(), context.audit, actor, namespace=deployment.namespace, name=deployment.name,
            paused=not deployment.paused, seen_resource_version=deployment.resource_version, reason=why,
            clock=context.clock), reason)


@st.dialog("Roll back deployment", width="large")
def rollback_dialog(context: ConsoleContext, actor: Actor, deployment: service.DeploymentInfo,
                    revisions: tuple[int, ...]) -> None:
    """Pick a revision, see what changes, confirm with a reason."""
    revision = st.selectbox("Revision", revisions, key="rollback_revision")
    with shown_errors():
        plan = service.plan_rollback(context.kubernetes(), actor, namespace=deployment.namespace,
                                     name=deployment.name, to_revision=revision)
        if deployment.paused:
            st.warning("This deployment is paused: resume it before rolling back.")
        if plan.already_current:
            st.info(f"The current template already matches revision {plan.target.number}: nothing would change.")
        else:
            st.write("What changes:")
            st.table(pd.DataFrame([{"what": c.what, "now": c.before, "after rollback": c.after} for c in plan.changes]))
        reason = _reason_input("rollback_reason")
        if plan.model_change is not None and not plan.already_current:
            _model_rollback_choice(context, actor, plan.model_change, reason)
            return
        if st.button("Roll back", type="primary", key="rollback_confirm"):
            _run_action(lambda why: service.rollback(
                context.kubernetes(), context.audit, actor, namespace=deployment.namespace, name=deployment.name,
                to_revision=revision, seen_resource_version=deployment.resource_version, reason=why,
                clock=context.clock), reason)


def _model_rollback_choice(context: ConsoleContext, actor: Actor, change: service.ServedModelChange,
                           reason: str) -> None:
    """A revision that serves another model version: the alias moves with it (a model rollback), or nothing."""
    st.warning(f"This revision serves **{change.model} version {change.serving_after}**, while alias "
               f"**{change.alias}** holds version {change.serving_now}: a plain rollback would leave the registry "
               "and the cluster disagreeing, so it is not offered. A model rollback moves the alias to version "
               f"{change.serving_after} and rolls back every deployment that follows it.",
               icon=":material/warning:")
    if st.button(f"Roll back the model to version {change.serving_after}", type="primary",
                 key="rollback_model_confirm"):
        try:
            response = context.promotions().roll_back(ModelRollbackRequest(
                actor=actor, model=change.model, alias=change.alias, reason=reason,
                to_version=int(change.serving_after), revisions={change.deployment: change.to_revision}))
        except Exception as err:  # noqa: BLE001 - shown in the dialog, recorded by the service
            show_error(err)
            return
        readers.clear_after_change()
        session.post_notice(PAGE, response.message)
        session.watch_rollouts(response.rollout_targets)
        st.rerun()


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

"""What changed while an SLO moved: its Deployment's revisions, and the console actions on it or its model.

A read like the others: the acting user is checked, and the answer depends on the role. Revisions come from the
cluster and every role sees them; console actions come from the audit log, which only operators and admins read,
so a viewer gets revisions only. Refused and failed attempts changed nothing and are not markers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from console.adapters.audit_store import AuditStore
from console.adapters.kubernetes import KubernetesCluster
from console.domain.access import Actor, Permission
from console.domain.audit import AuditFilter, Outcome
from console.domain.slo import Objective
from console.services.audit import list_audit, require
from console.services.deployments import deployment_detail

MAX_ACTIONS = 200


@dataclass(frozen=True)
class ChangeMarker:
    """A moment worth pointing at on an SLO's charts: a deployment revision or a console action."""

    at: datetime
    kind: str  # "revision" or "action"
    title: str  # short text, e.g. "revision 5 · model v4" or "operator: rollback"
    detail: str
    namespace: str
    deployment: str


@dataclass(frozen=True)
class ChangeMarkers:
    """The markers of one SLO's deployment (oldest first), why some are missing, and a note for the reader."""

    markers: tuple[ChangeMarker, ...]
    problems: tuple[str, ...] = ()
    note: str = ""


def deployment_of(objective: Objective) -> tuple[str, str] | None:
    """The Deployment an SLO watches: the spec's service names it, the selector's ``namespace`` label places it."""
    indicator = objective.indicator
    selector = getattr(indicator, "total", None) or getattr(indicator, "histogram", None)
    for matcher in getattr(selector, "matchers", ()):
        if matcher.name == "namespace" and matcher.operator == "=":
            return matcher.value, objective.service
    return None


def _why(err: Exception) -> str:
    return getattr(err, "message", None) or err.__class__.__name__


def change_markers(cluster: KubernetesCluster | None, audit: AuditStore, actor: Actor, objective: Objective, *,
                   start: datetime, end: datetime) -> ChangeMarkers:
    """Every change of the SLO's Deployment from ``start`` to ``end`` that ``actor`` may see; a backend that does
    not answer costs its markers only (the charts stand without them)."""
    require(actor, Permission.READ)
    target = deployment_of(objective)
    if target is None:
        return ChangeMarkers((), ("the SLO's selector names no namespace, so its deployment is unknown",))
    namespace, name = target
    markers: list[ChangeMarker] = []
    problems: list[str] = []
    model = ""
    try:
        if cluster is None:
            raise RuntimeError("Kubernetes is not connected")
        detail = deployment_detail(cluster, actor, namespace, name)
        model = detail.deployment.model
        markers += [
            ChangeMarker(revision.created_at, "revision",
                         f"revision {revision.number} · model v{revision.model_version or '-'}",
                         f"{', '.join(revision.images)} · {revision.change_cause or 'no change-cause'}", namespace, name)
            for revision in detail.revisions
            if revision.created_at is not None and start <= revision.created_at <= end
        ]
    except Exception as err:  # noqa: BLE001 - the charts stand without markers
        problems.append(f"revisions unavailable: {_why(err)}")
    note = ""
    if not actor.can(Permission.READ_AUDIT):
        note = "Console actions are marked for operators and admins."
    else:
        try:
            markers += _action_markers(audit, actor, namespace, name, model, start=start, end=end)
        except Exception as err:  # noqa: BLE001
            problems.append(f"console actions unavailable: {_why(err)}")
    return ChangeMarkers(tuple(sorted(markers, key=lambda marker: marker.at)), tuple(problems), note)


def _action_markers(audit: AuditStore, actor: Actor, namespace: str, name: str, model: str, *, start: datetime,
                    end: datetime) -> list[ChangeMarker]:
    """Console actions that changed the deployment or its model (asked of the store with the outcome, so
    refused and failed attempts do not use up the limit)."""
    markers: list[ChangeMarker] = []
    seen: set[int] = set()
    for text in filter(None, (f"{namespace}/{name}", model)):
        wanted = AuditFilter(target_contains=text, outcome=Outcome.SUCCEEDED, since=start, until=end,
                             limit=MAX_ACTIONS)
        for record in list_audit(audit, actor, wanted):
            if record.id not in seen:
                seen.add(record.id)
                markers.append(ChangeMarker(record.at, "action", f"{record.username}: {record.action}",
                                            f"{record.target} · {record.reason or 'no reason given'}", namespace, name))
    return markers

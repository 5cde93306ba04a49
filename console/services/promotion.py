"""Promote a model version, or roll a model back, together with the Deployments that follow its alias.

One operator action, one audit record: the alias moves in MLflow (with its version tags and alias history, see
``console.services.models``) and every Deployment of the allowed namespaces that follows the alias (label
``mlops.console/model: <model>``, annotation ``mlops.console/alias: <alias>``) gets the new version in its pod
template, so Kubernetes rolls it out. A model rollback moves the alias to the previous holder and rolls each
following Deployment back to the newest revision whose ReplicaSet served that version.

Everything that can be checked is checked before anything changes: the request, the gate, the Deployments
(listed, not paused, following the MODEL_URI convention) and every patch is built. If the Kubernetes step then
fails, the Deployments already patched get their template back and the alias move is undone with
``undo_promotion``; the error says what was undone, and so does the audit record. The registry and the cluster
therefore never disagree afterwards, unless the undo itself fails, which the error and the record then say.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from console.adapters.audit_store import AuditStore
from console.adapters.kubernetes import KubernetesCluster
from console.domain.access import Actor, Permission
from console.domain.mlflow_models import PromotionRecord
from console.domain.promotion import GatePolicy, GateResult, alias_name_problems, to_utc
from console.domain.workloads import (
    ALIAS_ANNOTATION,
    MODEL_LABEL,
    REVISION,
    DeploymentInfo,
    change_cause,
    deployment_from,
    group_by_deployment,
    model_version_patch,
    newest_revision_serving,
    restore_template_patch,
    rollback_patch,
    templates_match,
)
from console.errors import ConsoleError, Conflict, InvalidInput, NotFound
from console.services import models
from console.services.audit import ActionRecord, audited_action, require
from console.services.clock import Clock, utc_now
from console.services.deployments import _selector

DEFAULT_ALIAS = models.CHAMPION


class PromotionUndone(ConsoleError):
    """The Kubernetes step failed after the alias moved; the alias move (and any patch) was undone."""

    title = "Undone"


@dataclass(frozen=True)
class DeploymentChange:
    """What the action did (or plans to do) to one following Deployment."""

    namespace: str
    name: str
    from_version: str
    to_version: str
    method: str  # "patch", "rollback" or "none"
    to_revision: int | None = None
    resource_version: str = ""

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def description(self) -> str:
        if self.method == "rollback":
            return f"{self.key}: rolled back to revision {self.to_revision} (model version {self.to_version})"
        if self.method == "patch":
            return f"{self.key}: model version {self.from_version or '-'} -> {self.to_version}"
        return f"{self.key}: already serves model version {self.to_version}"


@dataclass(frozen=True)
class ModelActionResult:
    """The outcome of a promotion or a model rollback."""

    action: str
    model: str
    alias: str
    version: int
    previous_version: int | None
    deployments: tuple[DeploymentChange, ...]
    message: str
    gate: GateResult | None = None
    overridden: bool = False
    kubernetes_connected: bool = True

    @property
    def rollout_targets(self) -> tuple[tuple[str, str], ...]:
        """(namespace, name) of every Deployment that is rolling out because of this action."""
        return tuple((c.namespace, c.name) for c in self.deployments if c.method != "none")


@dataclass
class _Planned:
    deployment: DeploymentInfo
    change: DeploymentChange
    operations: list[dict[str, Any]] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------- reads


def following_deployments(
    cluster: KubernetesCluster | None, actor: Actor, *, model: str, alias: str
) -> tuple[DeploymentInfo, ...]:
    """The Deployments of the allowed namespaces that follow ``alias`` of ``model`` (one list call)."""
    require(actor, Permission.READ)
    if cluster is None:
        return ()
    return tuple(deployment_from(obj) for obj in _following_objects(cluster, model=model, alias=alias))


def _following_objects(cluster: KubernetesCluster, *, model: str, alias: str) -> list[dict[str, Any]]:
    found = [
        obj for obj in cluster.list_deployments()
        if (obj["metadata"].get("labels") or {}).get(MODEL_LABEL) == model
        and (obj["metadata"].get("annotations") or {}).get(ALIAS_ANNOTATION) == alias
    ]
    return sorted(found, key=lambda obj: (obj["metadata"].get("namespace", ""), obj["metadata"]["name"]))


def rollback_target(registry: models.MlflowPort, *, model: str, alias: str = DEFAULT_ALIAS) -> tuple[int, int]:
    """(current holder, previous holder) of ``alias``: where a model rollback moves it, from the alias history.

    The previous holder is the one the current holder took the alias over from at its last promotion (undo
    records are skipped, so a rollback after an undone promotion still goes one step back).
    """
    problems = alias_name_problems(alias)
    if problems:
        raise InvalidInput(f"{alias!r} is not a valid alias name.", problems=problems)
    overview = models.model_overview(registry, model=model)
    current = overview.model.aliases.get(alias)
    if current is None:
        raise NotFound(f"No version of {model!r} holds alias {alias!r}: there is nothing to roll back.")
    history = next((h for h in models.promotion_history(registry, model=model) if h.alias == alias), None)
    records = history.records if history else ()
    for record in reversed(records):
        if record.version == current and record.action != "undo":
            if record.previous_version is None:
                break
            return current, record.previous_version
    raise NotFound(
        f"The history of alias {alias!r} of {model!r} names no earlier holder of it than version {current}: "
        "there is no version to roll back to."
    )


# ---------------------------------------------------------------------------------------------- helpers


def _state(holder: int | None, alias: str, deployments: list[DeploymentInfo]) -> dict[str, Any]:
    return {
        "alias": alias,
        "holder": holder,
        "deployments": {
            d.key: {
                "resourceVersion": d.resource_version,
                "revision": d.annotations.get(REVISION, ""),
                "modelVersion": d.model_version,
                "changeCause": d.change_cause,
            }
            for d in deployments
        },
    }


def _check_deployment(deployment: DeploymentInfo) -> None:
    if deployment.paused:
        raise Conflict(f"{deployment.key} follows this alias but is paused: resume it first, so that the model "
                       "it serves changes with the alias.")


def _patch_plan(deployment: DeploymentInfo, *, model: str, version: int, cause: str) -> _Planned:
    try:
        operations = model_version_patch(deployment, model=model, version=version, cause=cause)
    except ValueError as err:
        raise InvalidInput(f"{deployment.key} follows the alias but cannot be updated: {err}.") from err
    change = DeploymentChange(deployment.namespace, deployment.name, deployment.model_version, str(version), "patch",
                              resource_version=deployment.resource_version)
    return _Planned(deployment, change, operations)


def _unchanged(deployment: DeploymentInfo) -> _Planned:
    return _Planned(deployment, DeploymentChange(deployment.namespace, deployment.name, deployment.model_version,
                                                 deployment.model_version, "none",
                                                 resource_version=deployment.resource_version))


def _apply_plans(
    cluster: KubernetesCluster, plans: list[_Planned]
) -> tuple[list[DeploymentChange], list[tuple[_Planned, DeploymentInfo]], ConsoleError | None]:
    """Send the patches in order; stop at the first failure and return it with what was patched so far."""
    done: list[DeploymentChange] = []
    patched: list[tuple[_Planned, DeploymentInfo]] = []
    for plan in plans:
        if not plan.operations:
            done.append(plan.change)
            continue
        try:
            result = _patch_on_current_version(cluster, plan)
        except ConsoleError as err:
            return done, patched, err
        patched.append((plan, result))
        done.append(DeploymentChange(plan.change.namespace, plan.change.name, plan.change.from_version,
                                     plan.change.to_version, plan.change.method, plan.change.to_revision,
                                     result.resource_version))
    return done, patched, None


def _patch_on_current_version(cluster: KubernetesCluster, plan: _Planned, *, attempts: int = 3) -> DeploymentInfo:
    """Send a planned patch; if only the Deployment's status moved on meanwhile (a rollout in progress bumps the
    resourceVersion without changing what the plan was built from), send it again on the new resourceVersion.

    Nobody saw the Deployment's resourceVersion here but this action itself, so a status update is no reason to
    give up; a change of template, labels or annotations is, and stays a Conflict.
    """
    operations = plan.operations
    for attempt in range(attempts):
        try:
            return deployment_from(cluster.patch_deployment(plan.deployment.namespace, plan.deployment.name,
                                                            operations))
        except Conflict:
            current = deployment_from(cluster.get_deployment(plan.deployment.namespace, plan.deployment.name))
            unchanged = (
                current.generation == plan.deployment.generation
                and current.annotations == plan.deployment.annotations
                and current.labels == plan.deployment.labels
            )
            if attempt == attempts - 1 or not unchanged:
                raise
            operations = [{**operations[0], "value": current.resource_version}, *operations[1:]]
    raise AssertionError("unreachable")


def _restore(cluster: KubernetesCluster, patched: list[tuple[_Planned, DeploymentInfo]], cause: str) -> list[str]:
    """Give every patched Deployment its earlier template back (newest patch first); notes of what happened."""
    notes = []
    for plan, after in reversed(patched):
        before = plan.deployment
        try:
            now = deployment_from(cluster.get_deployment(before.namespace, before.name))
            if not templates_match(now.template, after.template):
                notes.append(f"{before.key} NOT restored: changed by someone else since the patch")
                continue
            cluster.patch_deployment(before.namespace, before.name,
                                     restore_template_patch(now, before.template, cause))
            notes.append(f"{before.key} rolled back to its template of revision "
                         f"{before.annotations.get(REVISION, '?')} (model version {before.model_version or '-'})")
        except ConsoleError as err:
            notes.append(f"{before.key} NOT restored: {err.message}")
    return notes


def _failed_after_alias_move(
    err: ConsoleError, *, undo_notes: list[str], alias_note: str, record: ActionRecord
) -> PromotionUndone:
    """The error to raise once everything was put back; the audit record says what was undone."""
    notes = undo_notes + [alias_note]
    record.note = "undone: " + "; ".join(notes)
    return PromotionUndone(f"The Kubernetes step failed, so the action was undone: {err.message}",
                           problems=(*err.problems, *notes))


# ---------------------------------------------------------------------------------------------- actions


def promote_model(
    *,
    registry: models.MlflowPort,
    cluster: KubernetesCluster | None,
    audit: AuditStore,
    actor: Actor,
    model: str,
    version: int | str,
    alias: str = DEFAULT_ALIAS,
    reason: str,
    override_gate: bool = False,
    expected_holder: int | None = None,
    clock: Clock = utc_now,
) -> ModelActionResult:
    """Move ``alias`` of ``model`` to ``version`` after the gate, and update the Deployments that follow it.

    ``override_gate`` needs the admin role (an operator asking for it is denied) and a reason; it lets a
    version that fails the gate through. ``expected_holder`` is the holder the operator saw (Conflict if it
    moved since). ``cluster`` None means Kubernetes is not configured: only the registry changes.
    Raises PromotionGateFailed when the gate fails without override; PromotionUndone when the Kubernetes
    step failed and everything was put back.
    """
    permission = Permission.OVERRIDE_GATE if override_gate else Permission.PROMOTE_MODEL
    parameters = {"model": model, "version": str(version), "alias": alias, "overrideGate": override_gate}
    with audited_action(audit, actor, permission, action="promote", target=f"{model}@{alias}", reason=reason,
                        parameters=parameters, clock=clock) as record:
        check = models.check_promotion(registry, model=model, version=version, alias=alias)
        if expected_holder is not None and check.current_holder != expected_holder:
            held = "nobody" if check.current_holder is None else f"version {check.current_holder}"
            raise Conflict(f"Alias {alias!r} of {model!r} changed since you loaded it (now held by {held}, you saw "
                           f"version {expected_holder}) - reload.")
        if not check.gate.passed and not override_gate:
            raise models.PromotionGateFailed(
                f"Version {check.candidate.version} of {model!r} does not pass the promotion gate for {alias!r}.",
                gate=check.gate,
            )
        number = check.candidate.version
        cause = change_cause(actor.username, "promote", reason.strip())
        following = [deployment_from(obj) for obj in _following_objects(cluster, model=model, alias=alias)] \
            if cluster is not None else []
        plans = []
        for deployment in following:
            _check_deployment(deployment)
            plans.append(_unchanged(deployment) if deployment.model_version == str(number)
                         else _patch_plan(deployment, model=model, version=number, cause=cause))
        record.before = _state(check.current_holder, alias, following)
        record.parameters["gate"] = check.gate.summary

        promotion = models.promote(registry, model=model, version=number, alias=alias, reason=reason,
                                   actor_name=actor.username, now=to_utc(clock()), override_gate=override_gate,
                                   expected_holder=check.current_holder)
        changes: list[DeploymentChange] = []
        if cluster is not None:
            changes, patched, error = _apply_plans(cluster, plans)
            if error is not None:
                undo_reason = f"automatic undo: the Kubernetes step of the promotion failed: {error.message}"
                undo_notes = _restore(cluster, patched, change_cause(actor.username, "undo promote", undo_reason))
                try:
                    models.undo_promotion(registry, promotion=promotion, reason=undo_reason,
                                          actor_name=actor.username, now=to_utc(clock()))
                    held = "nobody" if check.current_holder is None else f"version {check.current_holder}"
                    alias_note = f"alias {alias!r} back on {held}"
                except ConsoleError as undo_error:
                    alias_note = f"alias {alias!r} NOT moved back (still on version {number}): {undo_error.message}"
                raise _failed_after_alias_move(error, undo_notes=undo_notes, alias_note=alias_note,
                                               record=record) from error
        record.after = _state(number, alias, following)
        record.after["deployments"] = {
            c.key: {"resourceVersion": c.resource_version, "modelVersion": c.to_version} for c in changes
        }
        if promotion.overridden:
            record.note = f"gate overridden: {check.gate.explanation}"
        if cluster is None:
            record.note = "; ".join(part for part in (record.note, "Kubernetes not connected: no deployment updated")
                                    if part)
        rolling = [c.key for c in changes if c.method != "none"]
        message = (f"Version {number} of {model} now holds {alias!r}"
                   + (f" (was version {check.current_holder})" if check.current_holder is not None else "")
                   + (f"; rolling out to {', '.join(rolling)}" if rolling else "")
                   + ("" if cluster is not None else "; Kubernetes is not connected, no deployment was updated")
                   + ".")
        return ModelActionResult("promote", model, alias, number, check.current_holder, tuple(changes), message,
                                 gate=check.gate, overridden=promotion.overridden,
                                 kubernetes_connected=cluster is not None)


def _move_result(model: str, alias: str, *, to_version: int, from_version: int) -> models.PromotionResult:
    """A promotion record to hand ``undo_promotion``: it moves the alias from ``to_version`` back to
    ``from_version`` and leaves version tags alone (the rollback records itself in the alias history)."""
    placeholder = GateResult(True, "model rollback (no gate)", GatePolicy(), None, None, None)
    record = PromotionRecord(model=model, alias=alias, version=to_version, previous_version=from_version,
                             at=to_utc(utc_now()), actor="", reason="", action="undo")
    return models.PromotionResult(model=model, alias=alias, version=to_version, previous_version=from_version,
                                  gate=placeholder, overridden=False, record=record, replaced_version_tags={})


def rollback_model(
    *,
    registry: models.MlflowPort,
    cluster: KubernetesCluster | None,
    audit: AuditStore,
    actor: Actor,
    model: str,
    alias: str = DEFAULT_ALIAS,
    reason: str,
    expected_holder: int | None = None,
    clock: Clock = utc_now,
) -> ModelActionResult:
    """Move ``alias`` back to its previous holder and roll each following Deployment back to the newest
    revision that served that version (or patch its template when no revision did), as one action.

    No gate: going back is the safe direction. Raises PromotionUndone when the Kubernetes step failed and
    everything was put back.
    """
    parameters = {"model": model, "alias": alias}
    with audited_action(audit, actor, Permission.PROMOTE_MODEL, action="model-rollback", target=f"{model}@{alias}",
                        reason=reason, parameters=parameters, clock=clock) as record:
        current, target = rollback_target(registry, model=model, alias=alias)
        if expected_holder is not None and current != expected_holder:
            raise Conflict(f"Alias {alias!r} of {model!r} changed since you loaded it (now version {current}, you "
                           f"saw version {expected_holder}) - reload.")
        try:
            version = registry.get_model_version(model, target)
        except NotFound as err:
            raise NotFound(f"Version {target} of {model!r}, the previous holder of {alias!r}, no longer exists "
                           "(deleted); roll back by promoting another version instead.") from err
        if version.is_archived:
            raise Conflict(f"Version {target} of {model!r}, the previous holder of {alias!r}, is archived; "
                           "archived versions cannot hold an alias.")
        if not version.is_ready:
            raise Conflict(f"Version {target} of {model!r} is {version.status}, not READY.")
        record.parameters.update(fromVersion=current, toVersion=target)
        cause = change_cause(actor.username, "model-rollback", reason.strip())
        objects = _following_objects(cluster, model=model, alias=alias) if cluster is not None else []
        plans: list[_Planned] = []
        following: list[DeploymentInfo] = []
        for obj in objects:
            replica_sets = cluster.list_namespaced_replica_sets(  # type: ignore[union-attr]
                obj["metadata"]["namespace"], label_selector=_selector(obj))
            [(deployment, revisions, _)] = group_by_deployment([obj], replica_sets, [])
            following.append(deployment)
            _check_deployment(deployment)
            serving = newest_revision_serving(revisions, target)
            if serving is not None and serving.is_current:
                plans.append(_unchanged(deployment))
            elif serving is not None:
                change = DeploymentChange(deployment.namespace, deployment.name, deployment.model_version,
                                          str(target), "rollback", to_revision=serving.number,
                                          resource_version=deployment.resource_version)
                plans.append(_Planned(deployment, change, rollback_patch(deployment, serving, cause)))
            else:
                plans.append(_patch_plan(deployment, model=model, version=target, cause=cause))
        record.before = _state(current, alias, following)

        models.undo_promotion(registry, promotion=_move_result(model, alias, to_version=current, from_version=target),
                              reason=reason, actor_name=actor.username, now=to_utc(clock()))
        changes: list[DeploymentChange] = []
        if cluster is not None:
            changes, patched, error = _apply_plans(cluster, plans)
            if error is not None:
                undo_reason = f"automatic undo: the Kubernetes step of the model rollback failed: {error.message}"
                undo_notes = _restore(cluster, patched, change_cause(actor.username, "undo model-rollback",
                                                                     undo_reason))
                try:
                    models.undo_promotion(registry,
                                          promotion=_move_result(model, alias, to_version=target, from_version=current),
                                          reason=undo_reason, actor_name=actor.username, now=to_utc(clock()))
                    alias_note = f"alias {alias!r} back on version {current}"
                except ConsoleError as undo_error:
                    alias_note = f"alias {alias!r} NOT moved back (still on version {target}): {undo_error.message}"
                raise _failed_after_alias_move(error, undo_notes=undo_notes, alias_note=alias_note,
                                               record=record) from error
        record.after = _state(target, alias, following)
        record.after["deployments"] = {
            c.key: {"resourceVersion": c.resource_version, "modelVersion": c.to_version,
                    **({"toRevision": c.to_revision} if c.to_revision is not None else {})}
            for c in changes
        }
        if cluster is None:
            record.note = "Kubernetes not connected: no deployment updated"
        described = "; ".join(c.description for c in changes)
        message = (f"Alias {alias!r} of {model} is back on version {target} (was version {current})"
                   + (f"; {described}" if described else "")
                   + ("" if cluster is not None else "; Kubernetes is not connected, no deployment was updated")
                   + ".")
        return ModelActionResult("model-rollback", model, alias, target, current, tuple(changes), message,
                                 kubernetes_connected=cluster is not None)

"""The cluster's side of a promotion or model rollback: the Deployments that follow an alias, rolled out together.

A Deployment follows ``alias`` of ``model`` when it has the label ``mlops.console/model: <model>`` and the
annotation ``mlops.console/alias: <alias>``. Every plan is built (and every follower checked) before anything is
sent; ``roll_out`` then patches them in order and stops at the first failure, and ``restore`` gives the ones
already patched their earlier template back.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from console.adapters.kubernetes import KubernetesCluster
from console.domain.workload_patches import (
    Patch,
    fence_patch,
    model_version_patch,
    restore_template_patch,
    rollback_patch,
    with_resource_version,
)
from console.domain.workloads import DeploymentInfo, newest_revision_serving, templates_match
from console.errors import BackendUnavailable, Conflict, ConsoleError, InvalidInput
from console.services.deployments import revisions_of

# How long a change without an answer is given for the API to come back before its outcome is called unknown.
UNKNOWN_OUTCOME_SECONDS = 120.0
SETTLE_POLL_SECONDS = 0.5


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
class FollowerPlan:
    """One follower and the patch that makes it serve the new holder (none when it serves it already)."""

    deployment: DeploymentInfo
    change: DeploymentChange
    patch: Patch = field(default_factory=list)


@dataclass
class RolloutOutcome:
    """What ``roll_out`` did: every change made, the Deployments patched (before, after), and the first error."""

    changes: list[DeploymentChange] = field(default_factory=list)
    patched: list[tuple[FollowerPlan, DeploymentInfo]] = field(default_factory=list)
    error: ConsoleError | None = None


def following(cluster: KubernetesCluster, *, model: str, alias: str) -> list[DeploymentInfo]:
    """The Deployments of the allowed namespaces that follow ``alias`` of ``model`` (one list call), by key."""
    found = [DeploymentInfo(obj) for obj in cluster.list_deployments()]
    return sorted((d for d in found if d.follows(model, alias)), key=lambda d: (d.namespace, d.name))


def check_follower(deployment: DeploymentInfo) -> None:
    """Refuse a follower that would not roll out: a paused Deployment keeps serving the old version."""
    if deployment.paused:
        raise Conflict(f"{deployment.key} follows this alias but is paused: resume it first, so that the model "
                       "it serves changes with the alias.")


def _unchanged(deployment: DeploymentInfo) -> FollowerPlan:
    return FollowerPlan(deployment, DeploymentChange(deployment.namespace, deployment.name, deployment.model_version,
                                                     deployment.model_version, "none",
                                                     resource_version=deployment.resource_version))


def plan_serving(deployment: DeploymentInfo, *, model: str, version: int, cause: str) -> FollowerPlan:
    """A plan that makes ``deployment`` serve ``version`` by patching its template (nothing if it does)."""
    check_follower(deployment)
    if deployment.model_version == str(version):
        return _unchanged(deployment)
    try:
        patch = model_version_patch(deployment, model=model, version=version, cause=cause)
    except ValueError as err:
        raise InvalidInput(f"{deployment.key} follows the alias but cannot be updated: {err}.") from err
    change = DeploymentChange(deployment.namespace, deployment.name, deployment.model_version, str(version), "patch",
                              resource_version=deployment.resource_version)
    return FollowerPlan(deployment, change, patch)


def plan_return(cluster: KubernetesCluster, deployment: DeploymentInfo, *, model: str, version: int,
                cause: str, to_revision: int | None = None) -> FollowerPlan:
    """A plan that brings ``deployment`` back to ``version``: a rollback to ``to_revision`` when given (it must
    serve that version), else to the newest revision that served it, or a template patch when none did (its
    history was pruned)."""
    check_follower(deployment)
    revisions = revisions_of(cluster, deployment)
    if to_revision is not None:
        serving = next((r for r in revisions if r.number == to_revision), None)
        if serving is None or serving.model_version != str(version):
            raise InvalidInput(f"Revision {to_revision} of {deployment.key} does not serve version {version} of "
                               f"{model}.")
    else:
        serving = newest_revision_serving(revisions, version)
    if serving is None:
        return plan_serving(deployment, model=model, version=version, cause=cause)
    if serving.is_current:
        return _unchanged(deployment)
    change = DeploymentChange(deployment.namespace, deployment.name, deployment.model_version, str(version),
                              "rollback", to_revision=serving.number, resource_version=deployment.resource_version)
    return FollowerPlan(deployment, change, rollback_patch(deployment, serving, cause))


def roll_out(cluster: KubernetesCluster, plans: list[FollowerPlan]) -> RolloutOutcome:
    """Send the patches in order; stop at the first failure and return it with what was patched so far."""
    outcome = RolloutOutcome()
    for plan in plans:
        if not plan.patch:
            outcome.changes.append(plan.change)
            continue
        try:
            result = _patch_on_current_version(cluster, plan)
        except ConsoleError as err:
            outcome.error = err
            return outcome
        outcome.patched.append((plan, result))
        outcome.changes.append(replace(plan.change, resource_version=result.resource_version))
    return outcome


def _serves(plan: FollowerPlan) -> Callable[[DeploymentInfo], bool]:
    version = plan.change.to_version
    return lambda current: current.model_version == version and not templates_match(current.template,
                                                                                    plan.deployment.template)


def _patch_on_current_version(cluster: KubernetesCluster, plan: FollowerPlan, *, attempts: int = 3) -> DeploymentInfo:
    """Send a planned patch; if only the Deployment's status moved on meanwhile (a rollout in progress bumps the
    resourceVersion without changing what the plan was built from), send it again on the new resourceVersion.

    Nobody saw the Deployment's resourceVersion here but this action itself, so a status update is no reason to
    give up; a change of template, labels or annotations is, and stays a Conflict. A patch that got no answer is
    settled from the Deployment's real state (``settle``) before anything else happens.
    """
    deployment, patch = plan.deployment, plan.patch
    for attempt in range(attempts):
        try:
            return DeploymentInfo(cluster.patch_deployment(deployment.namespace, deployment.name, patch))
        except BackendUnavailable as err:
            if not err.outcome_unknown:
                raise
            applied = settle(cluster, deployment, sent_on=patch[0]["value"], applied=_serves(plan))
            if applied is None:
                raise BackendUnavailable(f"{err.message} The patch was not applied (checked once the API "
                                         "answered again).", backend=err.backend) from err
            return applied
        except Conflict:
            current = DeploymentInfo(cluster.get_deployment(deployment.namespace, deployment.name))
            unchanged = (
                current.generation == deployment.generation
                and current.annotations == deployment.annotations
                and current.labels == deployment.labels
            )
            if attempt == attempts - 1 or not unchanged:
                raise
            patch = with_resource_version(patch, current.resource_version)
    raise AssertionError("unreachable")


def settle(cluster: KubernetesCluster, deployment: DeploymentInfo, *, sent_on: str,
           applied: Callable[[DeploymentInfo], bool], give_up_seconds: float = UNKNOWN_OUTCOME_SECONDS
           ) -> DeploymentInfo | None:
    """Decide a change whose request got no answer: the Deployment as changed, or None when the change was not
    applied and no longer can be.

    Reads the Deployment until the API answers. If it shows the change, it was applied. If it is still the object
    the change was guarded by (``sent_on``, its resourceVersion), the request may be queued and apply later: a
    guarded write of the console's own annotation then bumps the resourceVersion, so the queued patch's
    resourceVersion test fails whenever it arrives. Raises BackendUnavailable (outcome still unknown) when the API
    stays silent for ``give_up_seconds``.
    """
    deadline = time.monotonic() + give_up_seconds
    while True:
        try:
            current = DeploymentInfo(cluster.get_deployment(deployment.namespace, deployment.name))
            if applied(current):
                return current
            if current.resource_version != sent_on:
                return None  # changed by something else: the guarded request can never apply now
            cluster.patch_deployment(deployment.namespace, deployment.name, fence_patch(current))
            return None
        except Conflict:
            continue  # something changed between the read and the fence: read again
        except BackendUnavailable:
            if time.monotonic() > deadline:
                raise BackendUnavailable(
                    f"The Kubernetes API did not answer for {give_up_seconds:g} s: whether {deployment.key} was "
                    "changed is unknown; check it with kubectl before acting again.", backend="Kubernetes",
                    outcome_unknown=True) from None
            time.sleep(SETTLE_POLL_SECONDS)


def restore(cluster: KubernetesCluster, patched: list[tuple[FollowerPlan, DeploymentInfo]], cause: str) -> list[str]:
    """Give every patched Deployment its earlier template back (newest patch first); notes of what is true after.

    A restore that gets no answer is settled from the Deployment's real state, like the patch it undoes.
    """
    notes = []
    for plan, after in reversed(patched):
        before = plan.deployment
        try:
            now = DeploymentInfo(cluster.get_deployment(before.namespace, before.name))
            if not templates_match(now.template, after.template):
                notes.append(f"{before.key} NOT restored: changed by someone else since the patch")
                continue
            patch = restore_template_patch(now, before.template, cause)
            try:
                cluster.patch_deployment(before.namespace, before.name, patch)
            except BackendUnavailable as err:
                if not err.outcome_unknown:
                    raise
                if settle(cluster, now, sent_on=now.resource_version,
                          applied=lambda current: templates_match(current.template, before.template)) is None:
                    raise
            notes.append(f"{before.key} rolled back to its template of revision {before.revision or '?'} "
                         f"(model version {before.model_version or '-'})")
        except ConsoleError as err:
            notes.append(f"{before.key} NOT restored (it serves model version {after.model_version or '-'}): "
                         f"{err.message}")
    return notes


def audit_state(holder: int | None, alias: str, deployments: list[DeploymentInfo]) -> dict[str, Any]:
    """The alias holder and the followers as an audit record's before (or after) state."""
    return {
        "alias": alias,
        "holder": holder,
        "deployments": {
            d.key: {
                "resourceVersion": d.resource_version,
                "revision": d.revision,
                "modelVersion": d.model_version,
                "changeCause": d.change_cause,
            }
            for d in deployments
        },
    }

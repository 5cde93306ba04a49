"""Promotion and model rollback: an alias moves in MLflow and the Deployments that follow it roll out, as one action.

Two use cases, each ``Request -> Response``: ``Promotions.promote`` moves an alias to a version after the gate;
``Promotions.roll_back`` moves it back to its previous holder and rolls each following Deployment back to the
newest revision that served that version. They share every step but their first:

1. the role check and the one audit record (``audited_action``);
2. the request checked, the holder compared with the one the operator saw, the gate (promotion only);
3. every following Deployment checked and its patch built (``console.services.follower_rollouts``);
4. the alias move written whole or not at all (``console.services.alias_moves``);
5. the followers rolled out; if one fails, the ones already patched get their template back and the alias move
   is undone, and the error and the audit record say what was undone.

The registry and the cluster therefore never disagree afterwards, unless an undo itself fails, which the error and
the record then say.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field

from console.adapters.audit_store import AuditStore
from console.adapters.kubernetes import KubernetesCluster
from console.domain.access import Actor, Permission
from console.domain.changes import change_cause
from console.domain.mlflow_models import ModelVersion, RegisteredModel
from console.domain.promotion import GateResult, alias_name_problems, evaluate_gate
from console.domain.workloads import DeploymentInfo
from console.errors import BackendUnavailable, Conflict, ConsoleError, InvalidInput, NotFound
from console.services import follower_rollouts as followers
from console.services import locks
from console.services.alias_moves import AliasMove, apply_move, promotion_move, rollback_move, undo_move
from console.services.audit import ActionRecord, audited_action, require
from console.services.clock import Clock, utc_now
from console.services.follower_rollouts import DeploymentChange, FollowerPlan
from console.services.models import (
    CHAMPION,
    alias_history,
    gate_policy,
    get_model,
    get_version,
    source_metric,
)
from console.services.ports import ModelRegistry

DEFAULT_ALIAS = CHAMPION
# History records that move an alias back; a model rollback looks past them for the holder before.
_BACKWARD_ACTIONS = frozenset({"undo", "model-rollback"})


class PromotionGateFailed(Conflict):
    """The candidate did not pass the gate; an admin may override it with a reason."""

    title = "Promotion gate failed"

    def __init__(self, message: str, *, gate: GateResult) -> None:
        self.gate = gate
        super().__init__(message, problems=(gate.explanation,))


class PromotionUndone(ConsoleError):
    """The Kubernetes step failed after the alias moved; the alias move (and any patch) was undone."""

    title = "Undone"


class PromotionOutcomeUnknown(ConsoleError):
    """The Kubernetes API stopped answering mid-action: nothing more was changed, and what holds is reported."""

    title = "Outcome unknown"


@dataclass(frozen=True)
class PromoteRequest:
    """Move ``alias`` of ``model`` to ``version``. ``expected_holder``: the holder the operator saw (None: any);
    ``override_gate``: admin only, with a reason, lets a version that fails the gate through."""

    actor: Actor
    model: str
    version: int | str
    reason: str
    alias: str = DEFAULT_ALIAS
    override_gate: bool = False
    expected_holder: int | None = None


@dataclass(frozen=True)
class ModelRollbackRequest:
    """Move ``alias`` of ``model`` back to the version that held it before its current holder, or to
    ``to_version`` (an older version, without the gate). ``revisions`` names, per follower key
    (``namespace/name``), the revision to return to; the others go to the newest revision serving the version."""

    actor: Actor
    model: str
    reason: str
    alias: str = DEFAULT_ALIAS
    expected_holder: int | None = None
    to_version: int | None = None
    revisions: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class PromotionCheck:
    """Everything the confirmation dialog shows before a promotion; nothing is changed by making it."""

    model: RegisteredModel
    candidate: ModelVersion
    alias: str
    current_holder: int | None
    gate: GateResult


@dataclass(frozen=True)
class ModelActionResponse:
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


def _parse_version(version: int | str) -> int | None:
    try:
        number = int(str(version).strip())
    except ValueError:
        return None
    return number if number >= 1 else None


def _previous_holder(audit: AuditStore, model: RegisteredModel, alias: str) -> tuple[int, int]:
    current = model.aliases.get(alias)
    if current is None:
        raise NotFound(f"No version of {model.name!r} holds alias {alias!r}: there is nothing to roll back.")
    for record in reversed(alias_history(audit, model, alias).records):
        if record.version == current and record.action not in _BACKWARD_ACTIONS:
            if record.previous_version is None:
                break
            return current, record.previous_version
    raise NotFound(f"The history of alias {alias!r} of {model.name!r} names no earlier holder of it than version "
                   f"{current}: there is no version to roll back to.")


def promotion_lock_name(model: str, alias: str) -> str:
    """The lease that serializes every change of what ``alias`` of ``model`` points at."""
    name = f"promotion:{model}@{alias}"
    return name if len(name) <= 400 else "promotion:" + hashlib.sha256(name.encode()).hexdigest()


def _changed_since_loaded(model: str, alias: str, holder: int | None, expected: int | None) -> Conflict:
    now_held = "nobody" if holder is None else f"version {holder}"
    return Conflict(f"Alias {alias!r} of {model!r} changed since you loaded it (now held by {now_held}, you saw "
                    f"version {expected}) - reload.")


class Promotions:
    """The promotion use cases over one registry, one cluster (None: Kubernetes not connected), the audit store
    and a clock."""

    def __init__(self, *, registry: ModelRegistry, cluster: KubernetesCluster | None, audit: AuditStore,
                 clock: Clock = utc_now, lock_wait_seconds: float = 60.0) -> None:
        self.registry = registry
        self.cluster = cluster
        self.audit = audit
        self.clock = clock
        self.lock_wait_seconds = lock_wait_seconds

    # --- reads ------------------------------------------------------------------------------------------

    def check(self, actor: Actor, *, model: str, version: int | str, alias: str,
              expected_holder: int | None = None) -> PromotionCheck:
        """Validate a promotion and evaluate its gate without changing anything.

        Raises InvalidInput (bad alias or version number), NotFound (model or version), Conflict (the alias moved
        since the operator saw ``expected_holder``; the version is not ready, archived, or holds the alias).
        """
        require(actor, Permission.READ)
        problems = list(alias_name_problems(alias))
        number = _parse_version(version)
        if number is None:
            problems.append(f"{version!r} is not a version number (1, 2, ...)")
        if problems or number is None:
            raise InvalidInput("The promotion request is not valid.", problems=problems)
        registered = get_model(self.registry, model)
        candidate = get_version(self.registry, model, number)
        if not candidate.is_ready:
            raise Conflict(f"Version {number} of {model!r} is {candidate.status}, not READY; it cannot be promoted "
                           "yet.")
        if candidate.is_archived:
            raise Conflict(f"Version {number} of {model!r} is archived; archived versions cannot be promoted.")
        holder = registered.aliases.get(alias)
        if expected_holder is not None and holder != expected_holder:
            raise _changed_since_loaded(model, alias, holder, expected_holder)
        if holder == number:
            raise Conflict(f"Version {number} of {model!r} already holds alias {alias!r}.")
        return PromotionCheck(registered, candidate, alias, holder, self._gate(registered, candidate, holder))

    def _gate(self, model: RegisteredModel, candidate: ModelVersion, holder: int | None) -> GateResult:
        policy, policy_problems = gate_policy(model)
        candidate_metric = source_metric(self.registry, candidate, policy.key_metric)
        if policy_problems:
            return GateResult(passed=False, policy=policy, candidate_value=candidate_metric, holder_value=None,
                              gain=None, explanation="the model's gate tags are malformed: " + "; ".join(policy_problems))
        holder_metric = None
        if holder is not None:
            try:
                holder_metric = source_metric(self.registry, self.registry.get_model_version(model.name, holder),
                                              policy.key_metric)
            except NotFound:
                holder_metric = None
        return evaluate_gate(candidate_metric, holder_metric, policy, holder_exists=holder is not None)

    def rollback_target(self, actor: Actor, *, model: str, alias: str = DEFAULT_ALIAS) -> tuple[int, int]:
        """(current holder, previous holder) of ``alias``: where a model rollback moves it, from the alias history.

        The previous holder is the one the current holder took the alias over from at its last promotion (records
        that moved the alias back are skipped, so a second rollback goes one step further back).
        """
        require(actor, Permission.READ)
        problems = alias_name_problems(alias)
        if problems:
            raise InvalidInput(f"{alias!r} is not a valid alias name.", problems=problems)
        return _previous_holder(self.audit, get_model(self.registry, model), alias)

    def following_deployments(self, actor: Actor, *, model: str, alias: str) -> tuple[DeploymentInfo, ...]:
        """The Deployments of the allowed namespaces that follow ``alias`` of ``model`` (one list call)."""
        require(actor, Permission.READ)
        if self.cluster is None:
            return ()
        return tuple(followers.following(self.cluster, model=model, alias=alias))

    # --- actions ----------------------------------------------------------------------------------------

    def promote(self, request: PromoteRequest) -> ModelActionResponse:
        """Move the alias to the version after the gate, and update the Deployments that follow it.

        Raises PromotionGateFailed when the gate fails without override (an operator asking for one is denied);
        PromotionUndone when the Kubernetes step failed and everything was put back.
        """
        actor, model, alias = request.actor, request.model, request.alias
        permission = Permission.OVERRIDE_GATE if request.override_gate else Permission.PROMOTE_MODEL
        parameters = {"model": model, "version": str(request.version), "alias": alias,
                      "overrideGate": request.override_gate}
        with audited_action(self.audit, actor, permission, action="promote", target=f"{model}@{alias}",
                            reason=request.reason, parameters=parameters, clock=self.clock) as record, \
                self._one_at_a_time(model, alias):
            check = self.check(actor, model=model, version=request.version, alias=alias,
                               expected_holder=request.expected_holder)
            if not check.gate.passed and not request.override_gate:
                raise PromotionGateFailed(f"Version {check.candidate.version} of {model!r} does not pass the "
                                          f"promotion gate for {alias!r}.", gate=check.gate)
            number = check.candidate.version
            overridden = request.override_gate and not check.gate.passed
            # An override says so wherever the change is recorded: the revision's change-cause and the version tags.
            cause = change_cause(actor.username, "promote (gate overridden)" if overridden else "promote",
                                 request.reason)
            plans = [followers.plan_serving(d, model=model, version=number, cause=cause)
                     for d in self._followers(model, alias)]
            record.parameters["gate"] = check.gate.summary
            move = promotion_move(check.model, check.candidate, alias=alias, holder=check.current_holder,
                                  gate=check.gate, overridden=overridden, actor=actor.username,
                                  reason=request.reason.strip(), at=self.clock())
            changes = self._move_and_roll_out(record, move, plans, actor=actor, action="promote")
            if overridden:
                record.note = f"gate overridden: {check.gate.explanation}"
            rolling = [c.key for c in changes if c.method != "none"]
            message = (f"Version {number} of {model} now holds {alias!r}"
                       + (f" (was version {check.current_holder})" if check.current_holder is not None else "")
                       + (f"; rolling out to {', '.join(rolling)}" if rolling else ""))
            return self._response("promote", move, changes, message, gate=check.gate, overridden=overridden)

    def roll_back(self, request: ModelRollbackRequest) -> ModelActionResponse:
        """Move the alias back to its previous holder and roll each following Deployment back to the newest
        revision that served that version (or patch its template when no revision did), as one action.

        No gate: going back is the safe direction. Raises PromotionUndone when the Kubernetes step failed and
        everything was put back.
        """
        actor, model, alias = request.actor, request.model, request.alias
        with audited_action(self.audit, actor, Permission.PROMOTE_MODEL, action="model-rollback",
                            target=f"{model}@{alias}", reason=request.reason,
                            parameters={"model": model, "alias": alias}, clock=self.clock) as record, \
                self._one_at_a_time(model, alias):
            problems = alias_name_problems(alias)
            if problems:
                raise InvalidInput(f"{alias!r} is not a valid alias name.", problems=problems)
            registered = get_model(self.registry, model)
            current, target = self._rollback_versions(registered, alias, request)
            if request.expected_holder is not None and current != request.expected_holder:
                raise _changed_since_loaded(model, alias, current, request.expected_holder)
            self._check_rollback_target(model, alias, target)
            record.parameters.update(fromVersion=current, toVersion=target)
            cause = change_cause(actor.username, "model-rollback", request.reason)
            plans = [followers.plan_return(self.cluster, d, model=model, version=target, cause=cause,  # type: ignore[arg-type]
                                           to_revision=request.revisions.get(d.key))
                     for d in self._followers(model, alias)]
            move = rollback_move(registered, alias=alias, current=current, target=target,
                                 actor=actor.username, reason=request.reason.strip(), at=self.clock())
            changes = self._move_and_roll_out(record, move, plans, actor=actor, action="model-rollback")
            described = "; ".join(c.description for c in changes)
            message = (f"Alias {alias!r} of {model} is back on version {target} (was version {current})"
                       + (f"; {described}" if described else ""))
            return self._response("model-rollback", move, changes, message)

    # --- the shared steps -------------------------------------------------------------------------------

    def _one_at_a_time(self, model: str, alias: str) -> AbstractContextManager[str]:
        """The promotion lock of ``alias`` of ``model``: one promotion or model rollback at a time, everywhere
        (browser sessions, command-line processes, console replicas). Everything the action decides is read
        under it, so the holder it compares with the one the operator saw is the holder it moves."""
        return locks.holding(self.audit.leases, promotion_lock_name(model, alias),
                             what=f"Another promotion or rollback of {model}@{alias}",
                             wait_seconds=self.lock_wait_seconds)

    def _rollback_versions(self, model: RegisteredModel, alias: str, request: ModelRollbackRequest) -> tuple[int, int]:
        """(current holder, where the rollback moves the alias): the previous holder, or the version asked for."""
        if request.to_version is None:
            return _previous_holder(self.audit, model, alias)
        current = model.aliases.get(alias)
        if current is None:
            raise NotFound(f"No version of {model.name!r} holds alias {alias!r}: there is nothing to roll back.")
        if request.to_version == current:
            raise Conflict(f"Version {current} of {model.name!r} already holds alias {alias!r}.")
        held = {v for r in alias_history(self.audit, model, alias).records for v in (r.version, r.previous_version)}
        if request.to_version not in held:
            # Going back skips the gate; a version that never held the alias goes through a promotion instead.
            raise Conflict(f"Version {request.to_version} of {model.name!r} never held alias {alias!r}: promote "
                           "it instead, through its gate.")
        return current, request.to_version

    def _check_rollback_target(self, model: str, alias: str, target: int) -> None:
        try:
            version = self.registry.get_model_version(model, target)
        except NotFound as err:
            raise NotFound(f"Version {target} of {model!r}, the previous holder of {alias!r}, no longer exists "
                           "(deleted); roll back by promoting another version instead.") from err
        if version.is_archived:
            raise Conflict(f"Version {target} of {model!r}, the previous holder of {alias!r}, is archived; "
                           "archived versions cannot hold an alias.")
        if not version.is_ready:
            raise Conflict(f"Version {target} of {model!r} is {version.status}, not READY.")

    def _followers(self, model: str, alias: str) -> list[DeploymentInfo]:
        return [] if self.cluster is None else followers.following(self.cluster, model=model, alias=alias)

    def _move_and_roll_out(self, record: ActionRecord, move: AliasMove, plans: list[FollowerPlan], *, actor: Actor,
                           action: str) -> list[DeploymentChange]:
        """Steps 4 and 5: the alias move, then the followers; on a Kubernetes failure, both undone."""
        following = [plan.deployment for plan in plans]
        record.before = followers.audit_state(move.from_version, move.alias, following)
        apply_move(self.registry, move)
        record.alias_changes.append(move.record)
        changes: list[DeploymentChange] = []
        if self.cluster is not None:
            outcome = followers.roll_out(self.cluster, plans)
            if outcome.error is not None:
                raise self._undo(record, move, outcome, actor=actor, action=action)
            changes = outcome.changes
        record.after = followers.audit_state(move.to_version, move.alias, following)
        record.after["deployments"] = {
            c.key: {"resourceVersion": c.resource_version, "modelVersion": c.to_version,
                    **({"toRevision": c.to_revision} if c.to_revision is not None else {})}
            for c in changes
        }
        if self.cluster is None:
            record.note = "; ".join(part for part in (record.note, "Kubernetes not connected: no deployment updated")
                                    if part)
        return changes

    def _undo(self, record: ActionRecord, move: AliasMove, outcome: followers.RolloutOutcome, *, actor: Actor,
              action: str) -> ConsoleError:
        error = outcome.error
        assert error is not None and self.cluster is not None
        if isinstance(error, BackendUnavailable) and error.outcome_unknown:
            return self._unknown(record, move, outcome, error)
        noun = {"promote": "promotion", "model-rollback": "model rollback"}[action]
        reason = f"automatic undo: the Kubernetes step of the {noun} failed: {error.message}"
        notes = followers.restore(self.cluster, outcome.patched, change_cause(actor.username, f"undo {action}", reason))
        try:
            undo = undo_move(self.registry, move, actor=actor.username, reason=reason, at=self.clock())
            record.alias_changes.append(undo.record)
            back = "nobody" if move.from_version is None else f"version {move.from_version}"
            notes.append(f"alias {move.alias!r} back on {back}")
        except ConsoleError as undo_error:
            notes.append(f"alias {move.alias!r} NOT moved back (still on {move.holder_text}): {undo_error.message}")
        record.note = "undone: " + "; ".join(notes)
        return PromotionUndone(f"The Kubernetes step failed, so the action was undone: {error.message}",
                               problems=(*error.problems, *notes))

    def _unknown(self, record: ActionRecord, move: AliasMove, outcome: followers.RolloutOutcome,
                 error: BackendUnavailable) -> PromotionOutcomeUnknown:
        """The API went silent on a follower: undoing now could make registry and cluster disagree, so nothing
        more changes, and the record says exactly what holds."""
        done = [change.description for change in outcome.changes if change.method != "none"]
        notes = [f"alias {move.alias!r} is on {move.holder_text}",
                 *(done or ["no follower was changed before the API stopped answering"])]
        record.note = "outcome unknown: " + "; ".join(notes)
        return PromotionOutcomeUnknown(f"{error.message} Nothing else was changed.", problems=notes)

    def _response(self, action: str, move: AliasMove, changes: list[DeploymentChange], message: str, *,
                  gate: GateResult | None = None, overridden: bool = False) -> ModelActionResponse:
        connected = self.cluster is not None
        if not connected:
            message += "; Kubernetes is not connected, no deployment was updated"
        assert move.to_version is not None
        return ModelActionResponse(action, move.model.name, move.alias, move.to_version, move.from_version,
                                   tuple(changes), message + ".", gate=gate, overridden=overridden,
                                   kubernetes_connected=connected)

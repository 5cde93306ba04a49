"""Use cases of the Experiments and Models pages: reading runs and the registry, and promoting a version.

Every function takes the MLflow port (``MlflowRegistry`` or anything with the same methods) explicitly, and
mutations take the acting user's name and a clock value ``now``. Permission checks and audit records are
added around ``promote`` and ``undo_promotion`` by the caller; these functions only enforce the registry's
own rules.

Promotion writes, in this order: the alias, the alias-history tag on the registered model
(``mlops.console/alias-history.<alias>``, see ``console.domain.promotion``), and these tags on the version
that received the alias: ``mlops.console/promoted-by``, ``promoted-at`` (ISO 8601 UTC), ``promotion-reason``,
``promoted-alias``, ``previous-holder`` (a version number or ``none``), ``gate`` (the gate's one-line
summary), ``gate-overridden`` (``true``/``false``) and ``change-cause`` (``<user>: promote <alias> - <reason>``).
If a later write fails, the earlier ones are rolled back before the error is raised.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Protocol

from console.domain.mlflow_models import (
    AliasHistory,
    AliasHolder,
    ArtifactEntry,
    Experiment,
    HolderAt,
    MetricHistory,
    ModelVersion,
    PromotionRecord,
    RegisteredModel,
    RunPage,
    RunSummary,
)
from console.domain.promotion import (
    ALIAS_HISTORY_TAG_PREFIX,
    NO_PREVIOUS_HOLDER,
    PROMOTION_VERSION_TAGS,
    TAG_CHANGE_CAUSE,
    TAG_GATE,
    TAG_GATE_OVERRIDDEN,
    TAG_PREVIOUS_HOLDER,
    TAG_PROMOTED_ALIAS,
    TAG_PROMOTED_AT,
    TAG_PROMOTED_BY,
    TAG_PROMOTION_REASON,
    AliasHistoryError,
    GatePolicy,
    GatePolicyError,
    GateResult,
    alias_name_problems,
    append_record,
    change_cause,
    decode_alias_history,
    encode_alias_history,
    evaluate_gate,
    format_time,
    history_tag_key,
    holder_at,
    parse_gate_policy,
    to_utc,
)
from console.errors import ConsoleError, Conflict, InvalidInput, NotFound

MAX_RUNS_PER_PAGE = 1000
MAX_COMPARED_RUNS = 1000
MAX_REASON_CHARS = 2000
CHAMPION = "champion"
CHALLENGER = "challenger"


class MlflowPort(Protocol):
    """What the use cases need from MLflow; ``console.adapters.mlflow_registry.MlflowRegistry`` provides it."""

    def list_experiments(self) -> tuple[Experiment, ...]: ...
    def search_runs(
        self,
        experiment_ids: Sequence[str],
        *,
        filter_string: str = "",
        order_by: Sequence[str] = (),
        max_results: int = 100,
        page_token: str | None = None,
    ) -> RunPage: ...
    def get_runs(
        self, run_ids: Sequence[str], *, experiment_ids: Sequence[str] | None = None
    ) -> tuple[RunSummary, ...]: ...
    def get_run(self, run_id: str) -> RunSummary: ...
    def list_artifacts(self, run_id: str, *, path: str | None = None) -> tuple[ArtifactEntry, ...]: ...
    def metric_histories(
        self, run_ids: Sequence[str], keys: Sequence[str], *, max_points_per_run: int = 2500
    ) -> dict[tuple[str, str], MetricHistory]: ...
    def list_registered_models(self) -> tuple[RegisteredModel, ...]: ...
    def get_registered_model(self, model: str) -> RegisteredModel: ...
    def search_model_versions(self, model: str) -> tuple[ModelVersion, ...]: ...
    def get_model_version(self, model: str, version: int | str) -> ModelVersion: ...
    def set_alias(self, model: str, alias: str, version: int | str) -> None: ...
    def delete_alias(self, model: str, alias: str) -> None: ...
    def set_version_tag(self, model: str, version: int | str, key: str, value: str) -> None: ...
    def delete_version_tag(self, model: str, version: int | str, key: str) -> None: ...
    def set_model_tag(self, model: str, key: str, value: str) -> None: ...
    def delete_model_tag(self, model: str, key: str) -> None: ...


class PromotionGateFailed(Conflict):
    """The candidate did not pass the gate; an admin may override it with a reason."""

    title = "Promotion gate failed"

    def __init__(self, message: str, *, gate: GateResult) -> None:
        self.gate = gate
        super().__init__(message, problems=(gate.explanation,))


# ---------------------------------------------------------------------------------------------- records


@dataclass(frozen=True)
class RunDetail:
    run: RunSummary
    artifacts: tuple[ArtifactEntry, ...]
    ui_url: str | None


@dataclass(frozen=True)
class CompareData:
    """What the comparison charts need: the runs (latest metrics and params) and per-step histories."""

    runs: tuple[RunSummary, ...]
    metric_keys: tuple[str, ...]
    param_keys: tuple[str, ...]
    histories: dict[tuple[str, str], MetricHistory] = field(default_factory=dict)
    missing_run_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class VersionRow:
    version: ModelVersion
    key_metric: str
    key_metric_value: float | None
    source_run_metrics: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class ModelOverview:
    model: RegisteredModel
    policy: GatePolicy
    policy_problems: tuple[str, ...]
    versions: tuple[VersionRow, ...]
    aliases: tuple[AliasHolder, ...]
    champion_vs_challenger: GateResult | None


@dataclass(frozen=True)
class PromotionCheck:
    """Everything the confirmation dialog shows before a promotion; nothing is changed by making it."""

    model: RegisteredModel
    candidate: ModelVersion
    alias: str
    current_holder: int | None
    gate: GateResult


@dataclass(frozen=True)
class PromotionResult:
    model: str
    alias: str
    version: int
    previous_version: int | None
    gate: GateResult
    overridden: bool
    record: PromotionRecord
    # The candidate's promotion tags before this promotion (None: absent), so that an undo restores them.
    replaced_version_tags: dict[str, str | None] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------- reads


def list_experiments(registry: MlflowPort) -> tuple[Experiment, ...]:
    """Active experiments, by name."""
    return registry.list_experiments()


def runs_page(
    registry: MlflowPort,
    *,
    experiment_ids: Sequence[str],
    filter_string: str = "",
    order_by: Sequence[str] = (),
    max_results: int = 100,
    page_token: str | None = None,
) -> RunPage:
    """One server-side page of runs (MLflow search syntax for ``filter_string`` and ``order_by``)."""
    if not 1 <= max_results <= MAX_RUNS_PER_PAGE:
        raise InvalidInput(f"A page shows 1 to {MAX_RUNS_PER_PAGE} runs, got {max_results}.")
    return registry.search_runs(
        list(experiment_ids),
        filter_string=filter_string.strip(),
        order_by=[o.strip() for o in order_by if o.strip()],
        max_results=max_results,
        page_token=page_token,
    )


def run_ui_url(ui_base_url: str | None, run: RunSummary) -> str | None:
    """The MLflow UI's page of ``run``, when the UI's address is configured."""
    if not ui_base_url:
        return None
    return f"{ui_base_url.rstrip('/')}/#/experiments/{run.experiment_id}/runs/{run.run_id}"


def run_detail(registry: MlflowPort, *, run_id: str, ui_base_url: str | None = None) -> RunDetail:
    """A run's params, metrics, tags and top-level artifacts, and its MLflow UI link."""
    run = registry.get_run(run_id)
    artifacts = registry.list_artifacts(run_id)
    return RunDetail(run=run, artifacts=artifacts, ui_url=run_ui_url(ui_base_url, run))


def compare_runs(
    registry: MlflowPort,
    *,
    run_ids: Sequence[str],
    metric_keys: Sequence[str] | None = None,
    experiment_ids: Sequence[str] | None = None,
) -> CompareData:
    """Runs and metric histories for the comparison charts, for up to 1,000 runs, in batched requests.

    ``metric_keys`` chooses the histories fetched (default: every metric any of the runs has).
    """
    unique = list(dict.fromkeys(r.strip() for r in run_ids if r.strip()))
    if not unique:
        raise InvalidInput("Select at least one run to compare.")
    if len(unique) > MAX_COMPARED_RUNS:
        raise InvalidInput(f"Compare at most {MAX_COMPARED_RUNS} runs at once; {len(unique)} are selected.")
    runs = registry.get_runs(unique, experiment_ids=experiment_ids)
    found = {r.run_id for r in runs}
    all_metrics = sorted({k for r in runs for k in r.metrics})
    keys = tuple(dict.fromkeys(metric_keys)) if metric_keys is not None else tuple(all_metrics)
    histories = registry.metric_histories([r.run_id for r in runs], keys) if runs and keys else {}
    return CompareData(
        runs=runs,
        metric_keys=keys,
        param_keys=tuple(sorted({k for r in runs for k in r.params})),
        histories=histories,
        missing_run_ids=tuple(r for r in unique if r not in found),
    )


def _policy(model: RegisteredModel) -> tuple[GatePolicy, tuple[str, ...]]:
    try:
        return parse_gate_policy(model.tags), ()
    except GatePolicyError as err:
        return GatePolicy(), err.problems


def _overview(model: RegisteredModel, versions: Sequence[ModelVersion], runs: dict[str, RunSummary]) -> ModelOverview:
    policy, problems = _policy(model)
    # MLflow's version search leaves a version's aliases empty; the registered model knows who holds each.
    held_by: dict[int, tuple[str, ...]] = {}
    for alias, holder in sorted(model.aliases.items()):
        held_by[holder] = (*held_by.get(holder, ()), alias)
    rows = tuple(
        VersionRow(
            version=replace(v, aliases=held_by.get(v.version, ())) if not v.aliases else v,
            key_metric=policy.key_metric,
            key_metric_value=runs[v.run_id].metrics.get(policy.key_metric) if v.run_id in runs else None,
            source_run_metrics=dict(runs[v.run_id].metrics) if v.run_id in runs else {},
        )
        for v in versions
    )
    holders = tuple(
        AliasHolder(model=model.name, alias=alias, version=version) for alias, version in sorted(model.aliases.items())
    )
    comparison = None
    by_version = {row.version.version: row for row in rows}
    champion, challenger = model.aliases.get(CHAMPION), model.aliases.get(CHALLENGER)
    if challenger is not None and challenger in by_version:
        champion_row = by_version.get(champion) if champion is not None else None
        comparison = evaluate_gate(
            by_version[challenger].key_metric_value,
            champion_row.key_metric_value if champion_row else None,
            policy,
            holder_exists=champion is not None,
        )
    return ModelOverview(
        model=model,
        policy=policy,
        policy_problems=problems,
        versions=rows,
        aliases=holders,
        champion_vs_challenger=comparison,
    )


def models_overview(registry: MlflowPort) -> tuple[ModelOverview, ...]:
    """Every registered model with versions, source-run metrics, aliases and champion vs challenger.

    Round trips: one for the models, one per model for its versions, and one batched run search per 100
    source runs (plus one to list experiments), never one per version.
    """
    models = registry.list_registered_models()
    versions = {m.name: registry.search_model_versions(m.name) for m in models}
    run_ids = [v.run_id for vs in versions.values() for v in vs if v.run_id]
    runs = {r.run_id: r for r in registry.get_runs(run_ids)} if run_ids else {}
    return tuple(_overview(m, versions[m.name], runs) for m in models)


def model_overview(registry: MlflowPort, *, model: str) -> ModelOverview:
    """One registered model's overview (see ``models_overview``)."""
    registered = _get_model(registry, model)
    versions = registry.search_model_versions(model)
    run_ids = [v.run_id for v in versions if v.run_id]
    runs = {r.run_id: r for r in registry.get_runs(run_ids)} if run_ids else {}
    return _overview(registered, versions, runs)


def _history(model: RegisteredModel, alias: str) -> AliasHistory:
    try:
        return decode_alias_history(model.name, alias, model.tags.get(history_tag_key(alias)))
    except AliasHistoryError as err:
        raise ConsoleError(
            f"The promotion history of {model.name!r} for alias {alias!r} cannot be read.", problems=(str(err),)
        ) from err


def promotion_history(registry: MlflowPort, *, model: str) -> tuple[AliasHistory, ...]:
    """The recorded history of every alias of ``model`` that has one or is set now, by alias name."""
    registered = _get_model(registry, model)
    aliases = set(registered.aliases) | {
        key[len(ALIAS_HISTORY_TAG_PREFIX) :] for key in registered.tags if key.startswith(ALIAS_HISTORY_TAG_PREFIX)
    }
    return tuple(_history(registered, alias) for alias in sorted(aliases))


def alias_holder_at(registry: MlflowPort, *, model: str, alias: str, at: datetime) -> HolderAt:
    """Which version of ``model`` held ``alias`` at time ``at`` (from the recorded history)."""
    problems = alias_name_problems(alias)
    if problems:
        raise InvalidInput(f"{alias!r} is not a valid alias name.", problems=problems)
    return holder_at(_history(_get_model(registry, model), alias), at)


# ---------------------------------------------------------------------------------------------- promotion


def _get_model(registry: MlflowPort, model: str) -> RegisteredModel:
    if not model or not model.strip():
        raise InvalidInput("Choose a registered model.")
    try:
        return registry.get_registered_model(model)
    except NotFound as err:
        raise NotFound(f"There is no registered model {model!r} in MLflow.") from err


def _get_version(registry: MlflowPort, model: str, version: int) -> ModelVersion:
    try:
        return registry.get_model_version(model, version)
    except NotFound as err:
        raise NotFound(f"Model {model!r} has no version {version} (it may have been deleted).") from err


def _source_metric(registry: MlflowPort, version: ModelVersion, key: str) -> float | None:
    if not version.run_id:
        return None
    try:
        return registry.get_run(version.run_id).metrics.get(key)
    except NotFound:
        return None


def _parse_version(version: int | str) -> int | None:
    try:
        number = int(str(version).strip())
    except ValueError:
        return None
    return number if number >= 1 else None


def check_promotion(registry: MlflowPort, *, model: str, version: int | str, alias: str) -> PromotionCheck:
    """Validate a promotion and evaluate its gate without changing anything.

    Raises InvalidInput (bad alias or version number), NotFound (model or version), Conflict (version not
    ready, archived, or already holding the alias).
    """
    problems = list(alias_name_problems(alias))
    number = _parse_version(version)
    if number is None:
        problems.append(f"{version!r} is not a version number (1, 2, ...)")
    if problems:
        raise InvalidInput("The promotion request is not valid.", problems=problems)
    assert number is not None
    registered = _get_model(registry, model)
    candidate = _get_version(registry, model, number)
    if not candidate.is_ready:
        raise Conflict(f"Version {number} of {model!r} is {candidate.status}, not READY; it cannot be promoted yet.")
    if candidate.is_archived:
        raise Conflict(f"Version {number} of {model!r} is archived; archived versions cannot be promoted.")
    holder = registered.aliases.get(alias)
    if holder == number:
        raise Conflict(f"Version {number} of {model!r} already holds alias {alias!r}.")
    policy, policy_problems = _policy(registered)
    candidate_metric = _source_metric(registry, candidate, policy.key_metric)
    if policy_problems:
        gate = GateResult(
            passed=False,
            explanation="the model's gate tags are malformed: " + "; ".join(policy_problems),
            policy=policy,
            candidate_value=candidate_metric,
            holder_value=None,
            gain=None,
        )
    else:
        holder_metric = None
        if holder is not None:
            try:
                holder_metric = _source_metric(registry, registry.get_model_version(model, holder), policy.key_metric)
            except NotFound:
                holder_metric = None
        gate = evaluate_gate(candidate_metric, holder_metric, policy, holder_exists=holder is not None)
    return PromotionCheck(model=registered, candidate=candidate, alias=alias, current_holder=holder, gate=gate)


def promote(
    registry: MlflowPort,
    *,
    model: str,
    version: int | str,
    alias: str,
    reason: str,
    actor_name: str,
    now: datetime,
    override_gate: bool = False,
    expected_holder: int | None = None,
) -> PromotionResult:
    """Move ``alias`` of ``model`` to ``version`` after the gate, and record who, when, why and what before.

    ``expected_holder``, when given, is the version the operator saw holding the alias; if it moved since,
    the promotion is refused (Conflict) instead of silently overwriting. A failing gate raises
    PromotionGateFailed unless ``override_gate`` (the caller checks that the user may override). A reason is
    always required. Nothing is changed when any check fails.
    """
    reason = (reason or "").strip()
    problems: list[str] = []
    if not reason:
        problems.append(
            "a reason is required to override the gate" if override_gate else "a reason is required for a promotion"
        )
    elif len(reason) > MAX_REASON_CHARS:
        problems.append(f"the reason is {len(reason)} characters long; at most {MAX_REASON_CHARS} are allowed")
    if not (actor_name or "").strip():
        problems.append("the acting user's name is missing")
    problems.extend(alias_name_problems(alias))
    if _parse_version(version) is None:
        problems.append(f"{version!r} is not a version number (1, 2, ...)")
    if problems:
        raise InvalidInput("The promotion request is not valid.", problems=problems)

    check = check_promotion(registry, model=model, version=version, alias=alias)
    if expected_holder is not None and check.current_holder != expected_holder:
        now_held = "nobody" if check.current_holder is None else f"version {check.current_holder}"
        raise Conflict(
            f"Alias {alias!r} of {model!r} changed since you loaded it (now held by {now_held}, you saw version "
            f"{expected_holder}) - reload."
        )
    if not check.gate.passed and not override_gate:
        raise PromotionGateFailed(
            f"Version {check.candidate.version} of {model!r} does not pass the promotion gate for {alias!r}.",
            gate=check.gate,
        )
    overridden = override_gate and not check.gate.passed
    history = _history(check.model, alias)
    record = PromotionRecord(
        model=model,
        alias=alias,
        version=check.candidate.version,
        previous_version=check.current_holder,
        at=to_utc(now),
        actor=actor_name.strip(),
        reason=reason,
        action="promote",
        gate=check.gate.summary,
        overridden=overridden,
    )
    new_tags = {
        TAG_PROMOTED_BY: record.actor,
        TAG_PROMOTED_AT: format_time(record.at),
        TAG_PROMOTION_REASON: reason,
        TAG_PROMOTED_ALIAS: alias,
        TAG_PREVIOUS_HOLDER: NO_PREVIOUS_HOLDER if check.current_holder is None else str(check.current_holder),
        TAG_GATE: check.gate.summary,
        TAG_GATE_OVERRIDDEN: "true" if overridden else "false",
        TAG_CHANGE_CAUSE: change_cause(record.actor, f"promote {alias}", reason),
    }
    replaced = {key: check.candidate.tags.get(key) for key in PROMOTION_VERSION_TAGS}
    history_key = history_tag_key(alias)
    _apply(
        registry,
        model=model,
        alias=alias,
        alias_target=check.candidate.version,
        alias_before=check.current_holder,
        history_key=history_key,
        history_value=encode_alias_history(append_record(history, record)),
        history_before=check.model.tags.get(history_key),
        tag_version=check.candidate.version,
        tags=new_tags,
        tags_before=replaced,
    )
    return PromotionResult(
        model=model,
        alias=alias,
        version=check.candidate.version,
        previous_version=check.current_holder,
        gate=check.gate,
        overridden=overridden,
        record=record,
        replaced_version_tags=replaced,
    )


def undo_promotion(
    registry: MlflowPort,
    *,
    promotion: PromotionResult,
    reason: str,
    actor_name: str,
    now: datetime,
) -> PromotionRecord:
    """Put the alias back on the version that held it before ``promotion`` (or remove it if none did).

    Restores the promoted version's promotion tags to their earlier values and records the undo in the
    alias history. Refused (Conflict) if the alias moved again since the promotion.
    """
    reason = (reason or "").strip()
    problems = []
    if not reason:
        problems.append("a reason is required to undo a promotion")
    if not (actor_name or "").strip():
        problems.append("the acting user's name is missing")
    if problems:
        raise InvalidInput("The undo request is not valid.", problems=problems)
    registered = _get_model(registry, promotion.model)
    holder = registered.aliases.get(promotion.alias)
    if holder != promotion.version:
        now_held = "nobody" if holder is None else f"version {holder}"
        raise Conflict(
            f"Alias {promotion.alias!r} of {promotion.model!r} moved since the promotion (now {now_held}); "
            "not undoing it - reload."
        )
    history = _history(registered, promotion.alias)
    record = PromotionRecord(
        model=promotion.model,
        alias=promotion.alias,
        version=promotion.previous_version,
        previous_version=promotion.version,
        at=to_utc(now),
        actor=actor_name.strip(),
        reason=reason,
        action="undo",
    )
    current_version = _get_version(registry, promotion.model, promotion.version)
    history_key = history_tag_key(promotion.alias)
    _apply(
        registry,
        model=promotion.model,
        alias=promotion.alias,
        alias_target=promotion.previous_version,
        alias_before=promotion.version,
        history_key=history_key,
        history_value=encode_alias_history(append_record(history, record)),
        history_before=registered.tags.get(history_key),
        tag_version=promotion.version,
        tags=dict(promotion.replaced_version_tags),
        tags_before={key: current_version.tags.get(key) for key in promotion.replaced_version_tags},
    )
    return record


def _point_alias(registry: MlflowPort, model: str, alias: str, version: int | None) -> None:
    if version is None:
        registry.delete_alias(model, alias)
    else:
        registry.set_alias(model, alias, version)


def _write_tags(registry: MlflowPort, model: str, version: int, tags: dict[str, str | None]) -> None:
    for key, value in tags.items():
        if value is None:
            try:
                registry.delete_version_tag(model, version, key)
            except NotFound:
                pass  # already absent
        else:
            registry.set_version_tag(model, version, key, value)


def _apply(
    registry: MlflowPort,
    *,
    model: str,
    alias: str,
    alias_target: int | None,
    alias_before: int | None,
    history_key: str,
    history_value: str,
    history_before: str | None,
    tag_version: int,
    tags: dict[str, str | None],
    tags_before: dict[str, str | None],
) -> None:
    """Write alias, history and version tags; on a failure undo what was written, then re-raise."""
    done: list[str] = []
    try:
        _point_alias(registry, model, alias, alias_target)
        done.append("alias")
        registry.set_model_tag(model, history_key, history_value)
        done.append("history")
        done.append("tags")  # partially written tags are restored too
        _write_tags(registry, model, tag_version, tags)
    except ConsoleError:
        _compensate(
            registry,
            done=done,
            model=model,
            alias=alias,
            alias_before=alias_before,
            history_key=history_key,
            history_before=history_before,
            tag_version=tag_version,
            tags_before=tags_before,
        )
        raise


def _compensate(
    registry: MlflowPort,
    *,
    done: list[str],
    model: str,
    alias: str,
    alias_before: int | None,
    history_key: str,
    history_before: str | None,
    tag_version: int,
    tags_before: dict[str, str | None],
) -> None:
    # Best effort: the original error is what the operator needs to see.
    steps = {
        "tags": lambda: _write_tags(registry, model, tag_version, tags_before),
        "history": lambda: (
            registry.delete_model_tag(model, history_key)
            if history_before is None
            else registry.set_model_tag(model, history_key, history_before)
        ),
        "alias": lambda: _point_alias(registry, model, alias, alias_before),
    }
    for step in reversed(done):
        try:
            steps[step]()
        except ConsoleError:
            pass

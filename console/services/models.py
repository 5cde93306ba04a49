"""Use cases of the Models page that read the registry and the alias history: overviews, the promotion
history, the holder at a time.

Every function takes the MLflow port and the acting user explicitly; promotion itself is in
``console.services.promotion``. The lookups here (a model, a version, its gate policy, an alias's history) are
also the first steps of a promotion, so their errors are the ones an operator reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from console.adapters.audit_store import AuditStore
from console.domain.access import Actor, Permission
from console.domain.mlflow_models import (
    AliasHistory,
    AliasHolder,
    HolderAt,
    ModelVersion,
    RegisteredModel,
    RunSummary,
)
from console.domain.promotion import (
    ALIAS_HISTORY_TAG_PREFIX,
    AliasHistoryError,
    GatePolicy,
    GatePolicyError,
    GateResult,
    alias_name_problems,
    decode_alias_history,
    evaluate_gate,
    history_tag_key,
    holder_at,
    parse_gate_policy,
)
from console.errors import ConsoleError, InvalidInput, NotFound
from console.services.audit import require
from console.services.ports import ModelRegistry, RunReader

CHAMPION = "champion"
CHALLENGER = "challenger"


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


# ---------------------------------------------------------------------------------------------- lookups


def get_model(registry: ModelRegistry, model: str) -> RegisteredModel:
    """The registered model, or NotFound naming it."""
    if not model or not model.strip():
        raise InvalidInput("Choose a registered model.")
    try:
        return registry.get_registered_model(model)
    except NotFound as err:
        raise NotFound(f"There is no registered model {model!r} in MLflow.") from err


def get_version(registry: ModelRegistry, model: str, version: int) -> ModelVersion:
    """One version of ``model``, or NotFound naming it."""
    try:
        return registry.get_model_version(model, version)
    except NotFound as err:
        raise NotFound(f"Model {model!r} has no version {version} (it may have been deleted).") from err


def gate_policy(model: RegisteredModel) -> tuple[GatePolicy, tuple[str, ...]]:
    """The model's gate policy from its tags, and the problems of malformed tags (then the defaults apply)."""
    try:
        return parse_gate_policy(model.tags), ()
    except GatePolicyError as err:
        return GatePolicy(), err.problems


def source_metric(runs: RunReader, version: ModelVersion, key: str) -> float | None:
    """The value of ``key`` in the run that produced ``version`` (None when the run or the metric is gone)."""
    if not version.run_id:
        return None
    try:
        return runs.get_run(version.run_id).metrics.get(key)
    except NotFound:
        return None


def _tag_history(model: RegisteredModel, alias: str) -> AliasHistory:
    try:
        return decode_alias_history(model.name, alias, model.tags.get(history_tag_key(alias)))
    except AliasHistoryError as err:
        raise ConsoleError(
            f"The promotion history of {model.name!r} for alias {alias!r} cannot be read.", problems=(str(err),)
        ) from err


def alias_history(audit: AuditStore, model: RegisteredModel, alias: str) -> AliasHistory:
    """The recorded history of one alias, from the audit database (append-only, oldest first).

    A registry that kept the history in a registered-model tag (``mlops.console/alias-history.<alias>``, as
    the sandbox's seed and earlier consoles write it) has it taken over into the audit database once per alias.
    """
    records = audit.alias_history
    dropped = records.imported(model.name, alias)
    if dropped is None:
        older = _tag_history(model, alias)
        records.take_over(model.name, alias, older.records, dropped_count=older.dropped_count)
        dropped = records.imported(model.name, alias) or 0
    return AliasHistory(model=model.name, alias=alias, records=records.changes(model.name, alias),
                        dropped_count=dropped)


# ---------------------------------------------------------------------------------------------- reads


def _overview(model: RegisteredModel, versions: Sequence[ModelVersion], runs: dict[str, RunSummary]) -> ModelOverview:
    policy, problems = gate_policy(model)
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


def list_models(registry: ModelRegistry, actor: Actor) -> tuple[RegisteredModel, ...]:
    """Every registered model (one call), for the model picker."""
    require(actor, Permission.READ)
    return registry.list_registered_models()


def models_overview(registry: ModelRegistry, actor: Actor) -> tuple[ModelOverview, ...]:
    """Every registered model with versions, source-run metrics, aliases and champion vs challenger.

    Round trips: one for the models, one per model for its versions, and one batched run search per 100
    source runs (plus one to list experiments), never one per version.
    """
    require(actor, Permission.READ)
    models = registry.list_registered_models()
    versions = {m.name: registry.search_model_versions(m.name) for m in models}
    run_ids = [v.run_id for vs in versions.values() for v in vs if v.run_id]
    runs = {r.run_id: r for r in registry.get_runs(run_ids)} if run_ids else {}
    return tuple(_overview(m, versions[m.name], runs) for m in models)


def model_overview(registry: ModelRegistry, actor: Actor, *, model: str) -> ModelOverview:
    """One registered model's overview (see ``models_overview``)."""
    require(actor, Permission.READ)
    registered = get_model(registry, model)
    versions = registry.search_model_versions(model)
    run_ids = [v.run_id for v in versions if v.run_id]
    runs = {r.run_id: r for r in registry.get_runs(run_ids)} if run_ids else {}
    return _overview(registered, versions, runs)


def promotion_history(registry: ModelRegistry, audit: AuditStore, actor: Actor, *,
                      model: str) -> tuple[AliasHistory, ...]:
    """The recorded history of every alias of ``model`` that has one or is set now, by alias name."""
    require(actor, Permission.READ)
    registered = get_model(registry, model)
    aliases = set(registered.aliases) | set(audit.alias_history.aliases(model)) | {
        key[len(ALIAS_HISTORY_TAG_PREFIX) :] for key in registered.tags if key.startswith(ALIAS_HISTORY_TAG_PREFIX)
    }
    return tuple(alias_history(audit, registered, alias) for alias in sorted(aliases))


def alias_holder_at(registry: ModelRegistry, audit: AuditStore, actor: Actor, *, model: str, alias: str,
                    at: datetime) -> HolderAt:
    """Which version of ``model`` held ``alias`` at time ``at`` (from the recorded history)."""
    require(actor, Permission.READ)
    problems = alias_name_problems(alias)
    if problems:
        raise InvalidInput(f"{alias!r} is not a valid alias name.", problems=problems)
    return holder_at(alias_history(audit, get_model(registry, model), alias), at)

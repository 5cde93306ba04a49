"""The registry's side of a promotion or model rollback: one alias move, written whole or not at all.

A move writes the alias and, for a promotion, these tags on the version that receives it, which mirror the
alias history for MLflow's own users: ``mlops.console/promoted-by``, ``promoted-at`` (RFC 3339 UTC),
``promotion-reason``, ``promoted-alias``, ``previous-holder`` (a version number or ``none``), ``gate`` (the
gate's one-line summary), ``gate-overridden`` (``true``/``false``) and ``change-cause``
(``<user>: promote <alias> - <reason>``). If a later write fails, the earlier ones are put back before the
error is raised. The history itself is the audit database's: each move carries its ``PromotionRecord``, which
the action's audit record stores in the same transaction. ``undo_move`` moves the alias back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from console.domain.changes import change_cause
from console.domain.mlflow_models import ModelVersion, PromotionRecord, RegisteredModel
from console.domain.promotion import (
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
    GateResult,
)
from console.domain.times import format_rfc3339, to_utc
from console.errors import Conflict, ConsoleError, NotFound
from console.services.models import get_model, get_version
from console.services.ports import ModelRegistry

Tags = Mapping[str, "str | None"]  # None: the tag is absent (deleted when written)


@dataclass(frozen=True)
class AliasMove:
    """One change of an alias, with everything the registry records of it and what it replaces."""

    model: RegisteredModel  # as read before the move
    alias: str
    from_version: int | None
    to_version: int | None
    record: PromotionRecord
    tagged_version: int | None = None  # the version whose tags the move writes, if any
    version_tags: Tags = field(default_factory=dict)
    tags_before: Tags = field(default_factory=dict)

    @property
    def holder_text(self) -> str:
        """Who holds the alias after the move, in words."""
        return "nobody" if self.to_version is None else f"version {self.to_version}"


def promotion_move(
    model: RegisteredModel, candidate: ModelVersion, *, alias: str, holder: int | None, gate: GateResult,
    overridden: bool, actor: str, reason: str, at: datetime,
) -> AliasMove:
    """The move of ``alias`` to ``candidate``, with the candidate's promotion tags."""
    record = PromotionRecord(model=model.name, alias=alias, version=candidate.version, previous_version=holder,
                             at=to_utc(at), actor=actor, reason=reason, action="promote", gate=gate.summary,
                             overridden=overridden)
    tags = {
        TAG_PROMOTED_BY: actor,
        TAG_PROMOTED_AT: format_rfc3339(record.at, "milliseconds"),
        TAG_PROMOTION_REASON: reason,
        TAG_PROMOTED_ALIAS: alias,
        TAG_PREVIOUS_HOLDER: NO_PREVIOUS_HOLDER if holder is None else str(holder),
        TAG_GATE: gate.summary,
        TAG_GATE_OVERRIDDEN: "true" if overridden else "false",
        TAG_CHANGE_CAUSE: change_cause(actor, f"promote {alias}" + (" (gate overridden)" if overridden else ""),
                                       reason),
    }
    return AliasMove(model=model, alias=alias, from_version=holder, to_version=candidate.version, record=record,
                     tagged_version=candidate.version, version_tags=tags,
                     tags_before={key: candidate.tags.get(key) for key in PROMOTION_VERSION_TAGS})


def rollback_move(model: RegisteredModel, *, alias: str, current: int, target: int, actor: str, reason: str,
                  at: datetime) -> AliasMove:
    """The move of ``alias`` back from ``current`` to ``target``; version tags stay as they are."""
    record = PromotionRecord(model=model.name, alias=alias, version=target, previous_version=current,
                             at=to_utc(at), actor=actor, reason=reason, action="model-rollback")
    return AliasMove(model=model, alias=alias, from_version=current, to_version=target, record=record)


def apply_move(registry: ModelRegistry, move: AliasMove) -> None:
    """Write the alias and the version tags; on a failure put back what was written, then re-raise."""
    done: list[str] = []
    try:
        _point_alias(registry, move.model.name, move.alias, move.to_version)
        done.append("alias")
        if move.tagged_version is not None:
            done.append("tags")  # partially written tags are restored too
            _write_tags(registry, move.model.name, move.tagged_version, move.version_tags)
    except ConsoleError:
        _put_back(registry, move, done)
        raise


def undo_move(registry: ModelRegistry, move: AliasMove, *, actor: str, reason: str, at: datetime) -> AliasMove:
    """Put the alias back where ``move`` found it, restore the version tags it replaced, and record the undo.

    Refused (Conflict) when the alias moved again since ``move``: an undo never overwrites someone else's move.
    Returns the undo's own move.
    """
    model = get_model(registry, move.model.name)
    holder = model.aliases.get(move.alias)
    if holder != move.to_version:
        now_held = "nobody" if holder is None else f"version {holder}"
        raise Conflict(f"Alias {move.alias!r} of {move.model.name!r} moved since the change (now {now_held}); "
                       "not undoing it - reload.")
    record = PromotionRecord(model=model.name, alias=move.alias, version=move.from_version,
                             previous_version=move.to_version, at=to_utc(at), actor=actor, reason=reason,
                             action="undo")
    tags_now: Tags = {}
    if move.tagged_version is not None:
        version = get_version(registry, model.name, move.tagged_version)
        tags_now = {key: version.tags.get(key) for key in move.tags_before}
    undo = AliasMove(model=model, alias=move.alias, from_version=move.to_version, to_version=move.from_version,
                     record=record, tagged_version=move.tagged_version, version_tags=move.tags_before,
                     tags_before=tags_now)
    apply_move(registry, undo)
    return undo


def _point_alias(registry: ModelRegistry, model: str, alias: str, version: int | None) -> None:
    if version is None:
        registry.delete_alias(model, alias)
    else:
        registry.set_alias(model, alias, version)


def _write_tags(registry: ModelRegistry, model: str, version: int, tags: Tags) -> None:
    for key, value in tags.items():
        if value is None:
            try:
                registry.delete_version_tag(model, version, key)
            except NotFound:
                pass  # already absent
        else:
            registry.set_version_tag(model, version, key, value)


def _put_back(registry: ModelRegistry, move: AliasMove, done: list[str]) -> None:
    # Best effort: the original error is what the operator needs to see.
    name = move.model.name
    steps = {
        "tags": lambda: _write_tags(registry, name, move.tagged_version, move.tags_before),  # type: ignore[arg-type]
        "alias": lambda: _point_alias(registry, name, move.alias, move.from_version),
    }
    for step in reversed(done):
        try:
            steps[step]()
        except ConsoleError:
            pass

"""Promotion rules: the gate a candidate version must pass, alias names, and the history of an alias.

Pure logic, no I/O. The services read the registry, call these functions and write the outcome back.

Gate policy, read from registered-model tags (defaults in brackets):

- ``mlops.console/key-metric``: the source-run metric compared (``accuracy``)
- ``mlops.console/direction``: ``maximize`` or ``minimize`` (``maximize``)
- ``mlops.console/min-gain``: how much the candidate must improve on the current holder, in the metric's
  units and in the policy's direction; may be negative to tolerate a small loss (``0.0``: at least as good)

Gate rules: a candidate without the key metric fails; an alias without a holder, or a holder without the
key metric, passes (there is nothing to compare against, and the explanation says so).

Alias history is kept per alias in a registered-model tag ``mlops.console/alias-history.<alias>``: compact
JSON ``{"dropped": n, "entries": [...]}``, oldest first, bounded to ``MAX_HISTORY_TAG_CHARS`` (MLflow
stores registered-model tag values in a 5,000-character column). When it would overflow, the oldest
entries are dropped and counted, so "who held the alias at T" stays truthful: unknown before the window.
Reasons are shortened in the history; the full reason is in the version tags and the audit log.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from console.domain.mlflow_models import TAG_PREFIX, AliasHistory, HolderAt, PromotionRecord
from console.domain.times import format_rfc3339, parse_rfc3339, to_utc

TAG_KEY_METRIC = TAG_PREFIX + "key-metric"
TAG_DIRECTION = TAG_PREFIX + "direction"
TAG_MIN_GAIN = TAG_PREFIX + "min-gain"
ALIAS_HISTORY_TAG_PREFIX = TAG_PREFIX + "alias-history."

# Written on the version that receives an alias.
TAG_PROMOTED_BY = TAG_PREFIX + "promoted-by"
TAG_PROMOTED_AT = TAG_PREFIX + "promoted-at"
TAG_PROMOTION_REASON = TAG_PREFIX + "promotion-reason"
TAG_PROMOTED_ALIAS = TAG_PREFIX + "promoted-alias"
TAG_PREVIOUS_HOLDER = TAG_PREFIX + "previous-holder"
TAG_GATE = TAG_PREFIX + "gate"
TAG_GATE_OVERRIDDEN = TAG_PREFIX + "gate-overridden"
TAG_CHANGE_CAUSE = TAG_PREFIX + "change-cause"
PROMOTION_VERSION_TAGS = (
    TAG_PROMOTED_BY,
    TAG_PROMOTED_AT,
    TAG_PROMOTION_REASON,
    TAG_PROMOTED_ALIAS,
    TAG_PREVIOUS_HOLDER,
    TAG_GATE,
    TAG_GATE_OVERRIDDEN,
    TAG_CHANGE_CAUSE,
)

DEFAULT_KEY_METRIC = "accuracy"
DEFAULT_DIRECTION = "maximize"
DEFAULT_MIN_GAIN = 0.0
DIRECTIONS = ("maximize", "minimize")

MAX_HISTORY_TAG_CHARS = 5000
MAX_HISTORY_REASON_CHARS = 120
MAX_HISTORY_GATE_CHARS = 160
NO_PREVIOUS_HOLDER = "none"

# The same rules MLflow applies (mlflow/utils/validation.py), checked before anything is sent.
_ALIAS_REGEX = re.compile(r"^[\w\-]*$")
_VERSION_ALIAS_REGEX = re.compile(r"^[vV]\d+$")
MAX_ALIAS_LENGTH = 255


class GatePolicyError(ValueError):
    """The model's gate tags are malformed; ``problems`` lists every problem."""

    def __init__(self, problems: tuple[str, ...]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


class AliasHistoryError(ValueError):
    """An alias-history tag that is not in the console's format."""


@dataclass(frozen=True)
class GatePolicy:
    key_metric: str = DEFAULT_KEY_METRIC
    direction: str = DEFAULT_DIRECTION
    min_gain: float = DEFAULT_MIN_GAIN


@dataclass(frozen=True)
class GateResult:
    passed: bool
    explanation: str
    policy: GatePolicy
    candidate_value: float | None
    holder_value: float | None
    gain: float | None

    @property
    def summary(self) -> str:
        """One line for a version tag: ``passed: accuracy 0.9667 vs 0.9333 (maximize, gain +0.0333 >= 0)``."""
        return ("passed: " if self.passed else "failed: ") + self.explanation


def parse_gate_policy(tags: Mapping[str, str]) -> GatePolicy:
    """Read the gate policy from registered-model tags, with the documented defaults for absent tags."""
    problems: list[str] = []
    key_metric = tags.get(TAG_KEY_METRIC, DEFAULT_KEY_METRIC).strip()
    if not key_metric:
        problems.append(f"tag {TAG_KEY_METRIC} is empty; remove it to use the default {DEFAULT_KEY_METRIC!r}")
    direction = tags.get(TAG_DIRECTION, DEFAULT_DIRECTION).strip().lower()
    if direction not in DIRECTIONS:
        problems.append(f"tag {TAG_DIRECTION} is {direction!r}; expected one of {', '.join(DIRECTIONS)}")
    raw_gain = tags.get(TAG_MIN_GAIN, str(DEFAULT_MIN_GAIN)).strip()
    try:
        min_gain = float(raw_gain)
        if not math.isfinite(min_gain):
            raise ValueError(raw_gain)
    except ValueError:
        problems.append(f"tag {TAG_MIN_GAIN} is {raw_gain!r}; expected a number such as 0.01")
        min_gain = DEFAULT_MIN_GAIN
    if problems:
        raise GatePolicyError(tuple(problems))
    return GatePolicy(key_metric=key_metric, direction=direction, min_gain=min_gain)


def _usable(value: float | None) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return float(value)


def evaluate_gate(
    candidate_metric: float | None,
    holder_metric: float | None,
    policy: GatePolicy,
    *,
    holder_exists: bool = True,
) -> GateResult:
    """Compare the candidate's key metric with the current holder's under ``policy``.

    ``holder_exists=False`` means the alias has no holder yet: the gate passes.
    """
    candidate = _usable(candidate_metric)
    holder = _usable(holder_metric)
    metric = policy.key_metric
    if candidate is None:
        return GateResult(
            passed=False,
            explanation=f"the candidate's source run has no {metric} metric to compare",
            policy=policy,
            candidate_value=None,
            holder_value=holder,
            gain=None,
        )
    if not holder_exists:
        return GateResult(
            passed=True,
            explanation=f"{metric} {candidate:.4g}; the alias has no holder to compare against",
            policy=policy,
            candidate_value=candidate,
            holder_value=None,
            gain=None,
        )
    if holder is None:
        return GateResult(
            passed=True,
            explanation=f"{metric} {candidate:.4g}; the current holder has no {metric} metric to compare against",
            policy=policy,
            candidate_value=candidate,
            holder_value=None,
            gain=None,
        )
    gain = candidate - holder if policy.direction == "maximize" else holder - candidate
    # Round off float noise so that "equal" really compares equal to a min gain of 0.
    passed = round(gain - policy.min_gain, 12) >= 0
    relation = ">=" if passed else "<"
    explanation = (
        f"{metric} {candidate:.4g} vs {holder:.4g} ({policy.direction}, gain {gain:+.4g} {relation} "
        f"required {policy.min_gain:g})"
    )
    return GateResult(
        passed=passed,
        explanation=explanation,
        policy=policy,
        candidate_value=candidate,
        holder_value=holder,
        gain=gain,
    )


def alias_name_problems(alias: str) -> tuple[str, ...]:
    """Every reason why MLflow would refuse ``alias`` as an alias name (empty when it is valid)."""
    if alias is None or alias == "":
        return ("an alias name cannot be empty",)
    problems: list[str] = []
    if not _ALIAS_REGEX.match(alias):
        problems.append(f"alias {alias!r} may only contain letters, digits, underscores (_) and dashes (-)")
    if len(alias) > MAX_ALIAS_LENGTH:
        problems.append(f"alias is {len(alias)} characters long; at most {MAX_ALIAS_LENGTH} are allowed")
    if alias.lower() == "latest":
        problems.append("'latest' is reserved by MLflow and cannot be used as an alias")
    if _VERSION_ALIAS_REGEX.match(alias):
        problems.append(f"{alias!r} looks like a version reference (v<number>), which MLflow reserves")
    return tuple(problems)


def history_tag_key(alias: str) -> str:
    """The registered-model tag that keeps ``alias``'s history."""
    return ALIAS_HISTORY_TAG_PREFIX + alias


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _entry(record: PromotionRecord) -> dict[str, object]:
    entry: dict[str, object] = {
        "v": record.version,
        "prev": record.previous_version,
        "at": format_rfc3339(record.at, "milliseconds"),
        "by": record.actor,
        "act": record.action,
        "why": _shorten(record.reason, MAX_HISTORY_REASON_CHARS),
    }
    if record.gate:
        entry["gate"] = _shorten(record.gate, MAX_HISTORY_GATE_CHARS)
    if record.overridden:
        entry["ovr"] = True
    return entry


def encode_alias_history(history: AliasHistory, *, max_chars: int = MAX_HISTORY_TAG_CHARS) -> str:
    """The tag value for ``history``, dropping (and counting) the oldest records until it fits."""
    entries = [_entry(record) for record in history.records]
    dropped = history.dropped_count
    while True:
        text = json.dumps({"dropped": dropped, "entries": entries}, separators=(",", ":"), ensure_ascii=False)
        if len(text) <= max_chars or not entries:
            return text
        entries.pop(0)
        dropped += 1


def decode_alias_history(model: str, alias: str, value: str | None) -> AliasHistory:
    """Parse an alias-history tag value; an absent tag is an empty history."""
    if value is None or value.strip() == "":
        return AliasHistory(model=model, alias=alias, records=(), dropped_count=0)
    try:
        document = json.loads(value)
        records = tuple(
            PromotionRecord(
                model=model,
                alias=alias,
                version=None if entry.get("v") is None else int(entry["v"]),
                previous_version=None if entry.get("prev") is None else int(entry["prev"]),
                at=parse_rfc3339(str(entry["at"])),
                actor=str(entry.get("by", "")),
                reason=str(entry.get("why", "")),
                action=str(entry.get("act", "promote")),
                gate=str(entry.get("gate", "")),
                overridden=bool(entry.get("ovr", False)),
            )
            for entry in document["entries"]
        )
        dropped = int(document.get("dropped", 0))
    except (ValueError, KeyError, TypeError, AttributeError) as err:
        raise AliasHistoryError(
            f"tag {history_tag_key(alias)} of model {model!r} is not a console alias history: {err}"
        ) from err
    return AliasHistory(model=model, alias=alias, records=records, dropped_count=dropped)


def append_record(history: AliasHistory, record: PromotionRecord) -> AliasHistory:
    """``history`` with ``record`` appended (newest last)."""
    return replace(history, records=history.records + (record,))


def holder_at(history: AliasHistory, at: datetime) -> HolderAt:
    """Which version held the alias at ``at``, by the last recorded change at or before that time.

    Records are kept in the order they happened; their times come from the caller's clock, so a later record
    never moves an earlier answer.
    """
    moment = to_utc(at)
    current: PromotionRecord | None = None
    for record in history.records:
        if to_utc(record.at) <= moment:
            current = record
        else:
            break
    if current is None:
        known = history.dropped_count == 0
        return HolderAt(model=history.model, alias=history.alias, at=moment, version=None, known=known, record=None)
    return HolderAt(
        model=history.model, alias=history.alias, at=moment, version=current.version, known=True, record=current
    )

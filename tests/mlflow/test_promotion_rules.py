"""The pure promotion rules: gate policy and evaluation, alias names, alias history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from console.domain.mlflow_models import AliasHistory, PromotionRecord
from console.domain.promotion import (
    MAX_HISTORY_TAG_CHARS,
    TAG_DIRECTION,
    TAG_KEY_METRIC,
    TAG_MIN_GAIN,
    AliasHistoryError,
    GatePolicy,
    GatePolicyError,
    alias_name_problems,
    append_record,
    decode_alias_history,
    encode_alias_history,
    evaluate_gate,
    holder_at,
    parse_gate_policy,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_policy_defaults_when_model_has_no_tags() -> None:
    assert parse_gate_policy({}) == GatePolicy(key_metric="accuracy", direction="maximize", min_gain=0.0)


def test_policy_from_tags() -> None:
    tags = {TAG_KEY_METRIC: "rmse", TAG_DIRECTION: "Minimize", TAG_MIN_GAIN: "0.5"}
    assert parse_gate_policy(tags) == GatePolicy(key_metric="rmse", direction="minimize", min_gain=0.5)


def test_policy_reports_every_problem_at_once() -> None:
    with pytest.raises(GatePolicyError) as caught:
        parse_gate_policy({TAG_KEY_METRIC: " ", TAG_DIRECTION: "up", TAG_MIN_GAIN: "lots"})
    assert len(caught.value.problems) == 3


@pytest.mark.parametrize(
    ("candidate", "holder", "policy", "passed"),
    [
        (0.95, 0.93, GatePolicy(), True),
        (0.93, 0.93, GatePolicy(), True),  # min gain 0: as good is enough
        (0.92, 0.93, GatePolicy(), False),
        (0.94, 0.93, GatePolicy(min_gain=0.02), False),
        (0.95, 0.93, GatePolicy(min_gain=0.02), True),  # float noise does not fail an exact gain
        (0.92, 0.93, GatePolicy(min_gain=-0.02), True),  # a tolerated loss
        (10.0, 12.0, GatePolicy(key_metric="rmse", direction="minimize"), True),
        (12.5, 12.0, GatePolicy(key_metric="rmse", direction="minimize"), False),
    ],
)
def test_gate(candidate: float, holder: float, policy: GatePolicy, passed: bool) -> None:
    result = evaluate_gate(candidate, holder, policy)
    assert result.passed is passed
    assert policy.key_metric in result.explanation
    assert result.summary.startswith("passed" if passed else "failed")


def test_gate_without_candidate_metric_fails() -> None:
    result = evaluate_gate(None, 0.9, GatePolicy())
    assert not result.passed
    assert "no accuracy metric" in result.explanation
    assert not evaluate_gate(float("nan"), 0.9, GatePolicy()).passed


def test_gate_passes_without_holder_or_holder_metric() -> None:
    assert evaluate_gate(0.5, None, GatePolicy(), holder_exists=False).passed
    result = evaluate_gate(0.5, None, GatePolicy())
    assert result.passed and "current holder has no accuracy" in result.explanation


@pytest.mark.parametrize("alias", ["champion", "challenger", "shadow_2", "blue-green", "x" * 255])
def test_valid_alias_names(alias: str) -> None:
    assert alias_name_problems(alias) == ()


@pytest.mark.parametrize("alias", ["", "two words", "a/b", "latest", "LATEST", "v3", "V12", "x" * 256, "ünïcode!"])
def test_invalid_alias_names(alias: str) -> None:
    assert alias_name_problems(alias)


def _record(version: int | None, at: datetime, previous: int | None = None, reason: str = "why") -> PromotionRecord:
    return PromotionRecord(
        model="m", alias="champion", version=version, previous_version=previous, at=at, actor="alice", reason=reason
    )


def test_history_round_trip_and_holder_at() -> None:
    history = AliasHistory(model="m", alias="champion", records=())
    for version, hours, previous in [(1, 0, None), (2, 10, 1), (1, 20, 2), (None, 30, 1)]:
        history = append_record(history, _record(version, T0 + timedelta(hours=hours), previous))
    decoded = decode_alias_history("m", "champion", encode_alias_history(history))
    assert decoded == history
    assert holder_at(decoded, T0 - timedelta(seconds=1)).version is None
    assert holder_at(decoded, T0 - timedelta(seconds=1)).known
    assert holder_at(decoded, T0).version == 1
    assert holder_at(decoded, T0 + timedelta(hours=10)).version == 2
    assert holder_at(decoded, T0 + timedelta(hours=15)).record.previous_version == 1  # type: ignore[union-attr]
    assert holder_at(decoded, T0 + timedelta(hours=25)).version == 1
    assert holder_at(decoded, T0 + timedelta(hours=31)).version is None
    # A naive time is taken as UTC.
    assert holder_at(decoded, datetime(2026, 1, 1, 11)).version == 2


def test_history_is_bounded_and_knows_what_it_dropped() -> None:
    history = AliasHistory(model="m", alias="champion", records=())
    for index in range(200):
        history = append_record(history, _record(index % 5 + 1, T0 + timedelta(hours=index), reason="r" * 500))
    text = encode_alias_history(history)
    assert len(text) <= MAX_HISTORY_TAG_CHARS
    decoded = decode_alias_history("m", "champion", text)
    assert decoded.dropped_count + len(decoded.records) == 200
    assert decoded.records[-1].at == T0 + timedelta(hours=199)
    assert len(decoded.records[0].reason) <= 120
    before_window = holder_at(decoded, T0)
    assert not before_window.known and before_window.version is None
    assert holder_at(decoded, T0 + timedelta(hours=199)).version == 199 % 5 + 1


def test_malformed_history_is_reported() -> None:
    with pytest.raises(AliasHistoryError):
        decode_alias_history("m", "champion", "not json")
    assert decode_alias_history("m", "champion", None).records == ()

"""The Models and Experiments use cases on a real SQLite store, and promotions that change only the registry
(Kubernetes not connected), some through a real server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from console.adapters.audit_store import AuditStore
from console.adapters.mlflow_registry import MlflowRegistry
from console.domain.access import Actor, Role
from console.domain.mlflow_models import TAG_ARCHIVED
from console.domain.promotion import (
    TAG_CHANGE_CAUSE,
    TAG_GATE,
    TAG_GATE_OVERRIDDEN,
    TAG_KEY_METRIC,
    TAG_MIN_GAIN,
    TAG_PREVIOUS_HOLDER,
    TAG_PROMOTED_AT,
    TAG_PROMOTED_BY,
    TAG_PROMOTION_REASON,
)
from console.errors import Conflict, InvalidInput, NotFound
from console.services import experiments
from console.services import models as service
from console.services.alias_moves import apply_move, promotion_move, undo_move
from console.services.promotion import PromoteRequest, PromotionGateFailed, Promotions
from tests.mlflow.conftest import MlflowServer

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
OLIVIA = Actor("olivia", "Olivia", Role.OPERATOR)
ADAM = Actor("adam", "Adam", Role.ADMIN)
VIEWER = Actor("vera", "Vera", Role.VIEWER)


def promote(registry: MlflowRegistry, audit: AuditStore, *, actor: Actor = OLIVIA, now: datetime = NOW,
            **request: object):  # type: ignore[no-untyped-def]
    """A promotion with Kubernetes not connected: only the registry changes."""
    promotions = Promotions(registry=registry, cluster=None, audit=audit, clock=lambda: now)
    request.setdefault("model", "iris-classifier")
    request.setdefault("version", 5)
    request.setdefault("alias", "champion")
    return promotions.promote(PromoteRequest(actor=actor, **request))  # type: ignore[arg-type]


def registry_state(registry: MlflowRegistry) -> dict[str, object]:
    """Every alias and tag of every model and version: what a failed promotion must leave alone."""
    state: dict[str, object] = {}
    for model in registry.list_registered_models():
        versions = registry.search_model_versions(model.name)
        state[model.name] = (model.aliases, model.tags, {v.version: (v.tags, v.aliases, v.stage) for v in versions})
    return state


# ------------------------------------------------------------------------------------------- reads


class CountingRegistry:
    """Counts the adapter calls a use case makes (its round trips)."""

    def __init__(self, inner: MlflowRegistry) -> None:
        self.inner = inner
        self.calls: list[str] = []

    def __getattr__(self, name: str):
        target = getattr(self.inner, name)

        def counted(*args, **kwargs):
            self.calls.append(name)
            return target(*args, **kwargs)

        return counted


def test_models_overview_batches_source_runs(seeded_registry: MlflowRegistry) -> None:
    counting = CountingRegistry(seeded_registry)
    overviews = {o.model.name: o for o in service.models_overview(counting, VIEWER)}  # type: ignore[arg-type]
    assert counting.calls.count("get_runs") == 1 and "get_run" not in counting.calls
    iris = overviews["iris-classifier"]
    assert [row.version.version for row in iris.versions] == [5, 4, 3, 2, 1]
    assert all(row.key_metric == "accuracy" and row.key_metric_value is not None for row in iris.versions)
    assert {(a.alias, a.version) for a in iris.aliases} == {("champion", 4), ("challenger", 5)}
    assert iris.champion_vs_challenger is not None and iris.champion_vs_challenger.passed
    diabetes = overviews["diabetes-regressor"]
    assert diabetes.policy.key_metric == "r2"
    assert diabetes.champion_vs_challenger is not None and not diabetes.champion_vs_challenger.passed


def test_runs_page_and_run_detail(seeded_registry: MlflowRegistry) -> None:
    experiment = next(e for e in experiments.list_experiments(seeded_registry, VIEWER) if e.name == "wine-quality")
    page = experiments.runs_page(
        seeded_registry, VIEWER, experiment_ids=[experiment.experiment_id], order_by=["metrics.accuracy DESC"], max_results=5
    )
    assert len(page.runs) == 5 and page.next_page_token
    detail = experiments.run_detail(seeded_registry, VIEWER, run_id=page.runs[0].run_id, ui_base_url="http://mlflow.example/")
    assert detail.ui_url == f"http://mlflow.example/#/experiments/{experiment.experiment_id}/runs/{page.runs[0].run_id}"
    assert experiments.run_detail(seeded_registry, VIEWER, run_id=page.runs[0].run_id).ui_url is None
    with pytest.raises(InvalidInput):
        experiments.runs_page(seeded_registry, VIEWER, experiment_ids=[experiment.experiment_id], max_results=5000)


def test_compare_runs(seeded_registry: MlflowRegistry) -> None:
    experiment = next(e for e in experiments.list_experiments(seeded_registry, VIEWER) if e.name == "iris-classification")
    runs = experiments.runs_page(seeded_registry, VIEWER, experiment_ids=[experiment.experiment_id], max_results=100).runs
    ids = [r.run_id for r in runs] + ["a" * 32]
    data = experiments.compare_runs(seeded_registry, VIEWER, run_ids=ids, metric_keys=["accuracy", "val_loss"])
    assert len(data.runs) == 20 and data.missing_run_ids == ("a" * 32,)
    assert {"model", "train_fraction"} <= set(data.param_keys)
    assert len(data.histories) == 40 and all(len(h.points) == 15 for h in data.histories.values())
    with pytest.raises(InvalidInput):
        experiments.compare_runs(seeded_registry, VIEWER, run_ids=[f"{i:032x}" for i in range(1001)])


def test_models_overview_through_server(mlflow_server: MlflowServer) -> None:
    registry = MlflowRegistry(mlflow_server.url)
    counting = CountingRegistry(registry)
    overviews = service.models_overview(counting, VIEWER)  # type: ignore[arg-type]
    assert len(overviews) == 3 and counting.calls.count("get_runs") == 1


# ------------------------------------------------------------------------------------------- promotion


def test_promote_moves_alias_and_records_everything(registry: MlflowRegistry, audit: AuditStore) -> None:
    result = promote(registry, audit, reason="better accuracy", expected_holder=4)
    assert result.gate.passed and not result.overridden and result.previous_version == 4
    assert not result.kubernetes_connected and result.deployments == ()
    assert registry.get_registered_model("iris-classifier").aliases == {"champion": 5, "challenger": 5}
    tags = registry.get_model_version("iris-classifier", 5).tags
    assert tags[TAG_PROMOTED_BY] == "olivia"
    assert tags[TAG_PROMOTED_AT] == "2026-03-02T09:30:00.000Z"
    assert tags[TAG_PROMOTION_REASON] == "better accuracy"
    assert tags[TAG_PREVIOUS_HOLDER] == "4"
    assert tags[TAG_GATE].startswith("passed: accuracy")
    assert tags[TAG_GATE_OVERRIDDEN] == "false"
    assert tags[TAG_CHANGE_CAUSE] == "olivia: promote champion - better accuracy"

    def at(moment: datetime) -> int | None:
        return service.alias_holder_at(registry, audit, VIEWER, model="iris-classifier", alias="champion", at=moment).version

    assert at(NOW - timedelta(seconds=1)) == 4
    assert at(NOW) == 5
    history = {h.alias: h for h in service.promotion_history(registry, audit, VIEWER, model="iris-classifier")}
    assert history["champion"].records[-1].actor == "olivia"
    assert [r.version for r in history["champion"].records] == [1, 2, 3, 4, 5]
    [record] = audit.query()
    assert record.after["holder"] == 5 and "Kubernetes not connected" in record.error


def test_failing_gate_blocks_and_changes_nothing(registry: MlflowRegistry, audit: AuditStore) -> None:
    before = registry_state(registry)
    with pytest.raises(PromotionGateFailed) as caught:
        promote(registry, audit, model="diabetes-regressor", version=4, reason="try it")
    assert isinstance(caught.value, Conflict)
    assert "r2" in caught.value.gate.explanation and not caught.value.gate.passed
    assert registry_state(registry) == before


def test_override_needs_a_reason_and_is_recorded(registry: MlflowRegistry, audit: AuditStore) -> None:
    before = registry_state(registry)
    with pytest.raises(InvalidInput) as caught:
        promote(registry, audit, actor=ADAM, model="diabetes-regressor", version=4, reason="  ", override_gate=True)
    assert "Give a reason" in str(caught.value)
    assert registry_state(registry) == before
    result = promote(registry, audit, actor=ADAM, model="diabetes-regressor", version=4, reason="v3 leaks features",
                     override_gate=True)
    assert result.overridden and result.gate is not None and not result.gate.passed
    tags = registry.get_model_version("diabetes-regressor", 4).tags
    assert tags[TAG_GATE_OVERRIDDEN] == "true" and tags[TAG_GATE].startswith("failed: r2")
    history = {h.alias: h for h in service.promotion_history(registry, audit, VIEWER, model="diabetes-regressor")}
    record = history["champion"].records[-1]
    assert record.overridden and record.version == 4 and record.previous_version == 3 and record.actor == "adam"


def test_min_gain_from_model_tags(registry: MlflowRegistry, audit: AuditStore) -> None:
    registry.set_model_tag("iris-classifier", TAG_MIN_GAIN, "0.05")
    with pytest.raises(PromotionGateFailed):
        promote(registry, audit, reason="r")
    registry.set_model_tag("iris-classifier", TAG_KEY_METRIC, "no_such_metric")
    registry.set_model_tag("iris-classifier", TAG_MIN_GAIN, "0")
    with pytest.raises(PromotionGateFailed) as caught:
        promote(registry, audit, reason="r")
    assert "no no_such_metric metric" in caught.value.gate.explanation


def _archive_by_tag(registry: MlflowRegistry) -> None:
    registry.set_version_tag("iris-classifier", 3, TAG_ARCHIVED, "true")


def _archive_by_stage(registry: MlflowRegistry) -> None:
    with pytest.warns(FutureWarning):  # stages are deprecated, yet old registries still carry them
        registry._client.transition_model_version_stage("iris-classifier", "3", "Archived")


def _delete_version(registry: MlflowRegistry) -> None:
    registry._client.delete_model_version("iris-classifier", "2")


@pytest.mark.parametrize(
    ("prepare", "request_", "error", "words"),
    [
        (None, {"model": "no-such-model", "version": 1}, NotFound, "no registered model 'no-such-model'"),
        (None, {"version": 42}, NotFound, "has no version 42"),
        (_delete_version, {"version": 2}, NotFound, "has no version 2"),
        (_archive_by_tag, {"version": 3}, Conflict, "archived"),
        (_archive_by_stage, {"version": 3}, Conflict, "archived"),
        (None, {"alias": "bad alias"}, InvalidInput, "may only contain"),
        (None, {"alias": "latest"}, InvalidInput, "reserved"),
        (None, {"alias": "v2"}, InvalidInput, "version reference"),
        (None, {"reason": ""}, InvalidInput, "Give a reason"),
        (None, {"reason": "x" * 1001}, InvalidInput, "keep it under 1000"),
        (None, {"version": "two"}, InvalidInput, "not a version number"),
        (None, {"version": 4}, Conflict, "already holds"),
        (None, {"expected_holder": 3}, Conflict, "changed since you loaded it"),
    ],
    ids=[
        "missing-model", "missing-version", "deleted-version", "archived-tag", "archived-stage", "alias-chars",
        "alias-latest", "alias-version", "no-reason", "long-reason", "bad-version", "already-holder", "stale-holder",
    ],
)
def test_refused_promotions_change_nothing(registry: MlflowRegistry, audit: AuditStore, prepare, request_, error,
                                           words) -> None:
    if prepare is not None:
        prepare(registry)
    before = registry_state(registry)
    with pytest.raises(error) as caught:
        promote(registry, audit, **({"reason": "because"} | request_))
    assert words in str(caught.value)
    assert registry_state(registry) == before
    [record] = audit.query()
    assert record.outcome.value == "failed" and words in record.error


def test_all_request_problems_reported_at_once(registry: MlflowRegistry, audit: AuditStore) -> None:
    with pytest.raises(InvalidInput) as caught:
        promote(registry, audit, version="x", alias="bad alias", reason="r")
    assert len(caught.value.problems) == 2


def test_promote_to_a_new_alias_then_undo_removes_it(registry: MlflowRegistry, audit: AuditStore) -> None:
    before = registry_state(registry)
    check = Promotions(registry=registry, cluster=None, audit=audit).check(VIEWER, model="wine-quality", version=3,
                                                                           alias="shadow")
    move = _move_of(registry, check, reason="shadow traffic")
    assert registry.get_registered_model("wine-quality").aliases["shadow"] == 3
    undo = undo_move(registry, move, actor="o", reason="rollout failed", at=NOW + timedelta(minutes=1))
    assert (undo.record.action, undo.record.version, undo.record.previous_version) == ("undo", None, 3)
    aliases, tags, versions = registry_state(registry)["wine-quality"]  # type: ignore[misc]
    assert "shadow" not in aliases
    assert versions == before["wine-quality"][2]  # type: ignore[index]


def _move_of(registry: MlflowRegistry, check, *, reason: str):  # type: ignore[no-untyped-def]
    """Apply the alias move a promotion makes (the registry step alone) and return it."""
    move = promotion_move(check.model, check.candidate, alias=check.alias, holder=check.current_holder,
                          gate=check.gate, overridden=False, actor="o", reason=reason, at=NOW)
    apply_move(registry, move)
    return move


def test_undo_restores_previous_holder_exactly(registry: MlflowRegistry, audit: AuditStore) -> None:
    before = registry_state(registry)
    check = Promotions(registry=registry, cluster=None, audit=audit).check(VIEWER, model="iris-classifier", version=5,
                                                                           alias="champion")
    move = _move_of(registry, check, reason="ship it")
    undo = undo_move(registry, move, actor="olivia", reason="deployment failed", at=NOW + timedelta(minutes=5))
    assert undo.record.action == "undo" and undo.record.version == 4
    after = registry_state(registry)
    for name in before:
        aliases, tags, versions = after[name]  # type: ignore[misc]
        old_aliases, old_tags, old_versions = before[name]  # type: ignore[misc]
        assert (aliases, tags, versions) == (old_aliases, old_tags, old_versions)
    with pytest.raises(Conflict):  # the alias is no longer where the move left it
        undo_move(registry, move, actor="olivia", reason="again", at=NOW)


def test_promote_and_undo_through_server(mlflow_server: MlflowServer, audit: AuditStore) -> None:
    registry = MlflowRegistry(mlflow_server.url)
    before = registry_state(registry)
    with pytest.raises(PromotionGateFailed):
        promote(registry, audit, model="diabetes-regressor", version=4, reason="r")
    assert registry_state(registry) == before
    check = Promotions(registry=registry, cluster=None, audit=audit).check(VIEWER, model="wine-quality", version=5,
                                                                           alias="champion")
    move = _move_of(registry, check, reason="fix crash loop")
    assert registry.get_model_version_by_alias("wine-quality", "champion").version == 5
    undo_move(registry, move, actor="o", reason="k8s step failed", at=NOW)
    after = registry_state(registry)
    assert after["wine-quality"][0] == before["wine-quality"][0]  # type: ignore[index]
    assert after["wine-quality"][2] == before["wine-quality"][2]  # type: ignore[index]

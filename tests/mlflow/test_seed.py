"""The sandbox's MLflow seed: a real store that matches the demo catalog."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from console.adapters.audit_store import AuditStore
from console.adapters.mlflow_registry import MlflowRegistry
from console.domain.access import Actor, Role
from console.domain.promotion import TAG_DIRECTION, TAG_KEY_METRIC, TAG_MIN_GAIN, parse_gate_policy
from console.errors import Conflict
from console.sandbox.catalog import CHALLENGER_ALIAS, CHAMPION_ALIAS, DEMO_SERVICES
from console.sandbox.mlflow_seed import STEPS, seed_mlflow, seed_scale_runs
from console.services.models import alias_holder_at
from tests.mlflow.conftest import SEED_NOW, SeededStore

VIEWER = Actor("vera", "Vera", Role.VIEWER)


def test_seed_has_experiments_runs_and_histories(seeded: SeededStore, seeded_registry: MlflowRegistry) -> None:
    summary = seeded.summary
    assert summary.run_count >= 60
    assert summary.seconds < 60
    experiments = {e.name: e for e in seeded_registry.list_experiments()}
    assert {"iris-classification", "wine-quality", "diabetes-regression"} <= set(experiments)
    page = seeded_registry.search_runs([experiments["wine-quality"].experiment_id], max_results=100)
    assert len(page.runs) == 20 and page.next_page_token is None
    run = page.runs[0]
    assert {"model", "train_fraction"} <= set(run.params)
    assert {"accuracy", "f1_macro", "val_loss"} <= set(run.metrics)
    assert run.status == "FINISHED" and run.start_time is not None and run.end_time is not None
    history = seeded_registry.metric_history(run.run_id, "accuracy")
    assert [p.step for p in history.points] == list(range(STEPS))
    assert history.points[-1].value == run.metrics["accuracy"]
    assert any(a.path == "summary.json" for a in seeded_registry.list_artifacts(run.run_id))


@pytest.mark.parametrize("service", DEMO_SERVICES, ids=lambda s: s.model)
def test_seed_registry_matches_catalog(seeded_registry: MlflowRegistry, service) -> None:
    model = seeded_registry.get_registered_model(service.model)
    versions = seeded_registry.search_model_versions(service.model)
    numbers = sorted(v.version for v in versions)
    assert numbers[: max(service.revision_versions)] == list(range(1, max(service.revision_versions) + 1))
    assert 3 <= len(numbers) <= 5
    assert model.aliases[CHAMPION_ALIAS] == service.current_version
    assert model.aliases[CHALLENGER_ALIAS] not in (None, service.current_version)
    assert model.tags[TAG_KEY_METRIC] == service.key_metric
    assert {TAG_DIRECTION, TAG_MIN_GAIN} <= set(model.tags)
    parse_gate_policy(model.tags)
    runs = {r.run_id: r for r in seeded_registry.get_runs([v.run_id for v in versions])}
    for version in versions:
        assert version.is_ready and not version.is_archived
        assert service.key_metric in runs[version.run_id].metrics
        # The source run ran before its version was registered.
        assert runs[version.run_id].end_time <= version.creation_time  # type: ignore[operator]
    by_version = {v.version: runs[v.run_id].metrics[service.key_metric] for v in versions}
    champion_history = [by_version[v] for v in range(1, service.current_version + 1)]
    assert champion_history == sorted(champion_history), "later versions score at least as well"


def test_seed_history_replays_the_revisions(seeded: SeededStore, seeded_registry: MlflowRegistry,
                                           audit: AuditStore) -> None:
    wine = next(s for s in DEMO_SERVICES if s.model == "wine-quality")
    records = seeded.summary.alias_history[f"{wine.model}/{CHAMPION_ALIAS}"]
    assert tuple(r.version for r in records) == wine.revision_versions
    for record in records:
        held = alias_holder_at(seeded_registry, audit, VIEWER, model=wine.model, alias=CHAMPION_ALIAS, at=record.at)
        assert held.version == record.version and held.known
    first = records[0].at
    before = alias_holder_at(seeded_registry, audit, VIEWER, model=wine.model, alias=CHAMPION_ALIAS, at=first.replace(year=2000))
    assert before.version is None and before.known
    assert records[-1].at <= SEED_NOW


def test_seeded_champion_model_loads_and_predicts(seeded_registry: MlflowRegistry) -> None:
    import mlflow.pyfunc
    from sklearn.datasets import load_iris

    champion = seeded_registry.get_model_version_by_alias("iris-classifier", CHAMPION_ALIAS)
    # The version's source is a local artifact path, so no global tracking URI is needed to load it.
    model = mlflow.pyfunc.load_model(champion.source)
    assert len(model.predict(load_iris().data[:5])) == 5


def test_seed_refuses_a_store_that_is_not_empty(store_copy: str) -> None:
    with pytest.raises(Conflict) as caught:
        seed_mlflow(store_copy, now=SEED_NOW)
    assert "not empty" in str(caught.value)


def test_scale_runs_are_paged_server_side_without_adapter_overhead(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'scale.db'}"
    experiment_id = seed_scale_runs(uri, experiment_name="scale", count=10_000)
    registry = MlflowRegistry(uri)
    first = registry.search_runs([experiment_id], max_results=1000)
    second = registry.search_runs([experiment_id], max_results=1000, page_token=first.next_page_token)
    assert (len(first.runs), len(second.runs)) == (1000, 1000) and second.next_page_token
    assert not {r.run_id for r in first.runs} & {r.run_id for r in second.runs}
    filtered = registry.search_runs([experiment_id], filter_string="metrics.auc > 0.9 and params.model = 'xgb'")
    assert filtered.runs and all(r.metrics["auc"] > 0.9 and r.params["model"] == "xgb" for r in filtered.runs)

    # The first page of 100 costs what MLflow's own search costs: no per-run round trips in the adapter.
    def best_of_three(call) -> float:
        timings = []
        for _ in range(3):
            begin = time.perf_counter()
            call()
            timings.append(time.perf_counter() - begin)
        return min(timings)

    raw = best_of_three(lambda: registry._client.search_runs([experiment_id], max_results=100))
    ours = best_of_three(lambda: registry.search_runs([experiment_id], max_results=100))
    assert ours <= raw + 0.2
    with pytest.raises(Conflict):
        seed_scale_runs(uri, experiment_name="scale", count=1)

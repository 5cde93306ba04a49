"""Seeds the sandbox's MLflow store with real experiments, runs and registered models.

Every run really trains a small scikit-learn model on a data set that ships with scikit-learn, one epoch (or
one growth step of an ensemble) at a time, and logs its validation metrics per step. The registered
versions of the three demo models (``catalog.DEMO_SERVICES``) are chosen from those runs so that later
versions score better, and carry a saved scikit-learn model. Aliases follow the Deployments' revision
history: ``champion`` moved through ``revision_versions`` and sits on ``current_version``; ``challenger``
sits on one extra version (better than the champion for iris and wine, worse for diabetes, so that the
console's promotion gate has one failing case to show). The alias history tags record every move.

Run ids are MLflow's random UUIDs; everything else (data splits, models, metrics, times relative to
``now``) is deterministic.
"""

from __future__ import annotations

import json
import logging
import math
import random
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import unquote, urlparse

import numpy as np
from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunStatus, RunTag, ViewType

from console.domain.changes import change_cause
from console.domain.mlflow_models import AliasHistory, PromotionRecord
from console.domain.promotion import (
    NO_PREVIOUS_HOLDER,
    TAG_CHANGE_CAUSE,
    TAG_DIRECTION,
    TAG_GATE,
    TAG_KEY_METRIC,
    TAG_MIN_GAIN,
    TAG_PREVIOUS_HOLDER,
    TAG_PROMOTED_ALIAS,
    TAG_PROMOTED_AT,
    TAG_PROMOTED_BY,
    TAG_PROMOTION_REASON,
    append_record,
    encode_alias_history,
    history_tag_key,
)
from console.domain.times import format_rfc3339
from console.errors import Conflict, InvalidInput
from console.sandbox.catalog import CHALLENGER_ALIAS, CHAMPION_ALIAS, DEMO_SERVICES, DemoService

SEED_ACTOR = "sandbox-seed"
SEED_SEED = 20240601
STEPS = 15
EXPERIMENT_NAMES = {"iris": "iris-classification", "wine": "wine-quality", "diabetes": "diabetes-regression"}
# Gate policy per model: (direction, min gain). Key metric comes from the catalog.
GATE_POLICIES = {
    "iris-classifier": ("maximize", 0.0),
    "wine-quality": ("maximize", 0.01),
    "diabetes-regressor": ("maximize", 0.005),
}
# Does the challenger beat the champion? diabetes shows a failing gate.
CHALLENGER_BETTER = {"iris-classifier": True, "wine-quality": True, "diabetes-regressor": False}
VERSION_SPACING = timedelta(days=4)


@dataclass(frozen=True)
class SeededVersion:
    model: str
    version: int
    run_id: str
    key_metric: str
    key_metric_value: float
    created_at: datetime


@dataclass(frozen=True)
class SeedSummary:
    tracking_uri: str
    experiments: dict[str, str]  # name -> experiment id
    run_count: int
    versions: tuple[SeededVersion, ...]
    aliases: dict[str, dict[str, int]]  # model -> alias -> version
    seconds: float = 0.0
    alias_history: dict[str, tuple[PromotionRecord, ...]] = field(default_factory=dict)  # "model/alias" -> records


@dataclass
class _TrainedRun:
    index: int
    model_type: str
    params: dict[str, str]
    history: dict[str, list[float]]  # metric -> value per step
    estimator: object

    def final(self, key: str) -> float:
        return self.history[key][-1]


def _load(dataset: str) -> tuple[np.ndarray, np.ndarray]:
    from sklearn import datasets

    loader = {"iris": datasets.load_iris, "wine": datasets.load_wine, "diabetes": datasets.load_diabetes}[dataset]
    bunch = loader()
    return np.asarray(bunch.data, dtype=float), np.asarray(bunch.target)


def _split(dataset: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    features, target = _load(dataset)
    classification = dataset != "diabetes"
    x_train, x_val, y_train, y_val = train_test_split(
        features,
        target,
        test_size=0.4,
        random_state=7,
        stratify=target if classification else None,
    )
    scaler = StandardScaler().fit(x_train)
    return scaler.transform(x_train), scaler.transform(x_val), y_train, y_val


def _classifier_run(index: int, rng: random.Random, data: tuple, model_type: str) -> _TrainedRun:
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import SGDClassifier
    from sklearn.metrics import accuracy_score, f1_score, log_loss
    from sklearn.neural_network import MLPClassifier

    x_train, x_val, y_train, y_val = data
    classes = np.unique(np.concatenate([y_train, y_val]))
    # Each model gets its own slice of the training data so runs differ like real experiments do.
    fraction = rng.choice([0.35, 0.5, 0.7, 0.85, 1.0])
    rows = np.random.default_rng(index).permutation(len(x_train))[: max(len(classes) * 4, int(len(x_train) * fraction))]
    x_fit, y_fit = x_train[rows], y_train[rows]
    params: dict[str, str] = {"model": model_type, "train_fraction": str(fraction), "epochs": str(STEPS)}
    if model_type == "sgd":
        alpha = rng.choice([1e-4, 1e-3, 1e-2, 0.1])
        eta0 = rng.choice([0.001, 0.003, 0.01, 0.03])
        params.update(alpha=str(alpha), eta0=str(eta0), learning_rate="constant")
        estimator = SGDClassifier(loss="log_loss", alpha=alpha, eta0=eta0, learning_rate="constant", random_state=index)
    elif model_type == "mlp":
        hidden = rng.choice([4, 8, 16])
        lr = rng.choice([0.001, 0.003, 0.01])
        params.update(hidden_units=str(hidden), learning_rate_init=str(lr))
        estimator = MLPClassifier(hidden_layer_sizes=(hidden,), learning_rate_init=lr, random_state=index)
    else:
        depth = rng.choice([1, 2, 3, 5])
        params.update(max_depth=str(depth), trees_per_step="4")
        estimator = RandomForestClassifier(n_estimators=0, max_depth=depth, warm_start=True, random_state=index)
    history: dict[str, list[float]] = {"accuracy": [], "f1_macro": [], "val_loss": [], "train_accuracy": []}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for step in range(STEPS):
            if model_type == "random_forest":
                estimator.set_params(n_estimators=4 * (step + 1))
                estimator.fit(x_fit, y_fit)
            else:
                estimator.partial_fit(x_fit, y_fit, classes=classes)
            predicted = estimator.predict(x_val)
            history["accuracy"].append(float(accuracy_score(y_val, predicted)))
            history["f1_macro"].append(float(f1_score(y_val, predicted, average="macro")))
            history["val_loss"].append(float(log_loss(y_val, estimator.predict_proba(x_val), labels=classes)))
            history["train_accuracy"].append(float(accuracy_score(y_fit, estimator.predict(x_fit))))
    return _TrainedRun(index=index, model_type=model_type, params=params, history=history, estimator=estimator)


def _regressor_run(index: int, rng: random.Random, data: tuple, model_type: str) -> _TrainedRun:
    from sklearn.ensemble import GradientBoostingRegressor
    from sklearn.linear_model import SGDRegressor
    from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score
    from sklearn.neural_network import MLPRegressor

    x_train, x_val, y_train, y_val = data
    fraction = rng.choice([0.35, 0.5, 0.7, 0.85, 1.0])
    rows = np.random.default_rng(index).permutation(len(x_train))[: int(len(x_train) * fraction)]
    x_fit, y_fit = x_train[rows], y_train[rows]
    params: dict[str, str] = {"model": model_type, "train_fraction": str(fraction), "epochs": str(STEPS)}
    if model_type == "sgd":
        alpha = rng.choice([1e-4, 1e-3, 1e-2, 0.1])
        eta0 = rng.choice([0.001, 0.003, 0.01])
        params.update(alpha=str(alpha), eta0=str(eta0), learning_rate="constant")
        estimator = SGDRegressor(alpha=alpha, eta0=eta0, learning_rate="constant", random_state=index)
    elif model_type == "mlp":
        hidden = rng.choice([8, 16, 32])
        lr = rng.choice([0.01, 0.03, 0.1])
        params.update(hidden_units=str(hidden), learning_rate_init=str(lr))
        estimator = MLPRegressor(hidden_layer_sizes=(hidden,), learning_rate_init=lr, random_state=index)
    else:
        depth = rng.choice([1, 2, 3])
        lr = rng.choice([0.05, 0.1, 0.2])
        params.update(max_depth=str(depth), learning_rate=str(lr), trees_per_step="5")
        estimator = GradientBoostingRegressor(
            n_estimators=0, max_depth=depth, learning_rate=lr, warm_start=True, random_state=index
        )
    history: dict[str, list[float]] = {"r2": [], "rmse": [], "mae": [], "train_r2": []}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for step in range(STEPS):
            if model_type == "gradient_boosting":
                estimator.set_params(n_estimators=5 * (step + 1))
                estimator.fit(x_fit, y_fit)
            else:
                estimator.partial_fit(x_fit, y_fit)
            predicted = estimator.predict(x_val)
            history["r2"].append(float(r2_score(y_val, predicted)))
            history["rmse"].append(float(math.sqrt(mean_squared_error(y_val, predicted))))
            history["mae"].append(float(mean_absolute_error(y_val, predicted)))
            history["train_r2"].append(float(r2_score(y_fit, estimator.predict(x_fit))))
    return _TrainedRun(index=index, model_type=model_type, params=params, history=history, estimator=estimator)


def _train_runs(dataset: str, count: int, rng: random.Random) -> list[_TrainedRun]:
    data = _split(dataset)
    if dataset == "diabetes":
        types, trainer = ("sgd", "mlp", "gradient_boosting"), _regressor_run
    else:
        types, trainer = ("sgd", "mlp", "random_forest"), _classifier_run
    trainer_fn: Callable[..., _TrainedRun] = trainer
    return [trainer_fn(index, rng, data, types[index % len(types)]) for index in range(count)]


def _pick_versions(
    runs: list[_TrainedRun], key: str, champion_version: int, challenger_better: bool
) -> list[_TrainedRun]:
    """Runs for versions 1..champion_version+1: scores rise towards the champion; the challenger is last.

    The challenger is strictly better than the champion when ``challenger_better``, else strictly worse.
    """
    count = champion_version + 1
    ranked = sorted(runs, key=lambda r: (r.final(key), -r.index))
    if len({r.final(key) for r in ranked}) < 2 or len(ranked) < count:
        raise InvalidInput(f"Too few distinct runs to pick {count} versions; seed more runs per experiment.")
    best = ranked[-1]
    if challenger_better:
        challenger = best
        champion = next(r for r in reversed(ranked) if r.final(key) < best.final(key))
    else:
        champion = best
        challenger = next(r for r in reversed(ranked) if r.final(key) < best.final(key))
    lower = [r for r in ranked if r is not champion and r is not challenger and r.final(key) <= champion.final(key)]
    if len(lower) < champion_version - 1:
        raise InvalidInput(f"Too few runs below the champion to pick {count} versions; seed more runs.")
    # Earlier versions come from the runs just below the champion (a team ships its better runs), weakest first.
    lower = lower[-max(2 * (champion_version - 1), 1) :]
    positions = np.linspace(0, len(lower) - 1, champion_version - 1).round().astype(int) if champion_version > 1 else []
    earlier = [lower[p] for p in positions]
    return [*earlier, champion, challenger]


def _check_empty(client: MlflowClient, tracking_uri: str) -> None:
    all_experiments = list(client.search_experiments(view_type=ViewType.ALL, max_results=100))
    experiments = [e for e in all_experiments if e.name != "Default"]
    models = client.search_registered_models(max_results=1)
    ids = [e.experiment_id for e in all_experiments]
    runs = client.search_runs(ids, max_results=1, run_view_type=ViewType.ALL) if ids else []
    if experiments or models or runs:
        raise Conflict(
            f"The MLflow store at {tracking_uri} is not empty; the sandbox seed only fills an empty store.",
            problems=[f"experiment {e.name!r}" for e in experiments[:10]]
            + [f"registered model {m.name!r}" for m in models]
            + (["runs in the Default experiment"] if runs and not experiments else []),
        )


def _sqlite_artifact_root(tracking_uri: str) -> Path | None:
    if not tracking_uri.startswith("sqlite:///"):
        return None
    db_path = Path(unquote(urlparse(tracking_uri).path))
    return db_path.parent / (db_path.stem + "-artifacts")


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def seed_mlflow(
    tracking_uri: str,
    *,
    now: datetime,
    runs_per_experiment: int = 20,
    artifact_root: Path | None = None,
) -> SeedSummary:
    """Fill an empty MLflow store (``sqlite:///...`` or an http(s) server) with the demo world.

    Three experiments (one per demo data set) of ``runs_per_experiment`` runs with 15-step metric histories,
    params, tags and a JSON summary artifact each; the three demo registered models with versions, aliases,
    gate tags and alias history. For a SQLite store the artifacts go to ``artifact_root`` (default: a
    ``<db name>-artifacts`` folder beside the database). Raises Conflict when the store is not empty.
    """
    started = datetime.now(UTC)
    if runs_per_experiment < 8:
        raise InvalidInput(f"Seed at least 8 runs per experiment, got {runs_per_experiment}.")
    now = now.astimezone(UTC) if now.tzinfo else now.replace(tzinfo=UTC)
    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    _check_empty(client, tracking_uri)
    artifact_root = artifact_root or _sqlite_artifact_root(tracking_uri)
    rng = random.Random(SEED_SEED)

    experiments: dict[str, str] = {}
    versions: list[SeededVersion] = []
    aliases: dict[str, dict[str, int]] = {}
    histories: dict[str, tuple[PromotionRecord, ...]] = {}
    run_count = 0
    for service in DEMO_SERVICES:
        name = EXPERIMENT_NAMES[service.dataset]
        location = None if artifact_root is None else (Path(artifact_root) / name).resolve().as_uri()
        experiment_id = client.create_experiment(
            name,
            artifact_location=location,
            tags={"mlops.console/dataset": service.dataset, "mlops.console/model": service.model},
        )
        experiments[name] = experiment_id
        trained = _train_runs(service.dataset, runs_per_experiment, rng)
        champion_version = max(service.revision_versions)
        picked = _pick_versions(trained, service.key_metric, champion_version, CHALLENGER_BETTER[service.model])
        version_of = {id(run): number for number, run in enumerate(picked, start=1)}
        created = {number: now - VERSION_SPACING * (len(picked) - number + 1) for number in version_of.values()}
        run_ids: dict[int, str] = {}
        for run in trained:
            number = version_of.get(id(run))
            if number is not None:
                start = created[number] - timedelta(hours=2)
            else:
                # Unregistered runs spread over the 30 days before now, deterministically.
                start = now - timedelta(days=30) + timedelta(minutes=rng.randrange(0, 29 * 24 * 60))
            run_ids[run.index] = _log_run(client, experiment_id, service, run, start, registered_as=number)
            run_count += 1
        aliases[service.model] = {}
        _register_model(client, service, picked, run_ids, created, versions)
        for alias, records in _seed_aliases(client, service, created, now).items():
            aliases[service.model][alias] = records[-1].version  # type: ignore[assignment]
            histories[f"{service.model}/{alias}"] = records
    return SeedSummary(
        tracking_uri=tracking_uri,
        experiments=experiments,
        run_count=run_count,
        versions=tuple(versions),
        aliases=aliases,
        seconds=(datetime.now(UTC) - started).total_seconds(),
        alias_history=histories,
    )


def _log_run(
    client: MlflowClient,
    experiment_id: str,
    service: DemoService,
    run: _TrainedRun,
    start: datetime,
    *,
    registered_as: int | None,
) -> str:
    run_name = f"{run.model_type}-{run.index:03d}"
    tags = {"mlops.console/dataset": service.dataset, "model_family": run.model_type, "mlflow.user": "ml-engineer"}
    if registered_as is not None:
        tags["mlops.console/registered-as"] = f"{service.model}/{registered_as}"
    created = client.create_run(experiment_id, start_time=_ms(start), tags=tags, run_name=run_name)
    run_id = created.info.run_id
    step_ms = 20_000
    metrics = [
        Metric(key, value, _ms(start) + step_ms * (step + 1), step)
        for key, values in run.history.items()
        for step, value in enumerate(values)
    ]
    params = [Param(key, value) for key, value in run.params.items()]
    client.log_batch(run_id, metrics=metrics, params=params)
    summary = {
        "model": run.model_type,
        "params": run.params,
        "final_metrics": {key: values[-1] for key, values in run.history.items()},
        "steps": STEPS,
    }
    client.log_text(run_id, json.dumps(summary, indent=2, sort_keys=True), "summary.json")
    if registered_as is not None:
        _log_model_artifact(client, run_id, run.estimator)
    _finish_run(client, run_id, end_ms=_ms(start) + step_ms * (STEPS + 1), run_name=run_name)
    return run_id


def _finish_run(client: MlflowClient, run_id: str, *, end_ms: int, run_name: str) -> None:
    # The store's call, not MlflowClient.set_terminated: that one re-reads the run and prints its URL for
    # http stores, a round trip and a line of output per run.
    store = client._tracking_client.store
    store.update_run_info(run_id, RunStatus.FINISHED, end_ms, run_name)


def _log_model_artifact(client: MlflowClient, run_id: str, estimator: object) -> None:
    import mlflow.sklearn

    sklearn_logger = logging.getLogger("mlflow.sklearn")
    level = sklearn_logger.level
    sklearn_logger.setLevel(logging.ERROR)  # the sandbox's own models: the pickle-safety warning is noise here
    try:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "model"
            # Explicit requirements skip MLflow's slow requirement inference (it imports the model in a subprocess).
            mlflow.sklearn.save_model(
                estimator, str(path), pip_requirements=["scikit-learn"], serialization_format="pickle"
            )
            client.log_artifacts(run_id, str(path), "model")
    finally:
        sklearn_logger.setLevel(level)


def _register_model(
    client: MlflowClient,
    service: DemoService,
    picked: list[_TrainedRun],
    run_ids: dict[int, str],
    created: dict[int, datetime],
    versions: list[SeededVersion],
) -> None:
    direction, min_gain = GATE_POLICIES[service.model]
    client.create_registered_model(
        service.model,
        tags={
            TAG_KEY_METRIC: service.key_metric,
            TAG_DIRECTION: direction,
            TAG_MIN_GAIN: str(min_gain),
            "mlops.console/dataset": service.dataset,
            "mlops.console/deployment": f"{service.namespace}/{service.deployment}",
        },
        description=f"{service.dataset} model served by {service.namespace}/{service.deployment}.",
    )
    for number, run in enumerate(picked, start=1):
        run_id = run_ids[run.index]
        artifact_uri = client.get_run(run_id).info.artifact_uri
        version = client.create_model_version(
            service.model,
            source=f"{artifact_uri}/model",
            run_id=run_id,
            tags={"model_family": run.model_type, "mlops.console/dataset": service.dataset},
            description=f"{run.model_type} trained {created[number].date().isoformat()}",
        )
        versions.append(
            SeededVersion(
                model=service.model,
                version=int(version.version),
                run_id=run_id,
                key_metric=service.key_metric,
                key_metric_value=run.final(service.key_metric),
                created_at=created[number],
            )
        )


def _seed_aliases(
    client: MlflowClient, service: DemoService, created: dict[int, datetime], now: datetime
) -> dict[str, tuple[PromotionRecord, ...]]:
    """Replay the champion's moves through the revision history, then set the challenger."""
    result: dict[str, tuple[PromotionRecord, ...]] = {}
    history = AliasHistory(model=service.model, alias=CHAMPION_ALIAS, records=())
    previous: int | None = None
    at = None
    for revision, version in enumerate(service.revision_versions, start=1):
        earliest = created[version] + timedelta(hours=1)
        at = earliest if at is None else max(earliest, at + timedelta(hours=6))
        action = "rollback" if previous is not None and version < previous else "promote"
        reason = f"sandbox history: revision {revision} serves version {version}"
        history = append_record(
            history,
            PromotionRecord(
                model=service.model,
                alias=CHAMPION_ALIAS,
                version=version,
                previous_version=previous,
                at=at,
                actor=SEED_ACTOR,
                reason=reason,
                action="seed",
                gate=f"not evaluated ({action} replayed by the seed)",
            ),
        )
        previous = version
    champion = service.current_version
    client.set_registered_model_alias(service.model, CHAMPION_ALIAS, str(champion))
    client.set_registered_model_tag(service.model, history_tag_key(CHAMPION_ALIAS), encode_alias_history(history))
    _tag_holder(client, service.model, history.records[-1])
    result[CHAMPION_ALIAS] = history.records

    challenger = max(created)
    record = PromotionRecord(
        model=service.model,
        alias=CHALLENGER_ALIAS,
        version=challenger,
        previous_version=None,
        at=min(created[challenger] + timedelta(hours=1), now),
        actor=SEED_ACTOR,
        reason="sandbox history: newest candidate",
        action="seed",
        gate="not evaluated (set by the seed)",
    )
    client.set_registered_model_alias(service.model, CHALLENGER_ALIAS, str(challenger))
    challenger_history = AliasHistory(model=service.model, alias=CHALLENGER_ALIAS, records=(record,))
    client.set_registered_model_tag(
        service.model, history_tag_key(CHALLENGER_ALIAS), encode_alias_history(challenger_history)
    )
    _tag_holder(client, service.model, record)
    result[CHALLENGER_ALIAS] = challenger_history.records
    return result


def _tag_holder(client: MlflowClient, model: str, record: PromotionRecord) -> None:
    tags = {
        TAG_PROMOTED_BY: record.actor,
        TAG_PROMOTED_AT: format_rfc3339(record.at, "milliseconds"),
        TAG_PROMOTION_REASON: record.reason,
        TAG_PROMOTED_ALIAS: record.alias,
        TAG_PREVIOUS_HOLDER: NO_PREVIOUS_HOLDER if record.previous_version is None else str(record.previous_version),
        TAG_GATE: record.gate,
        TAG_CHANGE_CAUSE: change_cause(record.actor, f"set {record.alias}", record.reason),
    }
    for key, value in tags.items():
        client.set_model_version_tag(model, str(record.version), key, value)


def seed_scale_runs(tracking_uri: str, *, experiment_name: str, count: int, now: datetime | None = None) -> str:
    """Create ``experiment_name`` with ``count`` finished runs (3 params, 3 metrics, 2 tags each) for benchmarks.

    SQL stores get the rows inserted in bulk (10,000 runs in seconds); other stores go through
    ``MlflowClient.log_batch`` one run at a time. Returns the experiment id.
    """
    if count < 1:
        raise InvalidInput(f"Seed at least one run, got {count}.")
    now = now or datetime.now(UTC)
    client = MlflowClient(tracking_uri=tracking_uri)
    if client.get_experiment_by_name(experiment_name) is not None:
        raise Conflict(f"Experiment {experiment_name!r} already exists in {tracking_uri}; pick another name.")
    artifact_root = _sqlite_artifact_root(tracking_uri)
    location = None if artifact_root is None else (artifact_root / experiment_name).resolve().as_uri()
    experiment_id = client.create_experiment(experiment_name, artifact_location=location)
    rng = np.random.default_rng(SEED_SEED)
    auc = rng.uniform(0.6, 0.99, count)
    accuracy = np.clip(auc - rng.uniform(0.0, 0.1, count), 0, 1)
    loss = rng.uniform(0.05, 0.9, count)
    models = np.array(["xgb", "random_forest", "logreg", "mlp"])[rng.integers(0, 4, count)]
    learning_rates = rng.choice([0.001, 0.01, 0.03, 0.1, 0.3], count)
    start0 = _ms(now) - count * 60_000
    rows = [
        {
            "name": f"scale-{i:05d}",
            "start": start0 + i * 60_000,
            "params": {"model": str(models[i]), "learning_rate": str(learning_rates[i]), "seed": str(i)},
            "metrics": {"auc": float(auc[i]), "accuracy": float(accuracy[i]), "loss": float(loss[i])},
            "tags": {"benchmark": "scale", "model_family": str(models[i])},
        }
        for i in range(count)
    ]
    store = client._tracking_client.store
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    if isinstance(store, SqlAlchemyStore):
        _bulk_insert_runs(store, experiment_id, rows)
    else:
        for row in rows:
            run = client.create_run(experiment_id, start_time=row["start"], tags=row["tags"], run_name=row["name"])
            client.log_batch(
                run.info.run_id,
                metrics=[Metric(k, v, row["start"] + 30_000, 0) for k, v in row["metrics"].items()],
                params=[Param(k, v) for k, v in row["params"].items()],
                tags=[RunTag("mlflow.runName", row["name"])],
            )
            _finish_run(client, run.info.run_id, end_ms=row["start"] + 45_000, run_name=row["name"])
    return experiment_id


def _bulk_insert_runs(store: object, experiment_id: str, rows: list[dict]) -> None:
    import uuid

    from mlflow.entities import LifecycleStage, SourceType
    from mlflow.store.tracking.dbmodels.models import SqlLatestMetric, SqlMetric, SqlParam, SqlRun, SqlTag
    from mlflow.utils.mlflow_tags import MLFLOW_RUN_NAME, MLFLOW_USER

    experiment = store.get_experiment(experiment_id)  # type: ignore[attr-defined]
    batch = 1000
    for start in range(0, len(rows), batch):
        objects: list[object] = []
        for row in rows[start : start + batch]:
            run_id = uuid.uuid4().hex
            objects.append(
                SqlRun(
                    name=row["name"],
                    artifact_uri=f"{experiment.artifact_location}/{run_id}/artifacts",
                    run_uuid=run_id,
                    experiment_id=int(experiment_id),
                    source_type=SourceType.to_string(SourceType.UNKNOWN),
                    source_name="",
                    entry_point_name="",
                    user_id="benchmark",
                    status=RunStatus.to_string(RunStatus.FINISHED),
                    start_time=row["start"],
                    end_time=row["start"] + 45_000,
                    deleted_time=None,
                    source_version="",
                    lifecycle_stage=LifecycleStage.ACTIVE,
                )
            )
            tags = {**row["tags"], MLFLOW_RUN_NAME: row["name"], MLFLOW_USER: "benchmark"}
            objects.extend(SqlTag(key=k, value=v, run_uuid=run_id) for k, v in tags.items())
            objects.extend(SqlParam(key=k, value=v, run_uuid=run_id) for k, v in row["params"].items())
            for key, value in row["metrics"].items():
                common = {
                    "key": key,
                    "value": value,
                    "timestamp": row["start"] + 30_000,
                    "step": 0,
                    "is_nan": False,
                    "run_uuid": run_id,
                }
                objects.append(SqlMetric(**common))
                objects.append(SqlLatestMetric(**common))
        with store.ManagedSessionMaker(read_only=False) as session:  # type: ignore[attr-defined]
            session.add_all(objects)

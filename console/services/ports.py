"""The ports the use cases take: what they need of MLflow, named by role, so tests can hand them real stores.

``console.adapters.mlflow_registry.MlflowRegistry`` provides both; the Kubernetes adapter and the audit store
are taken as they are (one implementation each, and the sandbox speaks their real protocols).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from console.domain.mlflow_models import (
    ArtifactEntry,
    Experiment,
    MetricHistory,
    ModelVersion,
    RegisteredModel,
    RunPage,
    RunSummary,
)


class RunReader(Protocol):
    """Experiments and runs: what the Experiments page and the gate's metrics read."""

    def list_experiments(self) -> tuple[Experiment, ...]:
        """The active experiments, by name."""
        ...

    def search_runs(
        self,
        experiment_ids: Sequence[str],
        *,
        filter_string: str = "",
        order_by: Sequence[str] = (),
        max_results: int = 100,
        page_token: str | None = None,
    ) -> RunPage:
        """One page of a run search (MLflow's syntax), with the token of the next page."""
        ...

    def get_runs(
        self, run_ids: Sequence[str], *, experiment_ids: Sequence[str] | None = None
    ) -> tuple[RunSummary, ...]:
        """The runs of these ids that exist, in batched requests."""
        ...

    def get_run(self, run_id: str) -> RunSummary:
        """One run (NotFound when it is gone)."""
        ...

    def list_artifacts(self, run_id: str, *, path: str | None = None) -> tuple[ArtifactEntry, ...]:
        """A run's artifacts at ``path`` (the top level by default)."""
        ...

    def metric_histories(
        self, run_ids: Sequence[str], keys: Sequence[str], *, max_points_per_run: int = 2500
    ) -> dict[tuple[str, str], MetricHistory]:
        """Per-step histories of ``keys`` for every run, by (run id, key)."""
        ...


class ModelRegistry(RunReader, Protocol):
    """Registered models, versions and aliases, read and moved (with the runs their versions came from)."""

    def list_registered_models(self) -> tuple[RegisteredModel, ...]:
        """Every registered model, with its aliases and tags."""
        ...

    def get_registered_model(self, model: str) -> RegisteredModel:
        """One registered model (NotFound when there is none of that name)."""
        ...

    def search_model_versions(self, model: str) -> tuple[ModelVersion, ...]:
        """Every version of ``model``, newest first."""
        ...

    def get_model_version(self, model: str, version: int | str) -> ModelVersion:
        """One version (NotFound when it was deleted)."""
        ...

    def set_alias(self, model: str, alias: str, version: int | str) -> None:
        """Point ``alias`` at ``version``."""
        ...

    def delete_alias(self, model: str, alias: str) -> None:
        """Remove ``alias`` from whichever version holds it."""
        ...

    def set_version_tag(self, model: str, version: int | str, key: str, value: str) -> None:
        """Set one tag of a version."""
        ...

    def delete_version_tag(self, model: str, version: int | str, key: str) -> None:
        """Remove one tag of a version (NotFound when it is absent)."""
        ...

    def set_model_tag(self, model: str, key: str, value: str) -> None:
        """Set one tag of the registered model."""
        ...

    def delete_model_tag(self, model: str, key: str) -> None:
        """Remove one tag of the registered model."""
        ...

"""Use cases of the Experiments page: runs searched and paged on the server, one run's detail, runs compared.

Every function takes the MLflow port and the acting user explicitly; all of them are reads (``read``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from console.domain.access import Actor, Permission
from console.domain.mlflow_models import ArtifactEntry, Experiment, MetricHistory, RunPage, RunSummary
from console.errors import InvalidInput
from console.services.audit import require
from console.services.ports import RunReader

MAX_RUNS_PER_PAGE = 1000
MAX_COMPARED_RUNS = 1000


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


def list_experiments(runs: RunReader, actor: Actor) -> tuple[Experiment, ...]:
    """Active experiments, by name."""
    require(actor, Permission.READ)
    return runs.list_experiments()


def runs_page(
    runs: RunReader,
    actor: Actor,
    *,
    experiment_ids: Sequence[str],
    filter_string: str = "",
    order_by: Sequence[str] = (),
    max_results: int = 100,
    page_token: str | None = None,
) -> RunPage:
    """One server-side page of runs (MLflow search syntax for ``filter_string`` and ``order_by``)."""
    require(actor, Permission.READ)
    if not 1 <= max_results <= MAX_RUNS_PER_PAGE:
        raise InvalidInput(f"A page shows 1 to {MAX_RUNS_PER_PAGE} runs, got {max_results}.")
    return runs.search_runs(
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


def run_detail(runs: RunReader, actor: Actor, *, run_id: str, ui_base_url: str | None = None) -> RunDetail:
    """A run's params, metrics, tags and top-level artifacts, and its MLflow UI link."""
    require(actor, Permission.READ)
    run = runs.get_run(run_id)
    artifacts = runs.list_artifacts(run_id)
    return RunDetail(run=run, artifacts=artifacts, ui_url=run_ui_url(ui_base_url, run))


def compare_runs(
    runs: RunReader,
    actor: Actor,
    *,
    run_ids: Sequence[str],
    metric_keys: Sequence[str] | None = None,
    experiment_ids: Sequence[str] | None = None,
) -> CompareData:
    """Runs and metric histories for the comparison charts, for up to 1,000 runs, in batched requests.

    ``metric_keys`` chooses the histories fetched (default: every metric any of the runs has).
    """
    require(actor, Permission.READ)
    unique = list(dict.fromkeys(r.strip() for r in run_ids if r.strip()))
    if not unique:
        raise InvalidInput("Select at least one run to compare.")
    if len(unique) > MAX_COMPARED_RUNS:
        raise InvalidInput(f"Compare at most {MAX_COMPARED_RUNS} runs at once; {len(unique)} are selected.")
    found_runs = runs.get_runs(unique, experiment_ids=experiment_ids)
    found = {r.run_id for r in found_runs}
    all_metrics = sorted({k for r in found_runs for k in r.metrics})
    keys = tuple(dict.fromkeys(metric_keys)) if metric_keys is not None else tuple(all_metrics)
    histories = runs.metric_histories([r.run_id for r in found_runs], keys) if found_runs and keys else {}
    return CompareData(
        runs=found_runs,
        metric_keys=keys,
        param_keys=tuple(sorted({k for r in found_runs for k in r.params})),
        histories=histories,
        missing_run_ids=tuple(r for r in unique if r not in found),
    )

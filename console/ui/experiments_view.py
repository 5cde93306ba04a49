"""Experiments page helpers: cached reads, the runs table, page-token paging, run detail and comparison."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from console.domain.mlflow_models import Experiment, RunPage, RunSummary
from console.services import models as service
from console.ui.backends import mlflow_registry

TOKENS_KEY = "experiments_page_tokens"
QUERY_KEY = "experiments_query"
PAGE_SIZES = (25, 100, 250, 1000)


@st.cache_data(ttl=60, max_entries=4, show_spinner=False)
def cached_experiments(tracking_uri: str) -> tuple[Experiment, ...]:
    return service.list_experiments(mlflow_registry())


@st.cache_data(ttl=30, max_entries=64, show_spinner=False)
def cached_runs_page(tracking_uri: str, experiment_id: str, filter_string: str, order_by: tuple[str, ...],
                     page_size: int, page_token: str | None) -> RunPage:
    """One server-side page; the token stack makes Next/Previous one request each (or none, when cached)."""
    return service.runs_page(mlflow_registry(), experiment_ids=[experiment_id], filter_string=filter_string,
                             order_by=order_by, max_results=page_size, page_token=page_token)


@st.cache_data(ttl=60, max_entries=32, show_spinner=False)
def cached_run_detail(tracking_uri: str, run_id: str, ui_url: str | None) -> service.RunDetail:
    return service.run_detail(mlflow_registry(), run_id=run_id, ui_base_url=ui_url)


@st.cache_data(ttl=60, max_entries=8, show_spinner=False)
def cached_compare(tracking_uri: str, run_ids: tuple[str, ...], metric_keys: tuple[str, ...],
                   experiment_id: str) -> service.CompareData:
    return service.compare_runs(mlflow_registry(), run_ids=run_ids, metric_keys=metric_keys,
                                experiment_ids=[experiment_id])


def page_tokens(query: tuple[object, ...]) -> list[str | None]:
    """The stack of page tokens of the current query: [None] (first page) after the query changes."""
    if st.session_state.get(QUERY_KEY) != query:
        st.session_state[QUERY_KEY] = query
        st.session_state[TOKENS_KEY] = [None]
    return st.session_state[TOKENS_KEY]


def next_page(token: str) -> None:
    st.session_state[TOKENS_KEY].append(token)


def previous_page() -> None:
    if len(st.session_state[TOKENS_KEY]) > 1:
        st.session_state[TOKENS_KEY].pop()


def column_choices(runs: tuple[RunSummary, ...]) -> tuple[list[str], list[str], list[str]]:
    params = sorted({k for r in runs for k in r.params})
    metrics = sorted({k for r in runs for k in r.metrics})
    tags = sorted({k for r in runs for k in r.tags if not k.startswith("mlflow.")})
    return params, metrics, tags


def runs_frame(runs: tuple[RunSummary, ...], params: list[str], metrics: list[str], tags: list[str]) -> pd.DataFrame:
    rows = []
    for run in runs:
        row: dict[str, object] = {
            "run": run.run_name or run.run_id[:8],
            "status": run.status,
            "started": run.start_time,
            "duration (s)": run.duration_seconds,
        }
        row.update({f"metrics.{k}": run.metrics.get(k) for k in metrics})
        row.update({f"params.{k}": run.params.get(k) for k in params})
        row.update({f"tags.{k}": run.tags.get(k) for k in tags})
        row["run id"] = run.run_id
        rows.append(row)
    columns = ["run", "status", "started", "duration (s)", *(f"metrics.{k}" for k in metrics),
               *(f"params.{k}" for k in params), *(f"tags.{k}" for k in tags), "run id"]
    return pd.DataFrame(rows, columns=columns)


def show_run_detail(detail: service.RunDetail) -> None:
    run = detail.run
    st.subheader(run.run_name or run.run_id)
    st.caption(f"run {run.run_id} · {run.status} · started {run.start_time:%Y-%m-%d %H:%M:%S} UTC"
               if run.start_time else f"run {run.run_id} · {run.status}")
    if detail.ui_url:
        st.link_button("Open in the MLflow UI", detail.ui_url, icon=":material/open_in_new:")
    params, metrics, tags, artifacts = st.tabs(["Params", "Metrics", "Tags", "Artifacts"])
    params.dataframe(pd.DataFrame(sorted(run.params.items()), columns=["param", "value"]), hide_index=True)
    metrics.dataframe(pd.DataFrame(sorted(run.metrics.items()), columns=["metric", "latest value"]), hide_index=True)
    tags.dataframe(pd.DataFrame(sorted(run.tags.items()), columns=["tag", "value"]), hide_index=True)
    artifacts.dataframe(pd.DataFrame([{"path": a.path + ("/" if a.is_dir else ""), "size (bytes)": a.file_size_bytes}
                                      for a in detail.artifacts], columns=["path", "size (bytes)"]), hide_index=True)

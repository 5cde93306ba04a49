"""Experiments page helpers: the runs table, page-token paging, run detail."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from console.domain.mlflow_models import RunSummary
from console.services.experiments import RunDetail
from console.ui import session

PAGE_SIZES = (25, 100, 250, 1000)


def page_tokens(query: tuple[object, ...]) -> list[str | None]:
    """The stack of page tokens of the current query: [None] (first page) after the query changes."""
    return session.run_page_tokens(query)


def next_page(token: str) -> None:
    """Button callback: the next page of the same query."""
    session.push_run_page_token(token)


def previous_page() -> None:
    """Button callback: the page before."""
    session.pop_run_page_token()


def column_choices(runs: tuple[RunSummary, ...]) -> tuple[list[str], list[str], list[str]]:
    """The params, metrics and tags the runs of a page have (the column pickers' options)."""
    params = sorted({k for r in runs for k in r.params})
    metrics = sorted({k for r in runs for k in r.metrics})
    tags = sorted({k for r in runs for k in r.tags if not k.startswith("mlflow.")})
    return params, metrics, tags


def runs_frame(runs: tuple[RunSummary, ...], params: list[str], metrics: list[str], tags: list[str]) -> pd.DataFrame:
    """The runs table with the chosen param, metric and tag columns."""
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


def show_run_detail(detail: RunDetail) -> None:
    """One run's params, metrics, tags and artifacts, with its MLflow UI link."""
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

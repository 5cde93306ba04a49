"""Plotly figures of the Experiments page: metric histories, parallel coordinates, a metric scatter.

Pure functions of the console's records, no Streamlit, so they are tested and benchmarked on their own. Many
runs are drawn as few traces: all histories of one metric are one trace with gaps between runs, and a scatter
above ``WEBGL_THRESHOLD`` points uses WebGL.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import plotly.graph_objects as go

from console.domain.mlflow_models import MetricHistory, RunSummary

WEBGL_THRESHOLD = 500
MAX_NAMED_RUNS = 20  # above this, one trace per metric instead of one per run (a legend of 1,000 helps nobody)


def _label(run: RunSummary) -> str:
    return run.run_name or run.run_id[:8]


def metric_history_figure(
    runs: Sequence[RunSummary], histories: Mapping[tuple[str, str], MetricHistory], metric: str
) -> go.Figure:
    """One line per run of ``metric`` by step (a single WebGL trace with gaps when there are many runs)."""
    figure = go.Figure()
    if len(runs) <= MAX_NAMED_RUNS:
        for run in runs:
            points = histories.get((run.run_id, metric))
            if points is None or not points.points:
                continue
            figure.add_trace(go.Scatter(x=[p.step for p in points.points], y=[p.value for p in points.points],
                                        mode="lines", name=_label(run)))
    else:
        xs: list[float | None] = []
        ys: list[float | None] = []
        texts: list[str | None] = []
        for run in runs:
            points = histories.get((run.run_id, metric))
            if points is None or not points.points:
                continue
            label = _label(run)
            xs.extend(p.step for p in points.points)
            ys.extend(p.value for p in points.points)
            texts.extend(label for _ in points.points)
            xs.append(None)
            ys.append(None)
            texts.append(None)
        figure.add_trace(go.Scattergl(x=xs, y=ys, text=texts, mode="lines", name=metric, hovertemplate=
                                      "%{text}<br>step %{x}: %{y}<extra></extra>", line={"width": 1},
                                      opacity=0.6))
    figure.update_layout(title=f"{metric} by step", xaxis_title="step", yaxis_title=metric,
                         margin={"l": 40, "r": 10, "t": 40, "b": 40}, showlegend=len(runs) <= MAX_NAMED_RUNS)
    return figure


def _numeric(values: Sequence[str | float | None]) -> list[float] | None:
    try:
        return [float(v) if v is not None and v != "" else float("nan") for v in values]
    except (TypeError, ValueError):
        return None


def parallel_coordinates_figure(
    runs: Sequence[RunSummary], param_keys: Sequence[str], metric_keys: Sequence[str], *, color_metric: str | None = None
) -> go.Figure:
    """One axis per param and metric; text params get categorical axes (tick labels for their values)."""
    dimensions = []
    for key in param_keys:
        values = [run.params.get(key) for run in runs]
        numbers = _numeric(values)
        if numbers is not None:
            dimensions.append({"label": key, "values": numbers})
        else:
            categories = sorted({v or "" for v in values})
            index = {category: i for i, category in enumerate(categories)}
            dimensions.append({"label": key, "values": [index[v or ""] for v in values],
                               "tickvals": list(range(len(categories))), "ticktext": categories})
    for key in metric_keys:
        dimensions.append({"label": key, "values": [run.metrics.get(key, float("nan")) for run in runs]})
    line: dict[str, object] = {}
    if color_metric:
        line = {"color": [run.metrics.get(color_metric, float("nan")) for run in runs], "colorscale": "Viridis",
                "showscale": True, "colorbar": {"title": color_metric}}
    figure = go.Figure(go.Parcoords(dimensions=dimensions, line=line))
    figure.update_layout(title="Params and metrics", margin={"l": 60, "r": 60, "t": 60, "b": 30})
    return figure


def metric_scatter_figure(runs: Sequence[RunSummary], x_metric: str, y_metric: str) -> go.Figure:
    """Each run as a point of two metrics; WebGL above ``WEBGL_THRESHOLD`` points."""
    shown = [run for run in runs if x_metric in run.metrics and y_metric in run.metrics]
    trace = go.Scattergl if len(shown) > WEBGL_THRESHOLD else go.Scatter
    figure = go.Figure(trace(
        x=[run.metrics[x_metric] for run in shown], y=[run.metrics[y_metric] for run in shown], mode="markers",
        text=[_label(run) for run in shown], hovertemplate="%{text}<br>%{x}, %{y}<extra></extra>",
        marker={"size": 6, "opacity": 0.7},
    ))
    figure.update_layout(title=f"{y_metric} against {x_metric}", xaxis_title=x_metric, yaxis_title=y_metric,
                         margin={"l": 40, "r": 10, "t": 40, "b": 40})
    return figure


def compare_figures(
    runs: Sequence[RunSummary],
    histories: Mapping[tuple[str, str], MetricHistory],
    *,
    metric_keys: Sequence[str],
    param_keys: Sequence[str],
    scatter: tuple[str, str] | None,
) -> list[go.Figure]:
    """Every comparison figure: one history chart per metric, the parallel coordinates and the scatter."""
    figures = [metric_history_figure(runs, histories, metric) for metric in metric_keys]
    figures.append(parallel_coordinates_figure(runs, param_keys, metric_keys,
                                               color_metric=metric_keys[0] if metric_keys else None))
    if scatter is not None:
        figures.append(metric_scatter_figure(runs, *scatter))
    return figures

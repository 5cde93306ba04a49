"""Plotly figures of one SLO: SLI, burn rates and the error-budget burn-down, with markers at changes.

Pure functions of plain data: no Streamlit, no I/O, so a test can build every figure without a backend.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

import plotly.graph_objects as go

from console.domain.slo_alerts import AlertWindow
from console.domain.slo_windows import duration_text

Points = Sequence[tuple[datetime, float]]
_MARKER_COLOURS = {"revision": "#1f77b4", "action": "#ff7f0e"}


class Marker(Protocol):
    """A moment worth pointing at on a chart (``console.services.slo_markers.ChangeMarker``)."""

    @property
    def at(self) -> datetime: ...

    @property
    def kind(self) -> str: ...  # "revision" or "action"

    @property
    def title(self) -> str: ...

    @property
    def detail(self) -> str: ...


def _time(moment: datetime) -> str:
    """A moment as the chart receives it: ISO 8601 text, as Plotly's JSON encoder writes a datetime.

    Text rather than datetimes because Streamlit deep-copies the figure on every render, and copying a datetime
    goes through pickling's reduce protocol: three charts of 240 points cost ~4 ms more with datetimes.
    """
    return moment.isoformat()


def _line(points: Points, name: str, *, scale: float = 1.0, dash: str | None = None) -> dict[str, Any]:
    line: dict[str, Any] = {
        "type": "scatter",
        "x": [_time(moment) for moment, _ in points],
        "y": [value * scale for _, value in points],
        "mode": "lines",
        "name": name,
    }
    if dash:
        line["line"] = {"dash": dash}
    return line


def _threshold(y: float, colour: str, *, dash: str | None = None, label: str = "") -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A horizontal line across the chart at ``y`` with its label at the right end (as ``add_hline`` draws it)."""
    shape = {"type": "line", "xref": "x domain", "x0": 0, "x1": 1, "yref": "y", "y0": y, "y1": y,
             "line": {"color": colour, **({"dash": dash} if dash else {})}}
    labels = [{"text": label, "xref": "x domain", "x": 1, "yref": "y", "y": y, "showarrow": False,
               "xanchor": "right", "yanchor": "bottom"}] if label else []
    return shape, labels


def _figure(title: str, y_title: str, lines: list[dict[str, Any]],
            thresholds: Sequence[tuple[dict[str, Any], list[dict[str, Any]]]], markers: Sequence[Marker]) -> go.Figure:
    """One figure built in one go, with Plotly's property validation off.

    Validation walks every property and point again on every render (~3 ms a chart) to check layouts that never
    change; the tests build each figure again with validation on and compare what the browser receives. It is a
    Figure, not a dict, that goes to ``st.plotly_chart``: Streamlit would validate a dict again.
    """
    shapes = [shape for shape, _ in thresholds]
    annotations = [label for _, labels in thresholds for label in labels]
    data = list(lines)
    layout: dict[str, Any] = {
        "title": {"text": title},
        "yaxis": {"title": {"text": y_title}},
        "height": 320,
        "margin": {"l": 10, "r": 10, "t": 40, "b": 10},
        "hovermode": "x unified",
        "legend": {"orientation": "h", "y": -0.2},
    }
    # A dotted vertical line per marker, and one hoverable point per marker at the top of the chart.
    for kind in ("revision", "action"):
        chosen = [marker for marker in markers if marker.kind == kind]
        if not chosen:
            continue
        colour = _MARKER_COLOURS[kind]
        shapes += [{"type": "line", "xref": "x", "x0": _time(marker.at), "x1": _time(marker.at), "yref": "y domain",
                    "y0": 0, "y1": 1, "line": {"width": 1, "dash": "dot", "color": colour}} for marker in chosen]
        data.append({
            "type": "scatter",
            "x": [_time(marker.at) for marker in chosen],
            "y": [1.0] * len(chosen),
            "yaxis": "y2",
            "mode": "markers",
            "marker": {"symbol": "triangle-down" if kind == "revision" else "diamond", "size": 11, "color": colour},
            "name": "revisions" if kind == "revision" else "console actions",
            "text": [f"{marker.title}<br>{marker.detail}" for marker in chosen],
            "hovertemplate": "%{x|%Y-%m-%d %H:%M:%S} UTC<br>%{text}<extra></extra>",
        })
        layout["yaxis2"] = {"overlaying": "y", "range": [0, 1.05], "visible": False, "fixedrange": True}
    if shapes:
        layout["shapes"] = shapes
    if annotations:
        layout["annotations"] = annotations
    return go.Figure(data=data, layout=layout, _validate=False)


def sli_figure(sli: Points, *, target: float, markers: Sequence[Marker] = ()) -> go.Figure:
    """The good fraction over 5 minutes against the objective, in percent."""
    objective = _threshold(target * 100, "#d62728", dash="dash", label=f"objective {target * 100:g}%")
    return _figure("SLI", "good events, %", [_line(sli, "SLI (5m)", scale=100)], [objective], markers)


def burn_rate_figure(
    page_burn_rates: Sequence[tuple[AlertWindow, Points]], *, markers: Sequence[Marker] = ()
) -> go.Figure:
    """The burn rate over each page alert's long window, with the factor that alert pages above.

    Windows and factors are the SLO's own (``Objective.burn_rate_alerts``): 1h at 14.4x and 6h at 6x for a
    30-day window, 14m and 84m for a 7-day one.
    """
    thresholds = [
        _threshold(alert.factor, "#d62728", dash="dash", label=f"{alert.name} {alert.factor:.3g}x")
        for alert, _ in page_burn_rates
    ]
    thresholds.append(_threshold(1, "#7f7f7f", dash="dot", label="1x"))
    lines = [
        _line(points, f"burn rate {duration_text(alert.long_window)}", dash="dot" if index else None)
        for index, (alert, points) in enumerate(page_burn_rates)
    ]
    return _figure("Burn rate", "times the allowed rate", lines, thresholds, markers)


def burn_down_figure(remaining: Points, *, markers: Sequence[Marker] = ()) -> go.Figure:
    """Error budget remaining over the SLO window as it moved, in percent (below 0: overspent)."""
    zero = _threshold(0, "#d62728")
    return _figure("Error budget burn-down", "budget remaining, %",
                   [_line(remaining, "error budget remaining", scale=100)], [zero], markers)

"""Plotly figures of one SLO: SLI, burn rates and the error-budget burn-down, with markers at changes.

Pure functions of plain data: no Streamlit, no I/O, so a test can build every figure without a backend.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import plotly.graph_objects as go

from console.domain.slo import MULTIWINDOW_ALERTS, AlertState

Points = Sequence[tuple[datetime, float]]
_MARKER_COLOURS = {"revision": "#1f77b4", "action": "#ff7f0e"}


@dataclass(frozen=True)
class Marker:
    """A moment worth pointing at on a chart: a deployment revision or a console action."""

    at: datetime
    kind: str  # "revision" or "action"
    title: str  # short text, e.g. "revision 5 · v4" or "operator: rollback"
    detail: str = ""
    deployment_link: str = ""
    logs_link: str = ""


def _line(points: Points, name: str, *, scale: float = 1.0, dash: str | None = None) -> go.Scatter:
    return go.Scatter(
        x=[moment for moment, _ in points],
        y=[value * scale for _, value in points],
        mode="lines",
        name=name,
        line={"dash": dash} if dash else None,
    )


def _add_markers(figure: go.Figure, markers: Sequence[Marker]) -> None:
    """A dotted vertical line per marker, and one hoverable point per marker at the top of the chart."""
    for kind in ("revision", "action"):
        chosen = [marker for marker in markers if marker.kind == kind]
        if not chosen:
            continue
        for marker in chosen:
            figure.add_vline(x=marker.at, line_width=1, line_dash="dot", line_color=_MARKER_COLOURS[kind])
        figure.add_trace(
            go.Scatter(
                x=[marker.at for marker in chosen],
                y=[1.0] * len(chosen),
                yaxis="y2",
                mode="markers",
                marker={"symbol": "triangle-down" if kind == "revision" else "diamond", "size": 11,
                        "color": _MARKER_COLOURS[kind]},
                name="revisions" if kind == "revision" else "console actions",
                text=[f"{marker.title}<br>{marker.detail}" for marker in chosen],
                hovertemplate="%{x|%Y-%m-%d %H:%M:%S} UTC<br>%{text}<extra></extra>",
            )
        )
    figure.update_layout(yaxis2={"overlaying": "y", "range": [0, 1.05], "visible": False, "fixedrange": True})


def _layout(figure: go.Figure, title: str, y_title: str) -> go.Figure:
    figure.update_layout(
        title=title,
        yaxis_title=y_title,
        height=320,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        hovermode="x unified",
        legend={"orientation": "h", "y": -0.2},
    )
    return figure


def sli_figure(sli: Points, *, target: float, markers: Sequence[Marker] = ()) -> go.Figure:
    """The good fraction over 5 minutes against the objective, in percent."""
    figure = go.Figure([_line(sli, "SLI (5m)", scale=100)])
    figure.add_hline(y=target * 100, line_dash="dash", line_color="#d62728",
                     annotation_text=f"objective {target * 100:g}%")
    _add_markers(figure, markers)
    return _layout(figure, "SLI", "good events, %")


def burn_rate_figure(burn_1h: Points, burn_6h: Points, *, markers: Sequence[Marker] = ()) -> go.Figure:
    """Burn rates over 1h and 6h with the page thresholds of those windows (14.4x and 6x)."""
    figure = go.Figure([_line(burn_1h, "burn rate 1h"), _line(burn_6h, "burn rate 6h", dash="dot")])
    for alert in MULTIWINDOW_ALERTS:
        if alert.severity is AlertState.PAGE:
            figure.add_hline(y=alert.factor, line_dash="dash", line_color="#d62728",
                             annotation_text=f"page {alert.factor:g}x")
    figure.add_hline(y=1, line_dash="dot", line_color="#7f7f7f", annotation_text="1x")
    _add_markers(figure, markers)
    return _layout(figure, "Burn rate", "times the allowed rate")


def burn_down_figure(remaining: Points, *, markers: Sequence[Marker] = ()) -> go.Figure:
    """Error budget remaining over the SLO window as it moved, in percent (below 0: overspent)."""
    figure = go.Figure([_line(remaining, "error budget remaining", scale=100)])
    figure.add_hline(y=0, line_color="#d62728")
    _add_markers(figure, markers)
    return _layout(figure, "Error budget burn-down", "budget remaining, %")

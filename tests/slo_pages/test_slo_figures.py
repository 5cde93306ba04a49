"""The SLO charts as Plotly figures: lines, thresholds with their labels, and markers at changes."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import plotly.graph_objects as go
import plotly.io
import pytest

from console.domain.slo_alerts import burn_rate_alerts
from console.domain.slo_windows import RollingWindow
from console.services.slo_markers import ChangeMarker
from console.ui.slo_figures import burn_down_figure, burn_rate_figure, sli_figure

START = datetime(2026, 11, 1, tzinfo=UTC)
POINTS = [(START + timedelta(minutes=5 * i), 0.995) for i in range(12)]
# A 7-day SLO's page alerts: 14.4x over 14m and 6x over 84m.
PAGES = burn_rate_alerts(RollingWindow(timedelta(days=7)), at=START).pages
MARKERS = (
    ChangeMarker(START + timedelta(minutes=10), "revision", "revision 5 · v4", "image v4", "ml-serving", "iris"),
    ChangeMarker(START + timedelta(minutes=20), "action", "oscar: rollback", "bad model", "ml-serving", "iris"),
    ChangeMarker(START + timedelta(minutes=30), "revision", "revision 6 · v3", "", "ml-serving", "iris"),
)


def _horizontal(figure) -> dict[float, str]:  # type: ignore[no-untyped-def]
    """y of each line across the chart -> its label ('' when it has none)."""
    labels = {annotation.y: annotation.text for annotation in figure.layout.annotations}
    return {shape.y0: labels.get(shape.y0, "") for shape in figure.layout.shapes
            if shape.xref == "x domain" and shape.y0 == shape.y1}


def _vertical(figure) -> list[str]:  # type: ignore[no-untyped-def]
    return [shape.x0 for shape in figure.layout.shapes if shape.yref == "y domain"]


def _iso(moments) -> list[str]:  # type: ignore[no-untyped-def]
    return [moment.isoformat() for moment in moments]


def test_the_sli_is_in_percent_against_the_objective() -> None:
    figure = sli_figure(POINTS, target=0.99, markers=MARKERS)
    line = figure.data[0]
    assert line.name == "SLI (5m)" and list(line.y) == [99.5] * 12 and list(line.x) == _iso(t for t, _ in POINTS)
    assert _horizontal(figure) == {99.0: "objective 99%"}
    assert figure.layout.title.text == "SLI" and figure.layout.height == 320


def test_burn_rates_are_over_the_slos_own_page_windows_against_their_factors() -> None:
    figure = burn_rate_figure([(PAGES[0], POINTS), (PAGES[1], POINTS[:6])])
    assert [trace.name for trace in figure.data] == ["burn rate 14m", "burn rate 1h24m"]
    assert figure.data[1].line.dash == "dot"
    assert _horizontal(figure) == {14.4: "page quick 14.4x", 6: "page slow 6x", 1: "1x"}


def test_markers_are_dotted_lines_and_hoverable_points_by_kind() -> None:
    figure = burn_down_figure(POINTS, markers=MARKERS)
    assert _horizontal(figure) == {0: ""}
    assert sorted(_vertical(figure)) == sorted(_iso(marker.at for marker in MARKERS))
    by_name = {trace.name: trace for trace in figure.data}
    assert list(by_name["revisions"].x) == _iso([MARKERS[0].at, MARKERS[2].at])
    assert list(by_name["console actions"].text) == ["oscar: rollback<br>bad model"]
    assert by_name["revisions"].yaxis == "y2" and figure.layout.yaxis2.overlaying == "y"


def test_no_markers_no_marker_axis() -> None:
    figure = burn_down_figure(POINTS)
    assert len(figure.data) == 1 and _vertical(figure) == []
    assert "yaxis2" not in figure.to_dict()["layout"]


@pytest.mark.parametrize("build", [
    lambda: sli_figure(POINTS, target=0.99, markers=MARKERS),
    lambda: burn_rate_figure([(PAGES[0], POINTS), (PAGES[1], POINTS[:6])], markers=MARKERS),
    lambda: burn_down_figure(POINTS, markers=MARKERS),
    lambda: burn_down_figure(POINTS),
], ids=["sli", "burn rate", "burn-down", "no markers"])
def test_figures_pass_plotlys_validation_unchanged(build) -> None:  # type: ignore[no-untyped-def]
    """The figures are built without validation; with it, Plotly accepts them and the browser gets the same."""
    figure = build()
    validated = go.Figure(figure.to_dict())  # raises on any property Plotly does not know
    assert json.loads(plotly.io.to_json(validated)) == json.loads(plotly.io.to_json(figure))
    assert json.loads(plotly.io.to_json(figure))["data"][0]["x"][0] == POINTS[0][0].isoformat()

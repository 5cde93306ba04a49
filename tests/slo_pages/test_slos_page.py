"""The SLOs page in AppTest for every role, against a real Prometheus with 30 days of demo history."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from console.adapters.audit_store import AuditStore
from console.domain.audit import AuditEntry, Outcome
from console.sandbox.kube import KubeApiServer, seed_demo_world
from console.sandbox.monitoring import SLO_DIRECTORY
from console.sandbox.prometheus import PrometheusHandle
from tests.helpers import demo_environment, signed_in_app


NAMESPACES = "ml-serving,ml-staging"
TIMEOUT_SECONDS = 2


@pytest.fixture(scope="module")
def kube(tmp_path_factory: pytest.TempPathFactory, prepared_at: datetime) -> Iterator[tuple[KubeApiServer, Path]]:
    directory = tmp_path_factory.mktemp("kube")
    with KubeApiServer() as server:
        seed_demo_world(server, now=prepared_at)
        yield server, server.write_kubeconfig(directory / "kubeconfig")


def _environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, kubeconfig: Path, prometheus_url: str) -> None:
    values = demo_environment(tmp_path, KUBECONFIG=str(kubeconfig), CONSOLE_NAMESPACES=NAMESPACES,
                              PROMETHEUS_URL=prometheus_url, CONSOLE_SLO_DIR=str(SLO_DIRECTORY),
                              CONSOLE_REQUEST_TIMEOUT_SECONDS=str(TIMEOUT_SECONDS))
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    st.cache_resource.clear()
    st.cache_data.clear()


@pytest.fixture()
def env(kube, prometheus: PrometheusHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:  # type: ignore[no-untyped-def]
    _environment(monkeypatch, tmp_path, kube[1], prometheus.url)
    yield
    st.cache_resource.clear()
    st.cache_data.clear()


def signed_in(username: str) -> AppTest:
    app = signed_in_app(username, timeout_seconds=30)
    assert not app.exception
    return app


def slos_page(username: str, **query: str) -> AppTest:
    app = signed_in(username)
    for key, value in query.items():
        app.query_params[key] = value
    app.switch_page("pages/slos.py").run()
    assert not app.exception, app.exception
    return app


@pytest.mark.parametrize("username", ["viewer", "operator", "admin"])
def test_overview_has_one_row_per_slo_most_urgent_first(env: None, username: str) -> None:
    app = slos_page(username)
    frame = app.dataframe[0].value
    assert sorted(frame["SLO"]) == sorted(f"?slo={name}" for name in (
        "diabetes-regressor-availability", "diabetes-regressor-latency", "iris-classifier-availability",
        "iris-classifier-latency", "wine-quality-availability", "wine-quality-latency"))
    assert {"SLI now %", "attainment %", "budget left %", "budget left min", "burn page quick", "burn page slow",
            "burn ticket quick", "burn ticket slow", "alert windows", "alert", "exhausted in"} <= set(frame.columns)
    # Each SLO's burn rates are over its own alert windows: a 28-day and a 30-day SLO differ.
    windows = dict(zip(frame["SLO"], frame["alert windows"], strict=True))
    assert windows["?slo=iris-classifier-availability"] == "56m · 5h36m · 22h24m · 2d19h12m"
    assert windows["?slo=wine-quality-availability"] == "1h · 6h · 1d · 3d"
    assert windows["?slo=diabetes-regressor-availability"] == "1h · 6h · 1d · 3d"  # a calendar month
    # The crash-looping wine-quality revision pages, and paging SLOs come first.
    alerts = dict(zip(frame["SLO"], frame["alert"], strict=True))
    assert "page" in alerts["?slo=wine-quality-availability"] and "page" in frame["alert"].iloc[0]
    assert "ok" in alerts["?slo=iris-classifier-availability"] and "ok" in alerts["?slo=iris-classifier-latency"]
    assert not app.error


def test_detail_opens_from_the_query_parameter_with_charts_and_markers(env: None) -> None:
    app = slos_page("operator", slo="wine-quality-availability")
    assert [h.value for h in app.subheader] == ["Wine quality availability"]
    assert len(app.get("plotly_chart")) == 3
    markers = app.dataframe[0].value
    revisions = markers[markers["kind"] == "revision"]
    assert len(revisions) >= 1  # the broken revision of two hours ago, in the default 24-hour range
    assert revisions["deployment"].iloc[0] == "/deployments?namespace=ml-serving&deployment=wine-quality"
    assert revisions["logs"].iloc[0].startswith("/logs?namespace=ml-serving&deployment=wine-quality&since=")
    assert not app.error


def test_sla_report_judges_the_month_and_offers_a_csv(env: None) -> None:
    app = slos_page("viewer")
    app.segmented_control(key="slo_view").set_value("SLA report").run()
    assert not app.exception
    frame = app.dataframe[0].value
    assert set(frame["SLO"]) == {"iris-classifier-availability", "wine-quality-availability"}
    assert "breached" not in frame.columns and list(frame.columns)[3] == "status"
    for status, left, attainment, target in zip(frame["status"], frame["left min"], frame["attainment %"],
                                                frame["SLA target %"], strict=True):
        state = status.split(" · ")[0]
        assert state in {"met", "on track", "at risk", "breached", "no data"}, status
        if state in {"on track", "at risk"}:
            # A running month that can still meet its SLA says how much downtime it may still lose.
            assert status == f"{state} · {left:,.1f} min left this month"
            assert (state == "at risk") == (attainment < target)
    assert app.get("download_button")


def _record(store: AuditStore, outcome: Outcome, action: str, at: datetime) -> None:
    store.append(AuditEntry(at=at, username="oscar", role="operator", action=action,
                            target="ml-serving/wine-quality", outcome=outcome, reason=f"{action} attempt"))


@pytest.mark.parametrize("username", ["operator", "viewer"])
def test_only_actions_that_changed_something_are_drawn_on_the_charts(env: None, tmp_path: Path, username: str) -> None:
    """A refused or failed attempt changed nothing: it stays in the audit log and off the SLO's charts."""
    store = AuditStore(f"sqlite:///{tmp_path / 'audit.db'}")
    now = datetime.now(UTC)
    _record(store, Outcome.DENIED, "rollback", now - timedelta(hours=3))
    _record(store, Outcome.FAILED, "restart", now - timedelta(hours=2))
    _record(store, Outcome.SUCCEEDED, "scale", now - timedelta(hours=1))
    store.dispose()
    app = slos_page(username, slo="wine-quality-availability")
    markers = app.dataframe[0].value
    actions = markers[markers["kind"] == "action"]
    if username == "viewer":
        # The audit log is not a viewer's to read; the revisions still show what changed.
        assert actions.empty and (markers["kind"] == "revision").any()
        assert "Console actions are marked for operators and admins." in [caption.value for caption in app.caption]
    else:
        assert list(actions["what"]) == ["oscar: scale"]
    charts = app.get("plotly_chart")
    assert len(charts) == 3
    assert not app.error


@pytest.fixture()
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never answers: a Prometheus that hangs."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join(timeout=2)
    for connection in held:
        connection.close()
    server.close()


@pytest.mark.parametrize("down", ["refused", "hangs"])
def test_prometheus_down_is_said_within_the_timeout_and_other_pages_work(
    kube, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, silent_port: int, down: str  # type: ignore[no-untyped-def]
) -> None:
    if down == "refused":
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
    else:
        port = silent_port
    _environment(monkeypatch, tmp_path, kube[1], f"http://127.0.0.1:{port}")
    app = signed_in("operator")
    assert set(app.dataframe[0].value["name"]) == {"iris-classifier", "wine-quality", "diabetes-regressor"}
    started = time.monotonic()
    app.switch_page("pages/slos.py").run()
    assert time.monotonic() - started < TIMEOUT_SECONDS + 5
    assert not app.exception
    assert any("Prometheus" in error.value for error in app.error), [e.value for e in app.error]
    app.switch_page("pages/deployments.py").run()
    assert not app.exception and set(app.dataframe[0].value["name"]) >= {"iris-classifier"}

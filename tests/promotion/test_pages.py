"""The Experiments and Models pages in AppTest for each role, over a copy of the seeded store and the sandbox."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from console.sandbox.kube import KubeApiServer
from tests.helpers import demo_environment, signed_in_app
from tests.promotion.conftest import NAMESPACES


def _environment(monkeypatch: pytest.MonkeyPatch, values: dict[str, str]) -> Iterator[dict[str, str]]:
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    st.cache_resource.clear()
    st.cache_data.clear()
    yield values
    st.cache_resource.clear()
    st.cache_data.clear()


@pytest.fixture()
def env(kube: KubeApiServer, store_copy: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    yield from _environment(monkeypatch, demo_environment(
        tmp_path, KUBECONFIG=str(tmp_path / "kubeconfig"), CONSOLE_NAMESPACES=",".join(NAMESPACES),
        CONSOLE_REQUEST_TIMEOUT_SECONDS="5", MLFLOW_TRACKING_URI=store_copy, MLFLOW_UI_URL="http://mlflow.example"))


def page(username: str, path: str) -> AppTest:
    app = signed_in_app(username)
    app.switch_page(path).run()
    assert not app.exception, app.exception
    return app


@pytest.mark.parametrize("role", ["viewer", "operator", "admin"])
def test_models_page_for_each_role(env: dict[str, str], role: str) -> None:
    app = page(role, "pages/models.py")
    labels = {button.label for button in app.button}
    if role == "viewer":
        assert "Promote" not in labels and "Roll back model" not in labels
    else:
        assert {"Promote", "Roll back model"} <= labels
    versions = app.dataframe[1].value
    assert list(versions["version"]) == [4, 3, 2, 1]  # diabetes-regressor, the first model by name
    assert "r2" in versions.columns
    history = app.dataframe[2].value
    assert {"champion", "challenger"} <= set(history["alias"])
    assert any("held 'champion'" in element.value for element in app.success)


def test_experiments_page_runs_detail_and_invalid_filter(env: dict[str, str]) -> None:
    app = page("viewer", "pages/experiments.py")
    runs = app.dataframe[0].value
    assert len(runs) == 8 and "metrics.r2" in runs.columns
    app.text_input(key="exp_filter").input("metrics.r2 >> 0.5").run()
    assert not app.exception
    assert any("not valid MLflow search syntax" in element.value for element in app.error)
    app.text_input(key="exp_filter").input("metrics.r2 > 0.0 and params.model != 'none'").run()
    assert not app.exception and not app.error


def test_pages_say_when_mlflow_is_down(kube: KubeApiServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    values = demo_environment(tmp_path, KUBECONFIG=str(tmp_path / "kubeconfig"),
                              CONSOLE_NAMESPACES=",".join(NAMESPACES), CONSOLE_REQUEST_TIMEOUT_SECONDS="2",
                              MLFLOW_TRACKING_URI=f"http://127.0.0.1:{port}")
    for _ in _environment(monkeypatch, values):
        for path in ("pages/experiments.py", "pages/models.py"):
            app = page("operator", path)
            assert any("cannot be reached" in element.value for element in app.error), path

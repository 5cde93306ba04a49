"""The Experiments and Models pages in AppTest for each role, over a copy of the seeded store and the sandbox."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from console.sandbox.kube import KubeApiServer
from tests.helpers import signed_in_app
from tests.promotion.conftest import NAMESPACES


@pytest.fixture()
def env(kube: KubeApiServer, store_copy: str, tmp_path: Path, console_env) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return console_env(KUBECONFIG=str(tmp_path / "kubeconfig"), CONSOLE_NAMESPACES=",".join(NAMESPACES),
                       CONSOLE_REQUEST_TIMEOUT_SECONDS="5", MLFLOW_TRACKING_URI=store_copy,
                       MLFLOW_UI_URL="http://mlflow.example")


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


def test_pages_say_when_mlflow_is_down(kube: KubeApiServer, tmp_path: Path, console_env) -> None:  # type: ignore[no-untyped-def]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    console_env(KUBECONFIG=str(tmp_path / "kubeconfig"), CONSOLE_NAMESPACES=",".join(NAMESPACES),
                CONSOLE_REQUEST_TIMEOUT_SECONDS="2", MLFLOW_TRACKING_URI=f"http://127.0.0.1:{port}")
    for path in ("pages/experiments.py", "pages/models.py"):
        app = page("operator", path)
        assert any("cannot be reached" in element.value for element in app.error), path

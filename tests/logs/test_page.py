"""The Logs page in Streamlit's AppTest, signed in as the viewer, against the sandbox API server."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from console.sandbox.kube import KubeApiServer
from tests.helpers import REPOSITORY_ROOT, signed_in_app

from .conftest import NAMESPACES, write_unreachable_kubeconfig

APP = str(REPOSITORY_ROOT / "app.py")


def _settings(kubeconfig: Path) -> dict[str, str]:
    return {"KUBECONFIG": str(kubeconfig), "CONSOLE_NAMESPACES": ",".join(NAMESPACES),
            "CONSOLE_REQUEST_TIMEOUT_SECONDS": "2"}


@pytest.fixture()
def sandbox_env(kube: KubeApiServer, kubeconfig: Path, console_env) -> None:  # type: ignore[no-untyped-def]
    console_env(**_settings(kubeconfig))


def logs_page(query: dict[str, str] | None = None) -> AppTest:
    app = signed_in_app("viewer")
    for name, value in (query or {}).items():
        app.query_params[name] = value
    app.switch_page("pages/logs.py").run()
    assert not app.exception, app.exception
    return app


def messages(app: AppTest) -> str:
    return " ".join(element.value for kind in (app.error, app.warning, app.info) for element in kind)


def test_renders_merged_logs_of_a_deployment_then_one_pod(sandbox_env: None) -> None:
    app = logs_page()
    assert [element.value for element in app.header] == ["Logs"]
    assert app.selectbox(key="logs_namespace").value == "ml-serving"
    assert app.selectbox(key="logs_pod").value == "All pods (merged)"
    deployment = app.selectbox(key="logs_deployment").value
    lines = app.code[0].value.splitlines()
    assert 0 < len(lines) <= 500
    assert all(line.startswith(f"[{deployment}-") for line in lines)
    download = app.get("download_button")[0]
    assert download.proto.label == "Download"

    pod = app.selectbox(key="logs_pod").options[1]
    app.selectbox(key="logs_pod").set_value(pod).run()
    app.toggle(key="logs_timestamps").set_value(False).run()
    app.number_input(key="logs_tail").set_value(5).run()
    assert not app.exception
    lines = app.code[0].value.splitlines()
    assert len(lines) == 5 and not any(line.startswith(("[", "20")) for line in lines)
    assert "5 lines" in app.caption[0].value


def test_invalid_regex_shows_a_clear_message(sandbox_env: None) -> None:
    app = logs_page()
    app.checkbox(key="logs_regex").check()
    app.text_input(key="logs_filter").input("status=(5").run()
    assert not app.exception
    assert "is not a valid regular expression: missing ), unterminated subpattern" in messages(app)
    assert not app.code  # no lines of an earlier choice under the new one
    app.text_input(key="logs_filter").input("status.: 200").run()
    assert "not a valid regular expression" not in messages(app)
    assert "match the filter" in app.caption[0].value


def test_previous_of_the_crash_looping_deployment_names_the_pods_without_one(sandbox_env: None) -> None:
    app = logs_page({"namespace": "ml-serving", "deployment": "wine-quality", "since": "24h"})
    assert app.selectbox(key="logs_deployment").value == "wine-quality"
    assert app.selectbox(key="logs_since").value == "24h"
    app.toggle(key="logs_previous").set_value(True).run()
    assert not app.exception
    assert "ModelSignatureError" in app.code[0].value
    assert "did not answer" in messages(app) and "has no previous container" in messages(app)


def test_namespace_outside_the_allow_list_in_the_link(sandbox_env: None) -> None:
    app = logs_page({"namespace": "kube-system"})
    assert "Namespace 'kube-system' is not managed by this console" in messages(app)
    assert app.selectbox(key="logs_namespace").value == "ml-serving"


def test_api_refusing_logs_shows_a_message(sandbox_env: None, kube: KubeApiServer) -> None:
    kube.policy.deny(verb="get", resource="pods/log", namespace="ml-serving")
    app = logs_page()
    assert "may not get pods/log in namespace ml-serving" in messages(app)
    assert "Traceback" not in messages(app)


def test_api_unreachable_shows_a_message(tmp_path: Path, console_env) -> None:  # type: ignore[no-untyped-def]
    console_env(**_settings(write_unreachable_kubeconfig(tmp_path / "kubeconfig")))
    app = logs_page()
    assert "Backend unavailable" in messages(app) and "is not reachable" in messages(app)
    assert [element.value for element in app.header] == ["Logs"]


def test_kubernetes_not_configured(console_env) -> None:  # type: ignore[no-untyped-def]
    console_env()
    app = logs_page()
    assert "Kubernetes is not connected: set KUBECONFIG or CONSOLE_KUBE_IN_CLUSTER=true" in messages(app)


def test_follow_appends_newer_lines_and_pause_stops_it(sandbox_env: None) -> None:
    app = logs_page()
    pod = app.selectbox(key="logs_pod").options[1]
    app.selectbox(key="logs_pod").set_value(pod).run()
    app.number_input(key="logs_tail").set_value(20).run()
    app.toggle(key="logs_follow").set_value(True).run()
    assert "following every 2 s" in app.caption[0].value
    app.run()  # the refresh path: reads only lines newer than the last one shown
    assert not app.exception and not app.error
    lines = app.code[0].value.splitlines()
    assert 0 < len(lines) <= 20 and len(set(lines)) == len(lines)
    app.toggle(key="logs_paused").set_value(True).run()
    assert "following" not in app.caption[0].value
    assert app.code[0].value.splitlines() == lines

"""The sandbox runner behind `make demo`: builds .sandbox/ completely or not at all, reuses it, stops what it started."""

from __future__ import annotations

import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from console.config import load_settings
from console.sandbox.processes import pid_alive
from console.sandbox.world import LAYOUT_VERSION, Sandbox
from tests.helpers import REPOSITORY_ROOT, free_port


def read_env_file(path: Path) -> dict[str, str]:
    result = subprocess.run(["bash", "-c", f"set -a; source {path}; env -0"], capture_output=True, check=True)
    pairs = (item.split("=", 1) for item in result.stdout.decode().split("\0") if "=" in item)
    return {key: value for key, value in pairs if key.startswith(("CONSOLE_", "KUBECONFIG", "MLFLOW_", "PROMETHEUS_"))}


@pytest.fixture(scope="module")
def prepared_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("sandbox") / ".sandbox"
    # What an interrupted first start leaves: a root without its ready marker.
    root.mkdir()
    (root / "junk").write_text("half-initialised")
    assert Sandbox(root=root).prepare() is True
    return root


def test_an_incomplete_root_is_rebuilt_and_a_complete_one_reused(prepared_root: Path) -> None:
    assert not (prepared_root / "junk").exists()
    assert (prepared_root / "ready").read_text().strip() == LAYOUT_VERSION
    key = (prepared_root / "cookie-key").read_text()
    assert Sandbox(root=prepared_root).prepare() is False
    assert (prepared_root / "cookie-key").read_text() == key
    assert (prepared_root / "mlflow" / "mlflow.db").exists()


def test_start_writes_an_env_file_with_valid_settings(prepared_root: Path) -> None:
    sandbox = Sandbox(root=prepared_root)
    sandbox.start()
    try:
        settings = load_settings(read_env_file(sandbox.paths.env_file))
        assert settings.environment == "demo" and settings.namespaces == ("ml-serving", "ml-staging")
        assert settings.kubeconfig == sandbox.paths.kubeconfig
        assert settings.mlflow_tracking_uri and settings.mlflow_tracking_uri.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(f"{settings.mlflow_tracking_uri}/health", timeout=5) as response:
            assert response.status == 200
        assert settings.prometheus_url and settings.slo_directory and settings.slo_directory.is_dir()
        with urllib.request.urlopen(f"{settings.prometheus_url}/-/ready", timeout=5) as response:
            assert response.status == 200
    finally:
        sandbox.stop()
    assert not sandbox.paths.pids.exists()


def test_demo_serves_the_console_twice_in_a_row_and_stops_by_pid(prepared_root: Path) -> None:
    kubectl = [str(Path(sys.executable).with_name("kubectl")), "--kubeconfig", str(prepared_root / "kubeconfig"),
               "-n", "ml-staging"]
    for run in range(2):
        port = free_port()
        demo = subprocess.Popen(
            [sys.executable, "-m", "console.sandbox", "demo", "--port", str(port), "--root", str(prepared_root)],
            cwd=REPOSITORY_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        output = []
        assert demo.stdout is not None
        for line in demo.stdout:
            output.append(line)
            if "Ctrl-C stops everything" in line:
                break
        text = "".join(output)
        assert f"console:  http://127.0.0.1:{port}" in text, text
        assert "viewer / viewer-demo, operator / operator-demo, admin / admin-demo" in text
        assert "reusing" in text
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=5) as response:
            assert response.read() == b"ok"
        children = [int(line.split()[0]) for line in (prepared_root / "pids").read_text().splitlines()]
        assert len(children) == 3 and all(pid_alive(pid) for pid in children)  # mlflow, prometheus, console
        replicas = subprocess.run([*kubectl, "get", "deployment/diabetes-regressor", "-o", "jsonpath={.spec.replicas}"],
                                  capture_output=True, text=True, check=True).stdout
        if run == 0:
            subprocess.run([*kubectl, "scale", "deployment/diabetes-regressor", "--replicas=2"], check=True,
                           capture_output=True)
        else:
            assert replicas == "2", "the cluster's state did not survive the restart"
        demo.send_signal(signal.SIGINT)
        assert demo.wait(timeout=30) == 0
        assert not any(pid_alive(pid) for pid in children)
        assert not (prepared_root / "pids").exists()

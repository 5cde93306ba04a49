"""The sandbox runner behind `make demo`: builds .sandbox/ atomically, reuses it, stops what it started."""

from __future__ import annotations

import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

from console.config import load_settings
from console.sandbox.world import Sandbox, _pid_alive
from tests.helpers import REPOSITORY_ROOT, free_port


def read_env_file(path: Path) -> dict[str, str]:
    result = subprocess.run(["bash", "-c", f"set -a; source {path}; env -0"], capture_output=True, check=True)
    pairs = (item.split("=", 1) for item in result.stdout.decode().split("\0") if "=" in item)
    return {key: value for key, value in pairs if key.startswith(("CONSOLE_", "KUBECONFIG", "MLFLOW_", "PROMETHEUS_"))}


def test_prepare_is_atomic_and_reused(tmp_path: Path) -> None:
    root = tmp_path / ".sandbox"
    # Leftovers of an interrupted first start: a staging dir and a root without its ready marker.
    (tmp_path / ".sandbox.new").mkdir()
    root.mkdir()
    (root / "junk").write_text("half-initialised")
    sandbox = Sandbox(root=root)
    assert sandbox.prepare() is True
    assert not (root / "junk").exists() and not (tmp_path / ".sandbox.new").exists()
    key = (root / "cookie-key").read_text()
    assert sandbox.prepare() is False and (root / "cookie-key").read_text() == key
    assert sandbox.prepare(reset=True) is True and (root / "cookie-key").read_text() != key


def test_env_file_gives_valid_settings(tmp_path: Path) -> None:
    sandbox = Sandbox(root=tmp_path / ".sandbox")
    sandbox.start()
    try:
        settings = load_settings(read_env_file(sandbox.paths.env_file))
        assert settings.environment == "demo" and settings.namespaces == ("ml-serving", "ml-staging")
        assert settings.kubeconfig == sandbox.paths.kubeconfig
    finally:
        sandbox.stop()


def test_demo_serves_the_console_twice_in_a_row_and_stops_by_pid(tmp_path: Path) -> None:
    root = tmp_path / ".sandbox"
    for _ in range(2):
        port = free_port()
        demo = subprocess.Popen(
            [sys.executable, "-m", "console.sandbox", "demo", "--port", str(port), "--root", str(root)],
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
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=5) as response:
            assert response.read() == b"ok"
        children = [int(line.split()[0]) for line in (root / "pids").read_text().splitlines()]
        assert children and all(_pid_alive(pid) for pid in children)
        demo.send_signal(signal.SIGINT)
        assert demo.wait(timeout=30) == 0
        assert not any(_pid_alive(pid) for pid in children)
        assert not (root / "pids").exists()

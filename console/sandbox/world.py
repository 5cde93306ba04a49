"""The sandbox: the local world the demo and the tests run against, kept in ``.sandbox/``.

``prepare()`` builds what persists between starts (demo logins, cookie key, audit database, seeded stores) in a
temporary directory and renames it into place only when complete, so an interrupted first start never leaves a
half-initialised ``.sandbox/``; a later start reuses a complete one. ``start()`` brings up the services, writes
``.sandbox/env`` and records every child process's PID; ``stop()`` ends them by PID.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from console.sandbox.catalog import DEMO_NAMESPACES
from console.sandbox.processes import free_port, stop_pids, wait_for_http
from console.sandbox.users import write_demo_credentials

# Bump when the layout of .sandbox/ changes, so an old one is rebuilt rather than misread.
LAYOUT_VERSION = "4"
REPOSITORY_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class SandboxPaths:
    root: Path

    @property
    def env_file(self) -> Path:
        return self.root / "env"

    @property
    def users(self) -> Path:
        return self.root / "users.yaml"

    @property
    def cookie_key(self) -> Path:
        return self.root / "cookie-key"

    @property
    def audit_database(self) -> Path:
        return self.root / "audit.db"

    @property
    def kubeconfig(self) -> Path:
        return self.root / "kubeconfig"

    @property
    def mlflow_dir(self) -> Path:
        return self.root / "mlflow"

    @property
    def mlflow_artifacts(self) -> Path:
        return self.mlflow_dir / "artifacts"

    @property
    def mlflow_store_uri(self) -> str:
        return f"sqlite:///{self.mlflow_dir / 'mlflow.db'}"

    @property
    def prepared_at(self) -> Path:
        return self.root / "prepared-at"

    @property
    def kube_state(self) -> Path:
        return self.root / "kube-state.json"

    @property
    def pids(self) -> Path:
        return self.root / "pids"

    @property
    def ready(self) -> Path:
        return self.root / "ready"


@dataclass
class Sandbox:
    """The local world: persistent state in ``root``, services while started."""

    root: Path = field(default_factory=lambda: REPOSITORY_ROOT / ".sandbox")
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    environ: dict[str, str] = field(default_factory=dict)
    _processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    _stoppers: list[Callable[[], None]] = field(default_factory=list)
    kube_server: Any = None

    @property
    def paths(self) -> SandboxPaths:
        return SandboxPaths(self.root)

    # --- persistent state -------------------------------------------------------------------------------

    def prepared_at(self) -> datetime:
        """When ``prepare`` laid out the world's history."""
        return datetime.fromisoformat(self.paths.prepared_at.read_text(encoding="utf-8").strip())

    def is_prepared(self) -> bool:
        ready = self.paths.ready
        return ready.exists() and ready.read_text().strip() == LAYOUT_VERSION

    def prepare(self, *, reset: bool = False) -> bool:
        """Build ``root`` if missing, incomplete, of an old layout or ``reset``; return True when built.

        The ``ready`` marker is written last, so a start that was interrupted half-way leaves a root without
        it, which the next start wipes and builds again. (Building in place, not in a staging directory that
        is renamed, because MLflow records absolute artifact paths.)
        """
        if self.is_prepared() and not reset:
            return False
        if self.root.exists():
            stop_pids(self.paths.pids)
            shutil.rmtree(self.root)
        shutil.rmtree(self.root.with_name(self.root.name + ".new"), ignore_errors=True)  # older layouts
        self.root.mkdir(parents=True)
        paths = self.paths
        # One time for the whole world: MLflow's history, the deployments' revisions and Prometheus's incidents
        # line up with each other because they are all laid out from it.
        prepared_at = self.now()
        paths.prepared_at.write_text(prepared_at.isoformat() + "\n", encoding="utf-8")
        write_demo_credentials(paths.users)
        paths.cookie_key.write_text(secrets.token_urlsafe(48) + "\n", encoding="utf-8")
        paths.cookie_key.chmod(0o600)
        self._prepare_mlflow(prepared_at)
        self._prepare_monitoring(prepared_at)
        paths.ready.write_text(LAYOUT_VERSION + "\n", encoding="utf-8")
        return True

    def _prepare_mlflow(self, prepared_at: datetime) -> None:
        from console.sandbox.mlflow_seed import seed_mlflow

        self.paths.mlflow_dir.mkdir()
        seed_mlflow(self.paths.mlflow_store_uri, now=prepared_at, artifact_root=self.paths.mlflow_artifacts)

    def _prepare_monitoring(self, prepared_at: datetime) -> None:
        from console.sandbox.monitoring import prepare_monitoring

        prepare_monitoring(self.root, now=prepared_at)

    # --- services ---------------------------------------------------------------------------------------

    def settings_environment(self) -> dict[str, str]:
        """The CONSOLE_* settings and backend addresses, as ``.sandbox/env`` exports them."""
        paths = self.paths
        env = {
            "CONSOLE_ENV": "demo",
            "CONSOLE_AUTH_FILE": str(paths.users),
            "CONSOLE_COOKIE_KEY_FILE": str(paths.cookie_key),
            "CONSOLE_AUDIT_DATABASE_URL": f"sqlite:///{paths.audit_database}",
            "CONSOLE_NAMESPACES": ",".join(DEMO_NAMESPACES),
        }
        env.update(self.environ)
        return env

    def write_env_file(self) -> None:
        lines = [f"export {name}={_shell_quote(value)}" for name, value in sorted(self.settings_environment().items())]
        temporary = self.paths.env_file.with_suffix(".tmp")
        temporary.write_text("\n".join(lines) + "\n", encoding="utf-8")
        temporary.replace(self.paths.env_file)

    def start(self, *, kube_port: int = 0) -> None:
        """Start the sandbox's services and write ``.sandbox/env``."""
        self.prepare()
        stop_pids(self.paths.pids)  # a previous run that was killed without cleaning up
        self._start_kubernetes(kube_port)
        self._start_mlflow()
        self._start_monitoring()
        self.write_env_file()

    def _start_kubernetes(self, port: int) -> None:
        # The cluster goes on where the last run stopped (its objects are saved on stop and every half minute),
        # so what an operator changed, and what the model registry says about it, survive a restart.
        from console.sandbox.kube import KubeApiServer, seed_demo_world

        server = KubeApiServer(host="127.0.0.1", port=port).start()
        self.on_stop(server.stop)
        state = self.paths.kube_state
        if state.exists():
            server.load_state(state)
        else:
            seed_demo_world(server, now=self.prepared_at())
        saver = _Periodic(30.0, lambda: server.save_state(state))
        self.on_stop(lambda: (saver.stop(), server.save_state(state)))
        server.write_kubeconfig(self.paths.kubeconfig)
        self.kube_server = server
        self.environ["KUBECONFIG"] = str(self.paths.kubeconfig)

    def _start_mlflow(self) -> None:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        command = [
            sys.executable, "-m", "mlflow", "server",
            "--backend-store-uri", self.paths.mlflow_store_uri,
            "--default-artifact-root", str(self.paths.mlflow_artifacts),
            "--host", "127.0.0.1", "--port", str(port),
            "--workers", "1",  # more workers add about 40 ms to every request
        ]
        process = self.spawn(command, log_name="mlflow")
        if not wait_for_http(f"{url}/health", timeout_seconds=60, process=process):
            raise RuntimeError(f"the MLflow server did not start; see {self.root / 'mlflow.log'}")
        self.environ["MLFLOW_TRACKING_URI"] = url
        self.environ["MLFLOW_UI_URL"] = url

    def _start_monitoring(self) -> None:
        from console.sandbox.monitoring import SLO_DIRECTORY, start_monitoring

        url, stop_exporter = start_monitoring(self.root, kube_server=self.kube_server, spawn=self.spawn)
        self.on_stop(stop_exporter)
        self.environ["PROMETHEUS_URL"] = url
        self.environ["CONSOLE_SLO_DIR"] = str(SLO_DIRECTORY)

    def spawn(self, command: list[str], *, log_name: str, extra_env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        """Start a child process in its own process group, log to ``.sandbox/<log_name>.log``, record its PID."""
        env = {**os.environ, **self.settings_environment(), **(extra_env or {})}
        log = open(self.root / f"{log_name}.log", "ab")  # noqa: SIM115 - the child owns it
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        with self.paths.pids.open("a", encoding="utf-8") as pid_file:
            pid_file.write(f"{process.pid} {log_name}\n")
        self._processes.append(process)
        return process

    def on_stop(self, stopper: Callable[[], None]) -> None:
        self._stoppers.append(stopper)

    def stop(self) -> None:
        """Stop every service this sandbox started: child processes by PID, in-process servers directly."""
        stop_pids(self.paths.pids)
        for process in self._processes:
            process.wait(timeout=10)
        self._processes.clear()
        while self._stoppers:
            self._stoppers.pop()()


def start_console(sandbox: Sandbox, *, port: int = 8501, address: str = "127.0.0.1") -> subprocess.Popen[bytes]:
    """Serve the Streamlit console against the sandbox."""
    command = [
        sys.executable, "-m", "streamlit", "run", str(REPOSITORY_ROOT / "server.py"),
        "--server.address", address,
        "--server.port", str(port),
        "--server.headless", "true",
        "--browser.gatherUsageStats", "false",
        "--server.fileWatcherType", "none",
    ]
    return sandbox.spawn(command, log_name="console")


class _Periodic:
    """Call a function every ``interval`` seconds in a daemon thread until stopped."""

    def __init__(self, interval: float, function: Callable[[], None]) -> None:
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(interval, function), daemon=True)
        self._thread.start()

    def _run(self, interval: float, function: Callable[[], None]) -> None:
        while not self._stopping.wait(interval):
            function()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=5)


def _shell_quote(value: str) -> str:
    return "'" + value.replace("'", "'\"'\"'") + "'"

"""A seeded MLflow store shared by the session, copies of it for tests that change it, and a real server.

Seeding trains real scikit-learn models (about 10 s), so it happens once; a test that changes the registry
gets its own copy of the SQLite file (the artifacts stay shared and are only read).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from console.sandbox.processes import free_port
from console.adapters.mlflow_registry import MlflowRegistry
from console.sandbox.mlflow_seed import SeedSummary, seed_mlflow

SEED_NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
MLFLOW_ENV = (
    "MLFLOW_TRACKING_TOKEN",
    "MLFLOW_TRACKING_USERNAME",
    "MLFLOW_TRACKING_PASSWORD",
    "MLFLOW_HTTP_REQUEST_TIMEOUT",
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR",
)


@dataclass(frozen=True)
class SeededStore:
    db_path: Path
    summary: SeedSummary

    @property
    def uri(self) -> str:
        return f"sqlite:///{self.db_path}"


@dataclass(frozen=True)
class MlflowServer:
    url: str
    db_path: Path


@pytest.fixture(autouse=True)
def _restore_mlflow_environment() -> Iterator[None]:
    """The adapter writes MLflow's HTTP variables; keep one test's settings out of the next."""
    saved = {name: os.environ.get(name) for name in MLFLOW_ENV}
    yield
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture(scope="session")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> SeededStore:
    folder = tmp_path_factory.mktemp("seed")
    db_path = folder / "mlflow.db"
    summary = seed_mlflow(f"sqlite:///{db_path}", now=SEED_NOW, runs_per_experiment=20)
    return SeededStore(db_path=db_path, summary=summary)


@pytest.fixture(scope="session")
def seeded_registry(seeded: SeededStore) -> MlflowRegistry:
    """An adapter over the shared seeded store: for tests that only read."""
    return MlflowRegistry(seeded.uri)


@pytest.fixture
def store_copy(seeded: SeededStore, tmp_path: Path) -> str:
    """The URI of a private copy of the seeded store."""
    target = tmp_path / "mlflow.db"
    shutil.copyfile(seeded.db_path, target)
    return f"sqlite:///{target}"


@pytest.fixture
def registry(store_copy: str) -> MlflowRegistry:
    """An adapter over a private copy of the seeded store: for tests that change the registry."""
    return MlflowRegistry(store_copy)


def _mlflow_executable() -> str:
    candidate = Path(sys.executable).with_name("mlflow")
    return str(candidate) if candidate.exists() else "mlflow"


@pytest.fixture(scope="session")
def mlflow_server(seeded: SeededStore, tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlflowServer]:
    """A real ``mlflow server`` on loopback over a copy of the seeded store (one worker: no added latency)."""
    folder = tmp_path_factory.mktemp("server")
    db_path = folder / "mlflow.db"
    shutil.copyfile(seeded.db_path, db_path)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    log = (folder / "server.log").open("wb")
    process = subprocess.Popen(
        [
            _mlflow_executable(),
            "server",
            "--backend-store-uri",
            f"sqlite:///{db_path}",
            "--default-artifact-root",
            str(folder / "artifacts"),
            "--workers",
            "1",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        cwd=folder,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"mlflow server exited: {(folder / 'server.log').read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=1) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"mlflow server did not start: {(folder / 'server.log').read_text()[-2000:]}")
            time.sleep(0.2)
        yield MlflowServer(url=url, db_path=db_path)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()

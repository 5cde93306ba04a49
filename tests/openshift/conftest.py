"""Fixtures for the OpenShift deployment tests: the kustomize overlays rendered once per session."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers import kubectl_binary

ROOT = Path(__file__).resolve().parents[2]
OPENSHIFT = ROOT / "openshift"
OVERLAYS = ("demo", "production")
CONSOLE_NAMESPACE = "mlops-console"
SERVICE_ACCOUNT = "mlops-console"


def kustomize(directory: Path) -> list[dict[str, Any]]:
    result = subprocess.run([kubectl_binary(), "kustomize", str(directory)], capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        raise AssertionError(f"kubectl kustomize {directory} failed:\n{result.stderr}")
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


_RENDERED: dict[str, list[dict[str, Any]]] = {}


def rendered(overlay: str) -> list[dict[str, Any]]:
    """The objects of one overlay, as `oc apply -k openshift/overlays/<overlay>` would send them."""
    if overlay not in _RENDERED:
        _RENDERED[overlay] = kustomize(OPENSHIFT / "overlays" / overlay)
    return _RENDERED[overlay]


def find(objects: list[dict[str, Any]], kind: str, name: str | None = None) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]


def one(objects: list[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    found = find(objects, kind, name)
    assert len(found) == 1, f"expected one {kind} {name or ''}, found {len(found)}"
    return found[0]


def settings_of(objects: list[dict[str, Any]]) -> dict[str, str]:
    configmaps = [o for o in find(objects, "ConfigMap") if o["metadata"]["name"].startswith("mlops-console-settings")]
    assert len(configmaps) == 1
    return configmaps[0]["data"]


@pytest.fixture(params=OVERLAYS)
def overlay(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def objects(overlay: str) -> list[dict[str, Any]]:
    return rendered(overlay)

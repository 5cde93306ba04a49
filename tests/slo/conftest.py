from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from console.domain.slo import Objective
from console.domain.slo_spec import SloCatalog, parse_slo_files
from console.sandbox.prometheus import find_binary

REPOSITORY = Path(__file__).resolve().parents[2]
EXAMPLES = REPOSITORY / "examples" / "slos"

def promtool() -> str:
    """promtool from Debian's prometheus package; its absence is a broken install (make test installs it), so
    it fails the test instead of skipping it."""
    found = find_binary("promtool")
    if found is None or find_binary("prometheus") is None:
        raise RuntimeError("the Debian package 'prometheus' is not installed: run make test, which installs it")
    return found

AVAILABILITY_SPEC: dict[str, Any] = {
    "apiVersion": "openslo/v1",
    "kind": "SLO",
    "metadata": {"name": "iris-availability", "annotations": {"mlops.console/sla-target": "0.99"}},
    "spec": {
        "service": "iris-classifier",
        "budgetingMethod": "Occurrences",
        "timeWindow": [{"duration": "28d", "isRolling": True}],
        "indicator": {
            "metadata": {"name": "iris-availability"},
            "spec": {
                "ratioMetric": {
                    "counter": True,
                    "bad": {
                        "metricSource": {
                            "type": "Prometheus",
                            "spec": {"query": 'http_requests_total{service="iris",code=~"5.."}'},
                        }
                    },
                    "total": {
                        "metricSource": {
                            "type": "Prometheus",
                            "spec": {"query": 'http_requests_total{service="iris"}'},
                        }
                    },
                }
            },
        },
        "objectives": [{"target": 0.999}],
    },
}

LATENCY_SPEC: dict[str, Any] = {
    "apiVersion": "openslo/v1",
    "kind": "SLO",
    "metadata": {"name": "iris-latency"},
    "spec": {
        "service": "iris-classifier",
        "timeWindow": [{"duration": "30d", "isRolling": True}],
        "indicator": {
            "metadata": {"name": "iris-latency"},
            "spec": {
                "latencyMetric": {
                    "histogram": {
                        "metricSource": {
                            "type": "Prometheus",
                            "spec": {"query": 'http_request_duration_seconds{service="iris"}'},
                        }
                    },
                    "threshold": 0.25,
                    "bucketBounds": [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, "+Inf"],
                }
            },
        },
        "objectives": [{"target": 0.99}],
    },
}


def spec_with(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A deep copy of ``base`` with dotted paths set (``{"spec.objectives": []}``); a value of ``...`` deletes."""
    document = copy.deepcopy(base)
    for dotted, value in changes.items():
        *parents, last = dotted.split(".")
        node: Any = document
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        if value is ...:
            del node[last]
        elif isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value
    return document


def as_yaml(*documents: Any) -> str:
    return yaml.safe_dump_all(list(documents), sort_keys=False)


def parse_documents(*documents: Any, source: str = "slo.yaml") -> SloCatalog:
    return parse_slo_files({source: as_yaml(*documents)})


def one_objective(document: dict[str, Any]) -> Objective:
    catalog = parse_documents(document)
    assert catalog.problems == (), [str(problem) for problem in catalog.problems]
    (objective,) = catalog.objectives
    return objective


@pytest.fixture
def availability() -> Objective:
    return one_objective(AVAILABILITY_SPEC)


@pytest.fixture
def latency() -> Objective:
    return one_objective(LATENCY_SPEC)


@pytest.fixture
def make_spec() -> Callable[..., dict[str, Any]]:
    return spec_with

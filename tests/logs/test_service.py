"""Reading logs through the real client against the sandbox API server over HTTP."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from console.adapters.kubernetes import KubernetesCluster
from console.domain.access import Actor
from console.domain.logs import LogFilter
from console.domain.times import parse_rfc3339
from console.errors import BackendUnavailable, Forbidden, InvalidInput
from console.sandbox.kube import KubeApiServer, ManualClock, seed_demo_world
from console.services import logs as log_service
from console.services.deployments import pods_of
from console.services.logs import read_logs
from tests.helpers import validated_kube_server

from .conftest import NAMESPACES, write_unreachable_kubeconfig


def _read(cluster: KubernetesCluster, actor: Actor, **options: object):  # type: ignore[no-untyped-def]
    arguments = dict(namespace="ml-serving", deployment="iris-classifier", pod=None, container=None, tail_lines=500,
                     since_seconds=None, previous=False)
    arguments.update(options)
    return read_logs(cluster, actor, **arguments)  # type: ignore[arg-type]


def test_one_pod_tail_with_timestamps(cluster: KubernetesCluster, viewer: Actor) -> None:
    pod = pods_of(cluster, viewer, "ml-serving", "iris-classifier")[0]
    result = _read(cluster, viewer, pod=pod.name, container=pod.containers[0], tail_lines=7)
    assert len(result.lines) == result.read_count == 7
    assert {line.pod for line in result.lines} == {pod.name}
    assert all(line.timestamp is not None for line in result.lines)
    assert not result.merged and not result.errors and not result.notes
    assert result.last_timestamp == result.lines[-1].timestamp
    with_stamps = result.text(timestamps=True).splitlines()
    without = result.text(timestamps=False).splitlines()
    assert [line.split(" ", 1)[1] for line in with_stamps] == without == [line.text for line in result.lines]
    assert parse_rfc3339(with_stamps[0].split(" ", 1)[0]) == result.lines[0].timestamp


def test_all_pods_merged_by_time_with_pod_prefix(cluster: KubernetesCluster, viewer: Actor) -> None:
    pods = {pod.name for pod in pods_of(cluster, viewer, "ml-serving", "iris-classifier")}
    result = _read(cluster, viewer, tail_lines=200)
    assert result.merged and set(result.pods) == pods and len(pods) == 3
    assert {line.pod for line in result.lines} == pods
    stamps = [line.timestamp for line in result.lines]
    assert stamps == sorted(stamps)  # type: ignore[type-var]
    assert len(result.lines) == 200  # the newest 200 of the merged lines
    for text, line in zip(result.text(timestamps=False).splitlines(), result.lines):
        assert text == f"[{line.pod}] {line.text}"


def test_the_picker_lists_one_namespace_with_one_namespaced_request(kube: KubeApiServer, cluster: KubernetesCluster,
                                                                     viewer: Actor) -> None:
    before = len(kube.requests)
    names = log_service.deployment_names(cluster, viewer, "ml-serving")
    assert names == sorted(d["metadata"]["name"] for d in kube.list("deployments", "ml-serving"))
    assert list(kube.requests)[before:] == [("GET", "/apis/apps/v1/namespaces/ml-serving/deployments")]
    with pytest.raises(Forbidden):
        log_service.deployment_names(cluster, viewer, "kube-system")
    assert len(kube.requests) == before + 1


def test_a_level_filter_reads_levels_and_no_level_filter_does_not_need_them(cluster: KubernetesCluster,
                                                                              viewer: Actor) -> None:
    plain = _read(cluster, viewer, tail_lines=300)
    assert {line.level for line in plain.lines} == {None}
    errors = _read(cluster, viewer, tail_lines=300, log_filter=LogFilter.build(min_level="ERROR"))
    assert errors.read_count == 300 and {line.level for line in errors.lines} <= {"ERROR", "CRITICAL"}


def test_since_limits_the_time_range(cluster: KubernetesCluster, viewer: Actor) -> None:
    result = _read(cluster, viewer, since_seconds=300, tail_lines=10_000)
    oldest = datetime.now(timezone.utc).timestamp() - 300 - 5
    assert result.lines
    assert all(line.timestamp and line.timestamp.timestamp() >= oldest for line in result.lines)
    everything = _read(cluster, viewer, tail_lines=10_000)
    assert everything.read_count > result.read_count


def test_text_regex_and_level_filters(cluster: KubernetesCluster, viewer: Actor) -> None:
    everything = _read(cluster, viewer, tail_lines=2000)
    health = _read(cluster, viewer, tail_lines=2000, log_filter=LogFilter.build("/V2/HEALTH/ready"))
    assert health.lines and all("/v2/health/ready" in line.text for line in health.lines)
    assert health.read_count == everything.read_count > len(health.lines)
    posts = _read(cluster, viewer, tail_lines=2000, log_filter=LogFilter.build(r'"POST \S+ HTTP/1\.1" 200', regex=True))
    assert posts.lines and all("POST" in line.text for line in posts.lines)
    warnings = _read(cluster, viewer, tail_lines=2000, log_filter=LogFilter.build(min_level="warning"))
    assert warnings.lines and {line.level for line in warnings.lines} <= {"WARNING", "ERROR", "CRITICAL"}
    assert any(line.text.startswith("{") for line in warnings.lines)  # JSON lines carry levels too


def test_previous_container_of_a_crash_looping_pod_shows_why_it_crashed(
    cluster: KubernetesCluster, viewer: Actor
) -> None:
    crashing = [pod for pod in pods_of(cluster, viewer, "ml-serving", "wine-quality") if pod.has_previous]
    assert crashing
    result = _read(cluster, viewer, deployment="wine-quality", pod=crashing[0].name,
                   container=crashing[0].containers[0], previous=True)
    assert any("ModelSignatureError" in line.text for line in result.lines)
    errors = _read(cluster, viewer, deployment="wine-quality", pod=crashing[0].name, previous=True,
                   log_filter=LogFilter.build(min_level="error"))
    assert any(line.text.startswith("Traceback") for line in errors.lines)  # the trace keeps its record's level


def test_merged_previous_names_the_pods_without_one_and_shows_the_others(
    cluster: KubernetesCluster, viewer: Actor
) -> None:
    pods = pods_of(cluster, viewer, "ml-serving", "wine-quality")
    healthy = {pod.name for pod in pods if not pod.has_previous}
    assert healthy and len(healthy) < len(pods)
    result = _read(cluster, viewer, deployment="wine-quality", previous=True)
    assert set(result.errors) == healthy
    for name, message in result.errors.items():
        assert f"Pod {name} has no previous container 'model-server'" in message
        assert f'previous terminated container "model-server" in pod "{name}" not found' in message
    assert result.lines and {line.pod for line in result.lines}.isdisjoint(healthy)


def test_previous_of_a_pod_that_never_restarted_is_a_clear_error(cluster: KubernetesCluster, viewer: Actor) -> None:
    pod = pods_of(cluster, viewer, "ml-serving", "iris-classifier")[0]
    with pytest.raises(InvalidInput, match=f"Pod {pod.name} has no previous container"):
        _read(cluster, viewer, pod=pod.name, container=pod.containers[0], previous=True)


def test_every_pod_failing_raises(cluster: KubernetesCluster, viewer: Actor) -> None:
    with pytest.raises(InvalidInput, match="has no previous container"):
        _read(cluster, viewer, previous=True)  # no iris pod has restarted


def test_forbidden_by_the_api(kube: KubeApiServer, cluster: KubernetesCluster, viewer: Actor) -> None:
    kube.policy.deny(verb="get", resource="pods/log", namespace="ml-serving")
    with pytest.raises(Forbidden, match="may not get pods/log in namespace ml-serving"):
        _read(cluster, viewer)


def test_namespace_outside_the_allow_list_is_refused_before_any_request(
    cluster: KubernetesCluster, viewer: Actor
) -> None:
    before = cluster.calls
    with pytest.raises(Forbidden, match="Namespace 'kube-system' is not managed by this console"):
        _read(cluster, viewer, namespace="kube-system", pod="anything")
    assert cluster.calls == before


def test_invalid_tail_is_refused_before_any_request(cluster: KubernetesCluster, viewer: Actor) -> None:
    before = cluster.calls
    with pytest.raises(InvalidInput, match="from 1 to 10,000"):
        _read(cluster, viewer, tail_lines=10_001)
    assert cluster.calls == before


def test_slow_api_answers_within_the_timeout(kube: KubeApiServer, cluster: KubernetesCluster, viewer: Actor) -> None:
    pod = pods_of(cluster, viewer, "ml-serving", "iris-classifier")[0].name
    kube.faults.add(verb="get", resource="pods/log", latency_seconds=4)
    started = time.monotonic()
    with pytest.raises(BackendUnavailable, match="did not answer in time"):
        _read(cluster, viewer, pod=pod)
    assert time.monotonic() - started < 3.5


def test_unreachable_api(tmp_path: Path, viewer: Actor) -> None:
    path = write_unreachable_kubeconfig(tmp_path / "kubeconfig")
    cluster = KubernetesCluster(namespaces=NAMESPACES, kubeconfig=path, timeout_seconds=2)
    with pytest.raises(BackendUnavailable, match="is not reachable"):
        _read(cluster, viewer)


def test_a_read_at_the_byte_limit_says_it_was_cut(cluster: KubernetesCluster, viewer: Actor,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(log_service, "MAX_LOG_BYTES_PER_POD", 3000)
    pod = pods_of(cluster, viewer, "ml-serving", "iris-classifier")[0].name
    result = _read(cluster, viewer, pod=pod, tail_lines=1000)
    assert result.notes == {pod: "cut at 3,000 bytes: only the oldest part of the requested lines was read; "
                                 "ask for fewer lines or a shorter time range to see the newest ones."}
    assert 0 < sum(len(line.text) for line in result.lines) < 3000
    assert all(line.timestamp is not None for line in result.lines)  # the partial last line is dropped


def test_the_real_limit_is_five_megabytes_and_a_short_log_is_not_cut(cluster: KubernetesCluster, viewer: Actor) -> None:
    assert log_service.MAX_LOG_BYTES_PER_POD == 5 * 1024 * 1024
    assert not _read(cluster, viewer, tail_lines=10_000).notes


def test_follow_reads_only_newer_lines(tmp_path: Path, viewer: Actor) -> None:
    clock = ManualClock(datetime.now(timezone.utc).replace(microsecond=0))
    with validated_kube_server(clock=clock) as server:
        seed_demo_world(server, now=datetime.fromtimestamp(clock.now(), timezone.utc))
        server.tick()
        cluster = KubernetesCluster(namespaces=NAMESPACES, kubeconfig=server.write_kubeconfig(tmp_path / "kc"),
                                    timeout_seconds=2)
        first = _read(cluster, viewer, tail_lines=50)
        clock.advance(60)
        server.tick()
        newer = _read(cluster, viewer, tail_lines=10_000, since_time=first.last_timestamp)
        assert newer.lines and first.last_timestamp is not None
        assert all(line.timestamp and line.timestamp > first.last_timestamp for line in newer.lines)
        assert newer.last_timestamp == newer.lines[-1].timestamp
        after = _read(cluster, viewer, tail_lines=50 + len(newer.lines))
        assert [*first.lines, *newer.lines] == list(after.lines)
        clock.advance(0.001)
        nothing = _read(cluster, viewer, since_time=newer.last_timestamp)
        assert nothing.lines == () and nothing.last_timestamp == newer.last_timestamp

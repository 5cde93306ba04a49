"""The demo world: history per DESIGN.md conventions, consistent with what the controller would have left."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

from console.sandbox.catalog import DEMO_SERVICES
from console.sandbox.kube import demo_revision_times, seed_demo_world

from .helpers import CHANGE_CAUSE, HASH, REVISION, REVISION_HISTORY, by_revision, condition

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=timezone.utc)


def env(container: dict) -> dict:
    return {e["name"]: e.get("value") for e in container.get("env") or []}


def test_revision_times_are_deterministic_and_within_thirty_days() -> None:
    revisions = demo_revision_times(NOW)
    assert revisions == demo_revision_times(NOW)
    assert len(revisions) == sum(len(s.revision_versions) for s in DEMO_SERVICES)
    for service in DEMO_SERVICES:
        mine = [r for r in revisions if r.service == service]
        assert [r.revision for r in mine] == list(range(1, len(service.revision_versions) + 1))
        assert [r.version for r in mine] == list(service.revision_versions)
        times = [r.created_at for r in mine]
        assert times == sorted(times) and len(set(times)) == len(times)
        assert all(NOW - timedelta(days=30) <= t < NOW and t.microsecond == 0 for t in times)
        assert all(r.image == service.image(r.revision) for r in mine)
        assert all(r.change_cause.split(": ", 1)[0] in ("admin", "operator") and " - " in r.change_cause for r in mine)
    wine = [r for r in revisions if r.service.model == "wine-quality"]
    assert wine[3].change_cause == "operator: rollback - v3 regressed on accuracy, back to v2"
    assert wine[1].change_cause == "admin: promote - v2 beat v1 on accuracy"


def test_seeded_history_follows_the_conventions(demo_server, demo_now) -> None:
    revisions = demo_revision_times(demo_now)
    for service in DEMO_SERVICES:
        d = demo_server.get("deployments", service.namespace, service.deployment)
        assert d["metadata"]["labels"]["mlops.console/model"] == service.model
        assert d["metadata"]["annotations"]["mlops.console/alias"] == "champion"
        assert d["metadata"]["annotations"][REVISION] == str(len(service.revision_versions))
        template = d["spec"]["template"]
        assert template["metadata"]["annotations"]["mlops.console/model-version"] == str(service.current_version)
        assert env(template["spec"]["containers"][0])["MODEL_URI"] == f"models:/{service.model}/{service.current_version}"
        sets = by_revision(demo_server, service.namespace, service.deployment)
        mine = {r.revision: r for r in revisions if r.service == service}
        for number, rs in sets.items():
            served = [number] + [int(n) for n in rs["metadata"]["annotations"].get(REVISION_HISTORY, "").split(",") if n]
            version = service.revision_versions[number - 1]
            container = rs["spec"]["template"]["spec"]["containers"][0]
            assert container["image"] == service.image(number)
            assert rs["spec"]["template"]["metadata"]["annotations"]["mlops.console/model-version"] == str(version)
            assert env(container)["MODEL_URI"] == f"models:/{service.model}/{version}"
            assert rs["metadata"]["annotations"][CHANGE_CAUSE] == mine[number].change_cause
            first_served = min(served)
            assert rs["metadata"]["creationTimestamp"] == mine[first_served].created_at.strftime("%Y-%m-%dT%H:%M:%SZ")
            assert rs["metadata"]["name"] == f"{service.deployment}-{rs['metadata']['labels'][HASH]}"
        served_numbers = sorted(n for rs in sets.values() for n in
                                [int(rs["metadata"]["annotations"][REVISION])] +
                                [int(x) for x in rs["metadata"]["annotations"].get(REVISION_HISTORY, "").split(",") if x])
        assert served_numbers == list(range(1, len(service.revision_versions) + 1))
    wine = by_revision(demo_server, "ml-serving", "wine-quality")
    assert sorted(wine) == [1, 3, 4, 5] and wine[4]["metadata"]["annotations"][REVISION_HISTORY] == "2"


def test_healthy_services_run_only_their_current_replica_set(demo_server) -> None:
    for service in DEMO_SERVICES:
        if service.broken_current:
            continue
        sets = by_revision(demo_server, service.namespace, service.deployment)
        current = sets[len(service.revision_versions)]
        assert current["spec"]["replicas"] == service.replicas
        assert all(rs["spec"]["replicas"] == 0 for n, rs in sets.items() if rs is not current)
        pods = demo_server.list("pods", service.namespace, f"app={service.deployment}")
        assert len(pods) == service.replicas
        assert all(p["metadata"]["labels"][HASH] == current["metadata"]["labels"][HASH] for p in pods)
        assert all(condition(p, "Ready")["status"] == "True" for p in pods)
        d = demo_server.get("deployments", service.namespace, service.deployment)
        assert condition(d, "Progressing")["reason"] == "NewReplicaSetAvailable"


def test_the_broken_service_is_a_stuck_rollout(demo_server) -> None:
    service = next(s for s in DEMO_SERVICES if s.broken_current)
    d = demo_server.get("deployments", service.namespace, service.deployment)
    assert "broken" in d["spec"]["template"]["spec"]["containers"][0]["image"]
    assert condition(d, "Progressing")["reason"] == "ProgressDeadlineExceeded"
    sets = by_revision(demo_server, service.namespace, service.deployment)
    current = sets[len(service.revision_versions)]
    crashing = [p for p in demo_server.list("pods", service.namespace, f"app={service.deployment}")
                if p["metadata"]["labels"][HASH] == current["metadata"]["labels"][HASH]]
    assert crashing and all(p["status"]["containerStatuses"][0]["restartCount"] > 5 for p in crashing)
    assert all(p["status"]["containerStatuses"][0]["lastState"]["terminated"]["exitCode"] == 1 for p in crashing)


def test_the_controllers_find_nothing_to_correct(make_kube_server, demo_now) -> None:
    """Seeded objects equal what the controllers compute: running them changes no deployment or replica set."""
    server = make_kube_server(run_controllers=False)
    seed_demo_world(server, now=demo_now)

    def versions() -> dict:
        return {(r, o["metadata"]["namespace"], o["metadata"]["name"]): o["metadata"]["resourceVersion"]
                for r in ("deployments", "replicasets") for o in server.list(r)}

    before = versions()
    server.tick()
    assert versions() == before
    time.sleep(0.5)
    server.controllers.mark_all()
    server.tick()
    assert versions() == before

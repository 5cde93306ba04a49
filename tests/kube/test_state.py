"""A server's objects saved and loaded by the next one, as a cluster's etcd survives an apiserver restart."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from console.sandbox.kube import seed_demo_world
from tests.helpers import kubectl_binary


def test_a_new_server_goes_on_where_the_last_one_stopped(make_kube_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import subprocess

    first = make_kube_server()
    seed_demo_world(first, now=datetime.now(timezone.utc))
    kubeconfig = first.write_kubeconfig(tmp_path / "kubeconfig")
    subprocess.run([kubectl_binary(), "--kubeconfig", str(kubeconfig), "-n", "ml-serving", "scale",
                    "deployment/iris-classifier", "--replicas=5"], check=True, capture_output=True)
    saved = {d["metadata"]["name"]: d for d in first.list("deployments")}
    first.save_state(tmp_path / "state.json")
    first.stop()

    second = make_kube_server()
    second.load_state(tmp_path / "state.json")
    loaded = {d["metadata"]["name"]: d for d in second.list("deployments")}
    assert {name: d["metadata"]["uid"] for name, d in loaded.items()} == {n: d["metadata"]["uid"] for n, d in saved.items()}
    assert loaded["iris-classifier"]["spec"]["replicas"] == 5
    assert second.get("namespaces", "", "ml-staging") is not None
    # The controllers take over: new writes continue the resourceVersion sequence and rollouts still happen.
    kubeconfig = second.write_kubeconfig(tmp_path / "kubeconfig")
    out = subprocess.run([kubectl_binary(), "--kubeconfig", str(kubeconfig), "-n", "ml-serving", "rollout", "undo",
                          "deployment/iris-classifier"], check=True, capture_output=True, text=True)
    assert "rolled back" in out.stdout
    after = second.get("deployments", "ml-serving", "iris-classifier")
    assert int(after["metadata"]["resourceVersion"]) > int(saved["iris-classifier"]["metadata"]["resourceVersion"])
    assert after["spec"]["template"]["metadata"]["annotations"]["mlops.console/model-version"] == "3"

"""Patch semantics against the cases apimachinery's strategicpatch and evanphx/json-patch test."""

from __future__ import annotations

import pytest

from console.sandbox.kube.errors import ApiError
from console.sandbox.kube.patch import apply_json_patch, apply_merge_patch, apply_strategic_merge_patch


def deployment(containers: list[dict], **template_meta) -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "labels": {"a": "1", "b": "2"}},
            "spec": {"replicas": 1, "template": {"metadata": template_meta, "spec": {"containers": containers}}}}


def containers_of(obj: dict) -> list[dict]:
    return obj["spec"]["template"]["spec"]["containers"]


def test_json_patch_operations() -> None:
    doc = {"a": {"b": [1, 2, 3]}, "c": "x"}
    out = apply_json_patch(doc, [
        {"op": "test", "path": "/c", "value": "x"},
        {"op": "add", "path": "/a/b/1", "value": 9},
        {"op": "remove", "path": "/a/b/0"},
        {"op": "replace", "path": "/c", "value": "y"},
        {"op": "copy", "from": "/c", "path": "/d"},
        {"op": "move", "from": "/d", "path": "/e~1f"},
        {"op": "add", "path": "/a/b/-", "value": 4},
    ])
    assert out == {"a": {"b": [9, 2, 3, 4]}, "c": "y", "e/f": "y"}
    assert doc == {"a": {"b": [1, 2, 3]}, "c": "x"}  # the input is untouched
    for bad in ([{"op": "test", "path": "/c", "value": "nope"}], [{"op": "replace", "path": "/missing", "value": 1}],
                [{"op": "remove", "path": "/a/b/7"}], [{"op": "test", "path": "/a/b/0", "value": True}]):
        with pytest.raises(ApiError) as err:
            apply_json_patch(doc, bad)
        assert (err.value.code, err.value.reason) == (422, "Invalid")
    with pytest.raises(ApiError) as err:
        apply_json_patch(doc, {"op": "add"})
    assert err.value.code == 400


def test_merge_patch_rfc7386() -> None:
    doc = {"a": "b", "c": {"d": "e", "f": "g"}, "l": [1, 2]}
    assert apply_merge_patch(doc, {"a": "z", "c": {"f": None}, "l": [3]}) == {"a": "z", "c": {"d": "e"}, "l": [3]}
    assert apply_merge_patch(doc, {"c": None}) == {"a": "b", "l": [1, 2]}


def test_strategic_merge_by_name_and_container_port() -> None:
    doc = deployment([
        {"name": "app", "image": "a:1", "env": [{"name": "X", "value": "1"}, {"name": "Y", "value": "2"}],
         "ports": [{"containerPort": 80, "name": "http"}], "args": ["--a", "--b"]},
        {"name": "side", "image": "s:1"},
    ])
    out = apply_strategic_merge_patch(doc, {"spec": {"template": {"spec": {"containers": [
        {"name": "app", "image": "a:2", "env": [{"name": "Y", "value": "3"}, {"name": "Z", "value": "4"}],
         "ports": [{"containerPort": 80, "protocol": "TCP"}, {"containerPort": 9090}], "args": ["--c"]},
    ]}}}}, "Deployment")
    app, side = containers_of(out)
    assert app["image"] == "a:2" and side == {"name": "side", "image": "s:1"}
    assert app["env"] == [{"name": "X", "value": "1"}, {"name": "Y", "value": "3"}, {"name": "Z", "value": "4"}]
    assert app["ports"] == [{"containerPort": 80, "name": "http", "protocol": "TCP"}, {"containerPort": 9090}]
    assert app["args"] == ["--c"]  # no merge key: replaced


def test_strategic_merge_directives() -> None:
    doc = deployment([{"name": "a", "image": "a"}, {"name": "b", "image": "b"}, {"name": "c", "image": "c"}],
                     labels={"x": "1", "y": "2"})
    doc["metadata"]["finalizers"] = ["f1", "f2"]
    out = apply_strategic_merge_patch(doc, {
        "metadata": {"labels": {"a": None}, "finalizers": ["f3"], "$deleteFromPrimitiveList/finalizers": ["f1"]},
        "spec": {"template": {
            "metadata": {"labels": {"$patch": "replace", "z": "3"}},
            "spec": {"$setElementOrder/containers": [{"name": "c"}, {"name": "a"}, {"name": "b"}],
                     "containers": [{"name": "b", "$patch": "delete"}, {"name": "a", "image": "a2"}]},
        }},
    }, "Deployment")
    assert out["metadata"]["labels"] == {"b": "2"}
    assert out["metadata"]["finalizers"] == ["f2", "f3"]
    assert out["spec"]["template"]["metadata"]["labels"] == {"z": "3"}
    assert [(c["name"], c["image"]) for c in containers_of(out)] == [("c", "c"), ("a", "a2")]
    replaced = apply_strategic_merge_patch(doc, {"spec": {"template": {"spec": {"containers": [
        {"$patch": "replace"}, {"name": "only", "image": "o"}]}}}}, "Deployment")
    assert containers_of(replaced) == [{"name": "only", "image": "o"}]
    retained = apply_strategic_merge_patch(
        {"kind": "Deployment", "spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}}},
        {"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}}, "Deployment")
    assert retained["spec"]["strategy"] == {"type": "Recreate"}
    deleted_map = apply_strategic_merge_patch(doc, {"spec": {"template": {"metadata": {"$patch": "delete"}}}}, "Deployment")
    assert "metadata" not in deleted_map["spec"]["template"]


def test_strategic_merge_kubectl_set_image_shape() -> None:
    """What kubectl set image sends (CreateTwoWayMergePatch of the container list)."""
    doc = deployment([{"name": "app", "image": "a:1"}, {"name": "side", "image": "s:1"}])
    out = apply_strategic_merge_patch(doc, {"spec": {"template": {"spec": {
        "$setElementOrder/containers": [{"name": "app"}, {"name": "side"}],
        "containers": [{"image": "a:2", "name": "app"}]}}}}, "Deployment")
    assert [(c["name"], c["image"]) for c in containers_of(out)] == [("app", "a:2"), ("side", "s:1")]

"""The disruption controller (kubernetes/pkg/controller/disruption): each PodDisruptionBudget's status from the pods
it selects, so ``kubectl get pdb`` shows the disruptions a drain may make."""

from __future__ import annotations

import math
from typing import Any

from .clock import rfc3339
from .resources import resolve_int_or_percent, selector_matches_labels
from .store import Store


def _ready(pod: dict[str, Any]) -> bool:
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def _expected(store: Store, ns: str, pods: list[dict[str, Any]]) -> int:
    """The replicas of the pods' controllers (the scale the controller reads), pods without one counted once."""
    total, seen = 0, set()
    for pod in pods:
        owner = next((r for r in pod["metadata"].get("ownerReferences") or [] if r.get("controller")), None)
        if owner is None:
            total += 1
        elif owner["uid"] not in seen:
            seen.add(owner["uid"])
            rs = store.get_ref("replicasets", ns, owner["name"]) if owner.get("kind") == "ReplicaSet" else None
            total += (rs or {}).get("spec", {}).get("replicas", 1)
    return total


def status_of(store: Store, pdb: dict[str, Any], now: float) -> dict[str, Any]:
    """The status the disruption controller computes for one budget."""
    ns, spec = pdb["metadata"]["namespace"], pdb.get("spec") or {}
    selector = spec.get("selector")
    pods = [p for p in store.list_refs("pods", ns)[0]
            if selector is not None and not p["metadata"].get("deletionTimestamp")
            and (selector_matches_labels(selector, p["metadata"].get("labels") or {}) or selector == {})]
    healthy = sum(1 for p in pods if _ready(p))
    if "maxUnavailable" in spec:
        expected = _expected(store, ns, pods)
        desired = max(0, expected - resolve_int_or_percent(spec["maxUnavailable"], expected, True))
    elif isinstance(spec.get("minAvailable"), int):
        expected, desired = len(pods), spec["minAvailable"]
    else:
        expected = _expected(store, ns, pods)
        percent = str(spec.get("minAvailable", "100%")).rstrip("%")
        desired = math.ceil(int(percent or 0) * expected / 100)
    allowed = max(0, healthy - desired)
    previous = {c["type"]: c for c in (pdb.get("status") or {}).get("conditions") or []}
    sufficient = allowed > 0
    condition = {"type": "DisruptionAllowed", "status": "True" if sufficient else "False",
                 "observedGeneration": pdb["metadata"].get("generation", 1),
                 "lastTransitionTime": rfc3339(now),
                 "reason": "SufficientPods" if sufficient else "InsufficientPods", "message": ""}
    old = previous.get("DisruptionAllowed")
    if old is not None and old.get("status") == condition["status"]:
        condition["lastTransitionTime"] = old["lastTransitionTime"]
    return {"observedGeneration": pdb["metadata"].get("generation", 1), "disruptionsAllowed": allowed,
            "currentHealthy": healthy, "desiredHealthy": desired, "expectedPods": expected,
            "conditions": [condition]}


def sync(store: Store, ns: str, now: float) -> None:
    """Write the status of every budget of a namespace whose status changed."""
    for pdb in store.list_refs("poddisruptionbudgets", ns)[0]:
        status = status_of(store, pdb, now)
        if status != pdb.get("status"):
            store.mutate("poddisruptionbudgets", ns, pdb["metadata"]["name"],
                         lambda o, s=status: o.__setitem__("status", s), subresource="status")

"""Controllers that make the store behave like a cluster: deployment, replica set, scheduler + kubelet,
garbage collector and namespace lifecycle.

The deployment logic follows kubernetes/pkg/controller/deployment (sync.go, rolling.go, recreate.go,
progress.go, util/deployment_util.go) closely, because kubectl and the console read exactly the fields
and annotations it writes. Work is event driven: store events mark objects dirty and timers wake pods and
deployments when the simulated node or a progress deadline is due; ``tick`` does one round of it.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import threading
import time
from typing import Any, Iterator

from . import disruption, errors
from .clock import parse_rfc3339, rfc3339
from .resources import RESOURCE_TYPES, resolve_int_or_percent, selector_matches_labels
from .runtime import (
    Timing,
    container_id,
    container_timeline,
    image_id,
    pod_ip,
)
from .store import Store, WatchEvent

REVISION = "deployment.kubernetes.io/revision"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
DESIRED_REPLICAS = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"
HASH_LABEL = "pod-template-hash"
MAX_REV_HISTORY_CHARS = 2000
ANNOTATIONS_TO_SKIP = {
    "kubectl.kubernetes.io/last-applied-configuration",
    REVISION,
    REVISION_HISTORY,
    DESIRED_REPLICAS,
    MAX_REPLICAS,
    "deprecated.deployment.rollback.to",
}
NODE_NAME = "sandbox-worker-0"
NAMESPACE_CLEANUP_DELAY_SECONDS = 1.0
HOST_IP = "10.0.128.11"
_HASH_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


# --- small helpers shared with the demo seeder ---------------------------------------------------------------


def fnv32a(data: bytes) -> int:
    value = 0x811C9DC5
    for byte in data:
        value ^= byte
        value = (value * 0x01000193) & 0xFFFFFFFF
    return value


def template_hash(template: dict[str, Any], collision_count: int | None = None) -> str:
    """``controller.ComputeHash``: FNV-32a of the template, written with ``rand.SafeEncodeString``."""
    import json

    data = json.dumps(template, sort_keys=True, separators=(",", ":")).encode()
    if collision_count:
        data += str(collision_count).encode()
    digits = str(fnv32a(data))
    return "".join(_HASH_ALPHABET[ord(ch) % len(_HASH_ALPHABET)] for ch in digits)


def without_hash(template: dict[str, Any]) -> dict[str, Any]:
    template = copy.deepcopy(template)
    meta = template.setdefault("metadata", {})
    labels = dict(meta.get("labels") or {})
    labels.pop(HASH_LABEL, None)
    if labels:
        meta["labels"] = labels
    else:
        meta.pop("labels", None)
    for key in ("annotations",):
        if key in meta and not meta[key]:
            del meta[key]
    meta.pop("creationTimestamp", None)
    return template


def equal_ignore_hash(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return without_hash(a) == without_hash(b)


def controller_ref(owner: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def controller_of(obj: dict[str, Any]) -> dict[str, Any] | None:
    for ref in obj["metadata"].get("ownerReferences") or []:
        if ref.get("controller"):
            return ref
    return None


def revision_of(obj: dict[str, Any]) -> int:
    try:
        return int((obj["metadata"].get("annotations") or {}).get(REVISION, "0"))
    except ValueError:
        return 0


def is_rolling(d: dict[str, Any]) -> bool:
    return d["spec"].get("strategy", {}).get("type", "RollingUpdate") == "RollingUpdate"


def resolve_fenceposts(d: dict[str, Any]) -> tuple[int, int]:
    rolling = d["spec"].get("strategy", {}).get("rollingUpdate") or {}
    desired = d["spec"].get("replicas", 1)
    surge = resolve_int_or_percent(rolling.get("maxSurge", 0), desired, True)
    unavailable = resolve_int_or_percent(rolling.get("maxUnavailable", 0), desired, False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


def max_surge(d: dict[str, Any]) -> int:
    return resolve_fenceposts(d)[0] if is_rolling(d) else 0


def max_unavailable(d: dict[str, Any]) -> int:
    replicas = d["spec"].get("replicas", 1)
    if not is_rolling(d) or replicas == 0:
        return 0
    return min(resolve_fenceposts(d)[1], replicas)


def _replicas(rs: dict[str, Any] | None) -> int:
    return 0 if rs is None else int(rs["spec"].get("replicas", 0))


def _status(rs: dict[str, Any] | None, key: str) -> int:
    return 0 if rs is None else int(rs.get("status", {}).get(key, 0))


def _created(obj: dict[str, Any]) -> tuple[str, str]:
    return (obj["metadata"].get("creationTimestamp", ""), obj["metadata"]["name"])


def pod_is_ready(pod: dict[str, Any]) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in pod.get("status", {}).get("conditions") or [])


def pod_ready_since(pod: dict[str, Any]) -> float | None:
    for c in pod.get("status", {}).get("conditions") or []:
        if c.get("type") == "Ready" and c.get("status") == "True":
            return parse_rfc3339(c["lastTransitionTime"]) if c.get("lastTransitionTime") else 0.0
    return None


def pod_is_active(pod: dict[str, Any]) -> bool:
    return not pod["metadata"].get("deletionTimestamp") and pod.get("status", {}).get("phase") not in ("Succeeded", "Failed")


class Controllers:
    """All control loops of the sandbox cluster, run by ``tick`` (synchronously) or ``start`` (a thread)."""

    def __init__(self, store: Store, timing: Timing, *, record_events: bool = True) -> None:
        self.store = store
        self.clock = store.clock
        self.timing = timing
        self.record_events = record_events
        self._dirty: set[tuple[str, str, str]] = set()
        self._due: dict[tuple[str, str, str], float] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._tick_lock = threading.RLock()
        # Sub-second creation instants of pods this process created (creationTimestamp has whole seconds).
        self.pod_created: dict[str, float] = {}
        self._deleting_since: dict[str, float] = {}
        self._event_seq = 0
        self.paused = False
        store.add_listener(self._on_event)

    # --- scheduling of work -------------------------------------------------------------------------------

    def _on_event(self, event: WatchEvent) -> None:
        obj = event.obj
        ns = event.namespace
        name = obj["metadata"]["name"]
        marks = []
        if event.resource == "deployments":
            marks.append(("deployments", ns, name))
            if event.type == "DELETED" or obj["metadata"].get("deletionTimestamp"):
                marks.append(("gc", ns, ""))
        elif event.resource == "replicasets":
            marks.append(("replicasets", ns, name))
            owner = controller_of(obj)
            if owner and owner.get("kind") == "Deployment":
                marks.append(("deployments", ns, owner["name"]))
            else:
                marks.append(("adopt", ns, ""))
            if event.type == "DELETED" or obj["metadata"].get("deletionTimestamp"):
                marks.append(("gc", ns, ""))
        elif event.resource == "pods":
            marks.append(("pods", ns, name))
            owner = controller_of(obj)
            if owner and owner.get("kind") == "ReplicaSet":
                marks.append(("replicasets", ns, owner["name"]))
                if event.type == "DELETED":
                    # A Recreate rollout waits for the old pods to be gone, not just scaled away.
                    rs = self.store.get_ref("replicasets", ns, owner["name"])
                    rs_owner = controller_of(rs) if rs is not None else None
                    if rs_owner and rs_owner.get("kind") == "Deployment":
                        marks.append(("deployments", ns, rs_owner["name"]))
            if event.type == "ADDED" and event.obj["metadata"]["uid"] not in self.pod_created:
                self.pod_created.setdefault(event.obj["metadata"]["uid"], self._creation_instant(event.obj))
        elif event.resource == "namespaces":
            marks.append(("namespaces", "", name))
        if event.resource == "poddisruptionbudgets" and event.type != "DELETED" or (
                event.resource == "pods" and self.store.list_refs("poddisruptionbudgets", ns)[0]):
            marks.append(("disruption", ns, ""))
        with self._lock:
            self._dirty.update(marks)

    def _creation_instant(self, pod: dict[str, Any]) -> float:
        created = parse_rfc3339(pod["metadata"]["creationTimestamp"])
        now = self.clock.now()
        # A pod created just now keeps the precise instant; a seeded one keeps its (older) timestamp.
        return now if 0 <= now - created < 2 else created

    def _wake(self, key: tuple[str, str, str], at: float) -> None:
        with self._lock:
            current = self._due.get(key)
            if current is None or at < current:
                self._due[key] = at

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        """No controller runs inside this block (seeding writes many related objects that must land together)."""
        with self._tick_lock:
            yield

    def mark_all(self) -> None:
        """Queue every object for a sync (a controller's periodic resync)."""
        objects = self.store.all_objects(["deployments", "replicasets", "pods", "namespaces"])
        keys = {(resource, obj["metadata"].get("namespace", ""), obj["metadata"]["name"]) for resource, obj in objects}
        with self._lock:
            self._dirty.update(keys)

    def expire_events(self, ttl_seconds: float = 3600.0) -> None:
        """Events live an hour, as with the apiserver's default --event-ttl."""
        cutoff = self.clock.now() - ttl_seconds
        for _, event in self.store.all_objects(["events"]):
            last = event.get("lastTimestamp") or event["metadata"].get("creationTimestamp")
            if last and parse_rfc3339(last) < cutoff:
                self.store.remove("events", event["metadata"]["namespace"], event["metadata"]["name"])

    def tick(self, rounds: int = 20) -> None:
        """Process everything that is dirty or due, until the cluster is quiet (or ``rounds`` passes)."""
        with self._tick_lock:
            for _ in range(rounds):
                now = self.clock.now()
                with self._lock:
                    work = set(self._dirty)
                    self._dirty.clear()
                    for key, at in list(self._due.items()):
                        if at <= now:
                            work.add(key)
                            del self._due[key]
                if not work:
                    return
                order = {"namespaces": 0, "gc": 1, "adopt": 2, "deployments": 3, "replicasets": 4, "pods": 5, "disruption": 6}
                for key in sorted(work, key=lambda k: (order[k[0]], k[1], k[2])):
                    try:
                        self._process(key)
                    except errors.ApiError as err:
                        if err.code in (404, 409):
                            with self._lock:
                                self._dirty.add(key)
                        else:
                            raise

    def _process(self, key: tuple[str, str, str]) -> None:
        kind, ns, name = key
        if kind == "deployments":
            self.sync_deployment(ns, name)
        elif kind == "replicasets":
            self.sync_replicaset(ns, name)
        elif kind == "pods":
            self.sync_pod(ns, name)
        elif kind == "namespaces":
            self.sync_namespace(name)
        elif kind == "gc":
            self.collect_garbage(ns)
        elif kind == "disruption":
            disruption.sync(self.store, ns, self.clock.now())
        elif kind == "adopt":
            for d in self.store.list_refs("deployments", ns)[0]:
                with self._lock:
                    self._dirty.add(("deployments", ns, d["metadata"]["name"]))

    def start(self, interval: float = 0.02) -> None:
        if self._thread is not None:
            return
        self._stop.clear()

        def loop() -> None:
            last_resync = time.monotonic()
            while not self._stop.is_set():
                if not self.paused:
                    try:
                        self.tick()
                    except Exception:  # keep the cluster running; a real controller logs and retries
                        import traceback

                        traceback.print_exc()
                    if time.monotonic() - last_resync > 30:
                        self.mark_all()
                        self.expire_events()
                        last_resync = time.monotonic()
                with self.store.changed:
                    if not self._dirty:
                        self.store.changed.wait(interval)

        self._thread = threading.Thread(target=loop, name="kube-controllers", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        with self.store.changed:
            self.store.changed.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    # --- events ---------------------------------------------------------------------------------------------

    def record(self, obj: dict[str, Any], type_: str, reason: str, message: str, component: str) -> None:
        if not self.record_events:
            return
        now = self.clock.now()
        self._event_seq += 1
        meta = obj["metadata"]
        suffix = hashlib.sha256(f"{meta['uid']}/{now}/{self._event_seq}".encode()).hexdigest()[:16]
        event = {
            "metadata": {"name": f"{meta['name']}.{suffix}", "namespace": meta.get("namespace", "default")},
            "involvedObject": {
                "kind": obj["kind"],
                "namespace": meta.get("namespace", ""),
                "name": meta["name"],
                "uid": meta["uid"],
                "apiVersion": obj["apiVersion"],
                "resourceVersion": meta.get("resourceVersion", ""),
            },
            "reason": reason,
            "message": message,
            "source": {"component": component} if component != "kubelet" else {"component": "kubelet", "host": NODE_NAME},
            "firstTimestamp": rfc3339(now),
            "lastTimestamp": rfc3339(now),
            "count": 1,
            "type": type_,
            "reportingComponent": component,
            "reportingInstance": NODE_NAME if component == "kubelet" else "",
        }
        if obj["kind"] == "Pod" and component == "kubelet":
            event["involvedObject"]["fieldPath"] = f"spec.containers{{{obj['spec']['containers'][0]['name']}}}"
        try:
            self.store.create("events", event, namespace=event["metadata"]["namespace"])
        except errors.ApiError:
            pass

    # --- deployment controller ------------------------------------------------------------------------------

    def _replicasets_for(self, d: dict[str, Any]) -> list[dict[str, Any]]:
        ns = d["metadata"]["namespace"]
        uid = d["metadata"]["uid"]
        owned = []
        for rs in self.store.list_refs("replicasets", ns)[0]:
            ref = controller_of(rs)
            if ref is not None:
                if ref.get("uid") == uid:
                    owned.append(copy.deepcopy(rs))
                continue
            labels = (rs["metadata"].get("labels")) or {}
            if selector_matches_labels(d["spec"].get("selector"), labels) and not rs["metadata"].get("deletionTimestamp"):
                # Adopt an orphan whose labels match, as ClaimReplicaSets does.
                def adopt(obj: dict[str, Any]) -> None:
                    obj["metadata"].setdefault("ownerReferences", []).append(controller_ref(d))

                adopted = self.store.mutate("replicasets", ns, rs["metadata"]["name"], adopt)
                if adopted is not None:
                    owned.append(adopted)
        return owned

    def sync_deployment(self, ns: str, name: str) -> None:
        d = self.store.get("deployments", ns, name)
        if d is None:
            return
        rs_list = self._replicasets_for(d)
        if d["metadata"].get("deletionTimestamp"):
            new_rs, old_rss = self._get_all_replicasets(d, rs_list, False)
            self._sync_status_only(d, new_rs, old_rss)
            return
        d = self._check_paused_conditions(d)
        if d["spec"].get("paused"):
            self._sync(d, rs_list)
            return
        if self._is_scaling_event(d, rs_list):
            self._sync(d, rs_list)
            return
        if d["spec"].get("strategy", {}).get("type") == "Recreate":
            self._rollout_recreate(d, rs_list)
        else:
            self._rollout_rolling(d, rs_list)

    def _find_new_rs(self, d: dict[str, Any], rs_list: list[dict[str, Any]]) -> dict[str, Any] | None:
        for rs in sorted(rs_list, key=_created):
            if equal_ignore_hash(rs["spec"]["template"], d["spec"]["template"]):
                return rs
        return None

    def _get_all_replicasets(
        self, d: dict[str, Any], rs_list: list[dict[str, Any]], create: bool
    ) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        existing_new = self._find_new_rs(d, rs_list)
        old = [rs for rs in rs_list if existing_new is None or rs["metadata"]["uid"] != existing_new["metadata"]["uid"]]
        new_rs = self._get_new_replicaset(d, rs_list, old, existing_new, create)
        return new_rs, old

    def _set_new_rs_annotations(self, d: dict[str, Any], rs: dict[str, Any], new_revision: int, exists: bool) -> bool:
        annotations = rs["metadata"].setdefault("annotations", {})
        changed = False
        for key, value in (d["metadata"].get("annotations") or {}).items():
            if key in ANNOTATIONS_TO_SKIP or annotations.get(key) == value:
                continue
            annotations[key] = value
            changed = True
        old_revision_text = annotations.get(REVISION)
        old_revision = int(old_revision_text) if old_revision_text and old_revision_text.isdigit() else 0
        if old_revision < new_revision:
            annotations[REVISION] = str(new_revision)
            changed = True
        if old_revision_text is not None and old_revision < new_revision:
            history = annotations.get(REVISION_HISTORY, "")
            old_revisions = history.split(",") if history else []
            total = len(history) + len(old_revision_text) + 1
            start = 0
            while total > MAX_REV_HISTORY_CHARS and start < len(old_revisions):
                total -= len(old_revisions[start]) + 1
                start += 1
            annotations[REVISION_HISTORY] = ",".join(old_revisions[start:] + [old_revision_text])
        if not exists and self._set_replicas_annotations(rs, d["spec"]["replicas"], d["spec"]["replicas"] + max_surge(d)):
            changed = True
        return changed

    @staticmethod
    def _set_replicas_annotations(rs: dict[str, Any], desired: int, max_replicas: int) -> bool:
        annotations = rs["metadata"].setdefault("annotations", {})
        changed = False
        if annotations.get(DESIRED_REPLICAS) != str(desired):
            annotations[DESIRED_REPLICAS] = str(desired)
            changed = True
        if annotations.get(MAX_REPLICAS) != str(max_replicas):
            annotations[MAX_REPLICAS] = str(max_replicas)
            changed = True
        return changed

    def _get_new_replicaset(
        self,
        d: dict[str, Any],
        rs_list: list[dict[str, Any]],
        old_rss: list[dict[str, Any]],
        existing_new: dict[str, Any] | None,
        create: bool,
    ) -> dict[str, Any] | None:
        max_old = max((revision_of(rs) for rs in old_rss), default=0)
        new_revision = max_old + 1
        ns = d["metadata"]["namespace"]
        if existing_new is not None:
            rs_copy = copy.deepcopy(existing_new)
            updated = self._set_new_rs_annotations(d, rs_copy, new_revision, True)
            min_ready = d["spec"].get("minReadySeconds", 0)
            if updated or rs_copy["spec"].get("minReadySeconds", 0) != min_ready:
                if min_ready:
                    rs_copy["spec"]["minReadySeconds"] = min_ready
                else:
                    rs_copy["spec"].pop("minReadySeconds", None)
                return self.store.update("replicasets", rs_copy)
            needs_update = False
            annotations = d["metadata"].setdefault("annotations", {})
            if annotations.get(REVISION) != rs_copy["metadata"]["annotations"].get(REVISION):
                annotations[REVISION] = rs_copy["metadata"]["annotations"][REVISION]
                needs_update = True
            if needs_update:
                # The revision annotation lives in metadata: an update of the main resource.
                self.store.update("deployments", d)
                self._mark(("deployments", ns, d["metadata"]["name"]))
                return rs_copy
            cond = self._condition(d, "Progressing")
            if self._has_progress_deadline(d) and cond is None:
                self._set_condition(d["status"], "Progressing", "True", "FoundNewReplicaSet", f'Found new replica set "{rs_copy["metadata"]["name"]}"')
                self.store.update("deployments", d, subresource="status")
                self._mark(("deployments", ns, d["metadata"]["name"]))
            return rs_copy
        if not create:
            return None
        template = copy.deepcopy(d["spec"]["template"])
        template["metadata"].pop("creationTimestamp", None)
        pod_hash = template_hash(template, d.get("status", {}).get("collisionCount"))
        template["metadata"]["labels"] = {**(template["metadata"].get("labels") or {}), HASH_LABEL: pod_hash}
        selector = copy.deepcopy(d["spec"]["selector"])
        selector.setdefault("matchLabels", {})[HASH_LABEL] = pod_hash
        new_rs: dict[str, Any] = {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {
                "name": f'{d["metadata"]["name"]}-{pod_hash}',
                "namespace": ns,
                "labels": dict(template["metadata"]["labels"]),
                "ownerReferences": [controller_ref(d)],
            },
            "spec": {"replicas": 0, "selector": selector, "template": template},
        }
        if d["spec"].get("minReadySeconds"):
            new_rs["spec"]["minReadySeconds"] = d["spec"]["minReadySeconds"]
        new_rs["spec"]["replicas"] = self._new_rs_new_replicas(d, old_rss + [new_rs], new_rs)
        self._set_new_rs_annotations(d, new_rs, new_revision, False)
        try:
            created = self.store.create("replicasets", new_rs, namespace=ns)
        except errors.ApiError as err:
            if err.reason != "AlreadyExists":
                raise
            # A hash collision with a different template: bump collisionCount and retry next round.
            existing = self.store.get_ref("replicasets", ns, new_rs["metadata"]["name"])
            if existing is not None and not equal_ignore_hash(existing["spec"]["template"], d["spec"]["template"]):
                d.setdefault("status", {})["collisionCount"] = d["status"].get("collisionCount", 0) + 1
                self.store.update("deployments", d, subresource="status")
            self._mark(("deployments", ns, d["metadata"]["name"]))
            return None
        if new_rs["spec"]["replicas"] > 0:
            self.record(d, "Normal", "ScalingReplicaSet",
                        f'Scaled up replica set {created["metadata"]["name"]} from 0 to {new_rs["spec"]["replicas"]}',
                        "deployment-controller")
        annotations = d["metadata"].setdefault("annotations", {})
        if annotations.get(REVISION) != str(new_revision):
            annotations[REVISION] = str(new_revision)
            d = self.store.update("deployments", d)
        if self._has_progress_deadline(d):
            self._set_condition(d.setdefault("status", {}), "Progressing", "True", "NewReplicaSetCreated",
                                f'Created new replica set "{created["metadata"]["name"]}"')
            self.store.update("deployments", d, subresource="status")
        self._mark(("deployments", ns, d["metadata"]["name"]))
        return created

    def _mark(self, key: tuple[str, str, str]) -> None:
        with self._lock:
            self._dirty.add(key)

    @staticmethod
    def _has_progress_deadline(d: dict[str, Any]) -> bool:
        value = d["spec"].get("progressDeadlineSeconds")
        return value is not None and value != 2147483647

    @staticmethod
    def _condition(d: dict[str, Any], type_: str) -> dict[str, Any] | None:
        for cond in d.get("status", {}).get("conditions") or []:
            if cond["type"] == type_:
                return cond
        return None

    def _set_condition(self, status: dict[str, Any], type_: str, value: str, reason: str, message: str) -> None:
        now = rfc3339(self.clock.now())
        conditions = status.setdefault("conditions", [])
        current = next((c for c in conditions if c["type"] == type_), None)
        if current is not None and current["status"] == value and current["reason"] == reason:
            return
        transition = current["lastTransitionTime"] if current is not None and current["status"] == value else now
        status["conditions"] = [c for c in conditions if c["type"] != type_] + [
            {
                "type": type_,
                "status": value,
                "lastUpdateTime": now,
                "lastTransitionTime": transition,
                "reason": reason,
                "message": message,
            }
        ]

    def _check_paused_conditions(self, d: dict[str, Any]) -> dict[str, Any]:
        if not self._has_progress_deadline(d):
            return d
        cond = self._condition(d, "Progressing")
        if cond is not None and cond["reason"] == "ProgressDeadlineExceeded":
            return d
        paused_exists = cond is not None and cond["reason"] == "DeploymentPaused"
        status = d.setdefault("status", {})
        if d["spec"].get("paused") and not paused_exists:
            self._set_condition(status, "Progressing", "Unknown", "DeploymentPaused", "Deployment is paused")
        elif not d["spec"].get("paused") and paused_exists:
            self._set_condition(status, "Progressing", "Unknown", "DeploymentResumed", "Deployment is resumed")
        else:
            return d
        return self.store.update("deployments", d, subresource="status")

    def _is_scaling_event(self, d: dict[str, Any], rs_list: list[dict[str, Any]]) -> bool:
        new_rs, old_rss = self._get_all_replicasets(d, rs_list, False)
        for rs in [r for r in old_rss + [new_rs] if r is not None and _replicas(r) > 0]:
            desired = (rs["metadata"].get("annotations") or {}).get(DESIRED_REPLICAS)
            if desired is None or not desired.isdigit():
                continue
            if int(desired) != d["spec"]["replicas"]:
                return True
        return False

    def _sync(self, d: dict[str, Any], rs_list: list[dict[str, Any]]) -> None:
        new_rs, old_rss = self._get_all_replicasets(d, rs_list, False)
        self._scale(d, new_rs, old_rss)
        if d["spec"].get("paused"):
            self._cleanup(d, old_rss)
        self._sync_deployment_status(d, new_rs, old_rss)

    def _scale(self, d: dict[str, Any], new_rs: dict[str, Any] | None, old_rss: list[dict[str, Any]]) -> None:
        desired = d["spec"]["replicas"]
        active_or_latest = self._find_active_or_latest(new_rs, old_rss)
        if active_or_latest is not None:
            if _replicas(active_or_latest) != desired:
                self._scale_rs(active_or_latest, desired, d)
            return
        if self._is_saturated(d, new_rs):
            for old in [rs for rs in old_rss if _replicas(rs) > 0]:
                self._scale_rs(old, 0, d)
            return
        if not is_rolling(d):
            return
        all_rss = [rs for rs in old_rss + [new_rs] if rs is not None and _replicas(rs) > 0]
        total = sum(_replicas(rs) for rs in all_rss)
        allowed = desired + max_surge(d) if desired > 0 else 0
        to_add = allowed - total
        if to_add > 0:
            all_rss.sort(key=lambda rs: (-_replicas(rs), tuple(-ord(c) for c in _created(rs)[0])))
        elif to_add < 0:
            all_rss.sort(key=lambda rs: (-_replicas(rs), _created(rs)))
        added = 0
        sizes: dict[str, int] = {}
        for rs in all_rss:
            if to_add != 0:
                proportion = self._proportion(rs, d, to_add, added)
                sizes[rs["metadata"]["name"]] = _replicas(rs) + proportion
                added += proportion
            else:
                sizes[rs["metadata"]["name"]] = _replicas(rs)
        for i, rs in enumerate(all_rss):
            name = rs["metadata"]["name"]
            if i == 0 and to_add != 0:
                sizes[name] = max(sizes[name] + to_add - added, 0)
            self._scale_rs(rs, sizes[name], d)

    def _proportion(self, rs: dict[str, Any], d: dict[str, Any], to_add: int, added: int) -> int:
        if _replicas(rs) == 0 or to_add == 0 or to_add == added:
            return 0
        desired = d["spec"]["replicas"]
        if desired == 0:
            fraction = -_replicas(rs)
        else:
            max_now = desired + max_surge(d)
            annotated = (rs["metadata"].get("annotations") or {}).get(MAX_REPLICAS, "")
            before = int(annotated) if annotated.isdigit() else 0
            if before == 0:
                before = d.get("status", {}).get("replicas", 0) or 1
            fraction = int(round(_replicas(rs) * max_now / before + 1e-9)) - _replicas(rs)
        allowed = to_add - added
        return min(fraction, allowed) if to_add > 0 else max(fraction, allowed)

    @staticmethod
    def _find_active_or_latest(new_rs: dict[str, Any] | None, old_rss: list[dict[str, Any]]) -> dict[str, Any] | None:
        if new_rs is None and not old_rss:
            return None
        olds = sorted(old_rss, key=_created, reverse=True)
        active = [rs for rs in olds + ([new_rs] if new_rs is not None else []) if _replicas(rs) > 0]
        if not active:
            return new_rs if new_rs is not None else olds[0]
        if len(active) == 1:
            return active[0]
        return None

    @staticmethod
    def _is_saturated(d: dict[str, Any], rs: dict[str, Any] | None) -> bool:
        if rs is None:
            return False
        desired = (rs["metadata"].get("annotations") or {}).get(DESIRED_REPLICAS, "")
        if not desired.isdigit():
            return False
        replicas = d["spec"]["replicas"]
        return _replicas(rs) == replicas and int(desired) == replicas and _status(rs, "availableReplicas") == replicas

    def _scale_rs(self, rs: dict[str, Any], new_scale: int, d: dict[str, Any]) -> bool:
        old_scale = _replicas(rs)
        rs_copy = copy.deepcopy(rs)
        rs_copy["spec"]["replicas"] = new_scale
        annotations_changed = self._set_replicas_annotations(rs_copy, d["spec"]["replicas"], d["spec"]["replicas"] + max_surge(d))
        if old_scale == new_scale and not annotations_changed:
            return False
        updated = self.store.update("replicasets", rs_copy)
        rs.clear()
        rs.update(updated)
        if old_scale != new_scale:
            verb = "up" if old_scale < new_scale else "down"
            self.record(d, "Normal", "ScalingReplicaSet",
                        f'Scaled {verb} replica set {rs["metadata"]["name"]} from {old_scale} to {new_scale}',
                        "deployment-controller")
            return True
        return False

    def _new_rs_new_replicas(self, d: dict[str, Any], all_rss: list[dict[str, Any]], new_rs: dict[str, Any]) -> int:
        desired = d["spec"]["replicas"]
        if not is_rolling(d):
            return desired
        current = sum(_replicas(rs) for rs in all_rss)
        max_total = desired + max_surge(d)
        if current >= max_total:
            return _replicas(new_rs)
        scale_up = min(max_total - current, desired - _replicas(new_rs))
        return _replicas(new_rs) + scale_up

    def _rollout_rolling(self, d: dict[str, Any], rs_list: list[dict[str, Any]]) -> None:
        new_rs, old_rss = self._get_all_replicasets(d, rs_list, True)
        if new_rs is None:
            return
        d = self.store.get("deployments", d["metadata"]["namespace"], d["metadata"]["name"]) or d
        all_rss = old_rss + [new_rs]
        if self._reconcile_new_rs(d, all_rss, new_rs):
            self._sync_rollout_status(d, new_rs, old_rss)
            return
        if self._reconcile_old_rss(d, all_rss, [rs for rs in old_rss if _replicas(rs) > 0], new_rs):
            self._sync_rollout_status(d, new_rs, old_rss)
            return
        if self._deployment_complete(d, d.get("status", {})):
            self._cleanup(d, old_rss)
        self._sync_rollout_status(d, new_rs, old_rss)

    def _rollout_recreate(self, d: dict[str, Any], rs_list: list[dict[str, Any]]) -> None:
        new_rs, old_rss = self._get_all_replicasets(d, rs_list, False)
        scaled_down = False
        for rs in old_rss:
            if _replicas(rs) > 0:
                scaled_down |= self._scale_rs(rs, 0, d)
        if scaled_down:
            self._sync_rollout_status(d, new_rs, old_rss)
            return
        ns = d["metadata"]["namespace"]
        old_uids = {rs["metadata"]["uid"] for rs in old_rss}
        for pod in self.store.list_refs("pods", ns)[0]:
            owner = controller_of(pod)
            if owner and owner.get("uid") in old_uids and pod.get("status", {}).get("phase") not in ("Succeeded", "Failed"):
                self._sync_rollout_status(d, new_rs, old_rss)
                return
        if new_rs is None:
            new_rs, old_rss = self._get_all_replicasets(d, self._replicasets_for(d), True)
            if new_rs is None:
                return
            d = self.store.get("deployments", ns, d["metadata"]["name"]) or d
        if _replicas(new_rs) != d["spec"]["replicas"]:
            self._scale_rs(new_rs, d["spec"]["replicas"], d)
        if self._deployment_complete(d, d.get("status", {})):
            self._cleanup(d, old_rss)
        self._sync_rollout_status(d, new_rs, old_rss)

    def _reconcile_new_rs(self, d: dict[str, Any], all_rss: list[dict[str, Any]], new_rs: dict[str, Any]) -> bool:
        desired = d["spec"]["replicas"]
        if _replicas(new_rs) == desired:
            return False
        if _replicas(new_rs) > desired:
            return self._scale_rs(new_rs, desired, d)
        return self._scale_rs(new_rs, self._new_rs_new_replicas(d, all_rss, new_rs), d)

    def _reconcile_old_rss(
        self, d: dict[str, Any], all_rss: list[dict[str, Any]], old_rss: list[dict[str, Any]], new_rs: dict[str, Any]
    ) -> bool:
        old_pods = sum(_replicas(rs) for rs in old_rss)
        if old_pods == 0:
            return False
        all_pods = sum(_replicas(rs) for rs in all_rss)
        min_available = d["spec"]["replicas"] - max_unavailable(d)
        new_unavailable = _replicas(new_rs) - _status(new_rs, "availableReplicas")
        max_scaled_down = all_pods - min_available - new_unavailable
        if max_scaled_down <= 0:
            return False
        # Clean up unhealthy replicas first, otherwise they would block the rollout.
        cleaned = 0
        for rs in sorted(old_rss, key=_created):
            if cleaned >= max_scaled_down:
                break
            if _replicas(rs) == 0 or _replicas(rs) == _status(rs, "availableReplicas"):
                continue
            count = min(max_scaled_down - cleaned, _replicas(rs) - _status(rs, "availableReplicas"))
            self._scale_rs(rs, _replicas(rs) - count, d)
            cleaned += count
        # Then scale down healthy ones while staying above minAvailable.
        available = sum(_status(rs, "availableReplicas") for rs in old_rss + [new_rs])
        scaled = 0
        if available > min_available:
            budget = available - min_available
            for rs in sorted(old_rss, key=_created):
                if scaled >= budget:
                    break
                if _replicas(rs) == 0:
                    continue
                count = min(_replicas(rs), budget - scaled)
                self._scale_rs(rs, _replicas(rs) - count, d)
                scaled += count
        return cleaned + scaled > 0

    def _cleanup(self, d: dict[str, Any], old_rss: list[dict[str, Any]]) -> None:
        limit = d["spec"].get("revisionHistoryLimit")
        if limit is None:
            return
        cleanable = [
            rs
            for rs in old_rss
            if rs is not None
            and _replicas(rs) == 0
            and _status(rs, "replicas") == 0
            and rs["metadata"].get("generation", 0) <= rs.get("status", {}).get("observedGeneration", 0)
            and not rs["metadata"].get("deletionTimestamp")
        ]
        excess = len(cleanable) - limit
        if excess <= 0:
            return
        cleanable.sort(key=lambda rs: (revision_of(rs), _created(rs)))
        for rs in cleanable[:excess]:
            try:
                self.store.delete("replicasets", rs["metadata"]["namespace"], rs["metadata"]["name"],
                                  options={"preconditions": {"uid": rs["metadata"]["uid"]}})
            except errors.ApiError:
                pass

    def _calculate_status(self, d: dict[str, Any], new_rs: dict[str, Any] | None, old_rss: list[dict[str, Any]]) -> dict[str, Any]:
        all_rss = [rs for rs in old_rss + [new_rs] if rs is not None]
        available = sum(_status(rs, "availableReplicas") for rs in all_rss)
        total = sum(_replicas(rs) for rs in all_rss)
        status: dict[str, Any] = {
            "observedGeneration": d["metadata"].get("generation", 1),
            "replicas": sum(_status(rs, "replicas") for rs in all_rss),
            "updatedReplicas": _status(new_rs, "replicas"),
            "readyReplicas": sum(_status(rs, "readyReplicas") for rs in all_rss),
            "availableReplicas": available,
            "unavailableReplicas": max(total - available, 0),
        }
        previous = d.get("status", {})
        if previous.get("collisionCount"):
            status["collisionCount"] = previous["collisionCount"]
        status["conditions"] = copy.deepcopy(previous.get("conditions") or [])
        if available >= d["spec"]["replicas"] - max_unavailable(d):
            self._set_condition(status, "Available", "True", "MinimumReplicasAvailable", "Deployment has minimum availability.")
        else:
            self._set_condition(status, "Available", "False", "MinimumReplicasUnavailable", "Deployment does not have minimum availability.")
        return status

    def _write_status(self, d: dict[str, Any], status: dict[str, Any]) -> None:
        clean = {k: v for k, v in status.items() if v not in (0, None, [])}
        if "observedGeneration" in status:
            clean["observedGeneration"] = status["observedGeneration"]
        ordered_status = {k: clean[k] for k in (
            "observedGeneration", "replicas", "updatedReplicas", "readyReplicas", "availableReplicas",
            "unavailableReplicas", "conditions", "collisionCount") if k in clean}
        if ordered_status == d.get("status"):
            return
        d["status"] = ordered_status
        self.store.update("deployments", d, subresource="status")

    def _sync_deployment_status(self, d: dict[str, Any], new_rs: dict[str, Any] | None, old_rss: list[dict[str, Any]]) -> None:
        self._write_status(d, self._calculate_status(d, new_rs, old_rss))

    def _sync_status_only(self, d: dict[str, Any], new_rs: dict[str, Any] | None, old_rss: list[dict[str, Any]]) -> None:
        self._sync_deployment_status(d, new_rs, old_rss)

    @staticmethod
    def _deployment_complete(d: dict[str, Any], status: dict[str, Any]) -> bool:
        replicas = d["spec"]["replicas"]
        return (
            status.get("updatedReplicas", 0) == replicas
            and status.get("replicas", 0) == replicas
            and status.get("availableReplicas", 0) == replicas
            and status.get("observedGeneration", 0) >= d["metadata"].get("generation", 1)
        )

    def _sync_rollout_status(self, d: dict[str, Any], new_rs: dict[str, Any] | None, old_rss: list[dict[str, Any]]) -> None:
        ns, name = d["metadata"]["namespace"], d["metadata"]["name"]
        # Re-read the replica sets: scaling above changed them.
        fresh = {rs["metadata"]["uid"]: rs for rs in self._replicasets_for(d)}
        if new_rs is not None:
            new_rs = fresh.get(new_rs["metadata"]["uid"], new_rs)
        old_rss = [fresh.get(rs["metadata"]["uid"], rs) for rs in old_rss]
        new_status = self._calculate_status(d, new_rs, old_rss)
        if not self._has_progress_deadline(d):
            new_status["conditions"] = [c for c in new_status["conditions"] if c["type"] != "Progressing"]
        current = self._condition(d, "Progressing")
        old_status = d.get("status", {})
        is_complete = (
            new_status["replicas"] == new_status["updatedReplicas"]
            and current is not None
            and current["reason"] == "NewReplicaSetAvailable"
        )
        rs_name = new_rs["metadata"]["name"] if new_rs is not None else None
        if self._has_progress_deadline(d) and not is_complete:
            old_old = old_status.get("replicas", 0) - old_status.get("updatedReplicas", 0)
            new_old = new_status["replicas"] - new_status["updatedReplicas"]
            progressing = (
                new_status["updatedReplicas"] > old_status.get("updatedReplicas", 0)
                or new_old < old_old
                or new_status["readyReplicas"] > old_status.get("readyReplicas", 0)
                or new_status["availableReplicas"] > old_status.get("availableReplicas", 0)
            )
            if self._deployment_complete(d, new_status):
                message = f'ReplicaSet "{rs_name}" has successfully progressed.' if rs_name else f'Deployment "{name}" has successfully progressed.'
                self._set_condition(new_status, "Progressing", "True", "NewReplicaSetAvailable", message)
            elif progressing:
                message = f'ReplicaSet "{rs_name}" is progressing.' if rs_name else f'Deployment "{name}" is progressing.'
                now = rfc3339(self.clock.now())
                condition = {
                    "type": "Progressing",
                    "status": "True",
                    "lastUpdateTime": now,
                    "lastTransitionTime": now,
                    "reason": "ReplicaSetUpdated",
                    "message": message,
                }
                if current is not None and current["status"] == "True":
                    condition["lastTransitionTime"] = current["lastTransitionTime"]
                new_status["conditions"] = [c for c in new_status["conditions"] if c["type"] != "Progressing"] + [condition]
            elif self._timed_out(d, new_status):
                message = f'ReplicaSet "{rs_name}" has timed out progressing.' if rs_name else f'Deployment "{name}" has timed out progressing.'
                self._set_condition(new_status, "Progressing", "False", "ProgressDeadlineExceeded", message)
        # Wake up again when the progress deadline would pass.
        cond = next((c for c in new_status["conditions"] if c["type"] == "Progressing"), None)
        if cond is not None and cond["reason"] not in ("NewReplicaSetAvailable", "ProgressDeadlineExceeded") and self._has_progress_deadline(d):
            deadline = parse_rfc3339(cond["lastUpdateTime"]) + d["spec"]["progressDeadlineSeconds"] + 1
            self._wake(("deployments", ns, name), deadline)
        self._write_status(d, new_status)

    def _timed_out(self, d: dict[str, Any], status: dict[str, Any]) -> bool:
        cond = next((c for c in status.get("conditions") or [] if c["type"] == "Progressing"), None)
        if cond is None or cond["reason"] == "NewReplicaSetAvailable":
            return False
        if cond["reason"] == "ProgressDeadlineExceeded":
            return True
        started = parse_rfc3339(cond["lastUpdateTime"])
        return started + d["spec"]["progressDeadlineSeconds"] < self.clock.now()

    # --- replica set controller -----------------------------------------------------------------------------

    def _pods_of(self, rs: dict[str, Any]) -> list[dict[str, Any]]:
        uid = rs["metadata"]["uid"]
        return [
            p for p in self.store.list_refs("pods", rs["metadata"]["namespace"])[0]
            if (controller_of(p) or {}).get("uid") == uid
        ]

    def sync_replicaset(self, ns: str, name: str) -> None:
        rs = self.store.get("replicasets", ns, name)
        if rs is None:
            return
        owner = controller_of(rs)
        if owner is not None and owner.get("kind") == "Deployment":
            parent = self.store.get_ref("deployments", ns, owner["name"])
            if parent is None or parent["metadata"]["uid"] != owner.get("uid"):
                self.collect_garbage(ns)
                return
        pods = self._pods_of(rs)
        active = [p for p in pods if pod_is_active(p)]
        desired = _replicas(rs) if not rs["metadata"].get("deletionTimestamp") else len(active)
        diff = len(active) - desired
        if diff < 0:
            for _ in range(-diff):
                self._create_pod(rs)
        elif diff > 0:
            for pod in sorted(active, key=self._deletion_rank)[:diff]:
                try:
                    self.store.delete("pods", ns, pod["metadata"]["name"])
                    self.record(rs, "Normal", "SuccessfulDelete", f'Deleted pod: {pod["metadata"]["name"]}', "replicaset-controller")
                except errors.ApiError:
                    pass
        pods = [p for p in self._pods_of(rs) if pod_is_active(p)]
        now = self.clock.now()
        min_ready = rs["spec"].get("minReadySeconds", 0)
        template_labels = (rs["spec"]["template"]["metadata"].get("labels")) or {}
        ready = [p for p in pods if pod_is_ready(p)]
        available = 0
        for pod in ready:
            since = pod_ready_since(pod) or 0.0
            if min_ready == 0 or since + min_ready <= now:
                available += 1
            else:
                self._wake(("replicasets", ns, name), since + min_ready)
        status: dict[str, Any] = {"replicas": len(pods)}
        labeled = sum(1 for p in pods if all((p["metadata"].get("labels") or {}).get(k) == v for k, v in template_labels.items()))
        for key, value in (("fullyLabeledReplicas", labeled), ("readyReplicas", len(ready)), ("availableReplicas", available)):
            if value:
                status[key] = value
        status["observedGeneration"] = rs["metadata"].get("generation", 1)
        conditions = rs.get("status", {}).get("conditions")
        if conditions:
            status["conditions"] = conditions
        if status != rs.get("status"):
            rs["status"] = status
            self.store.update("replicasets", rs, subresource="status")

    @staticmethod
    def _deletion_rank(pod: dict[str, Any]) -> tuple[Any, ...]:
        phase_rank = {"Pending": 0, "Unknown": 1, "Running": 2}.get(pod.get("status", {}).get("phase", "Pending"), 0)
        ready_since = pod_ready_since(pod)
        restarts = sum(c.get("restartCount", 0) for c in pod.get("status", {}).get("containerStatuses") or [])
        created = parse_rfc3339(pod["metadata"]["creationTimestamp"])
        return (
            1 if pod.get("spec", {}).get("nodeName") else 0,
            phase_rank,
            1 if ready_since is not None else 0,
            -(ready_since or 0.0),
            -restarts,
            -created,
        )

    def _create_pod(self, rs: dict[str, Any]) -> None:
        template = copy.deepcopy(rs["spec"]["template"])
        meta = template.get("metadata") or {}
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "generateName": rs["metadata"]["name"] + "-",
                "namespace": rs["metadata"]["namespace"],
                "labels": meta.get("labels") or {},
                "annotations": meta.get("annotations") or {},
                "ownerReferences": [controller_ref(rs)],
            },
            "spec": template["spec"],
        }
        created = self.store.create("pods", pod, namespace=rs["metadata"]["namespace"])
        self.pod_created[created["metadata"]["uid"]] = self.clock.now()
        self.record(rs, "Normal", "SuccessfulCreate", f'Created pod: {created["metadata"]["name"]}', "replicaset-controller")

    # --- scheduler and kubelet ----------------------------------------------------------------------------------

    def created_at(self, pod: dict[str, Any]) -> float:
        uid = pod["metadata"]["uid"]
        if uid not in self.pod_created:
            self.pod_created[uid] = parse_rfc3339(pod["metadata"]["creationTimestamp"])
        return self.pod_created[uid]

    def container_started_at(self, pod: dict[str, Any]) -> float:
        return self.created_at(pod) + self.timing.pod_schedule_seconds + self.timing.pod_start_seconds

    def sync_pod(self, ns: str, name: str) -> None:
        pod = self.store.get("pods", ns, name)
        if pod is None:
            return
        now = self.clock.now()
        uid = pod["metadata"]["uid"]
        owner = controller_of(pod)
        if owner is not None and owner.get("kind") == "ReplicaSet":
            parent = self.store.get_ref("replicasets", ns, owner["name"])
            if (parent is None or parent["metadata"]["uid"] != owner.get("uid")) and not pod["metadata"].get("deletionTimestamp"):
                self.collect_garbage(ns)
                return
        if pod["metadata"].get("deletionTimestamp"):
            since = self._deleting_since.setdefault(uid, now)
            grace = pod["metadata"].get("deletionGracePeriodSeconds", 30)
            gone_at = since + min(self.timing.pod_terminate_seconds, grace)
            if now >= gone_at and not pod["metadata"].get("finalizers"):
                self.store.remove("pods", ns, name)
                self._deleting_since.pop(uid, None)
                self.pod_created.pop(uid, None)
            else:
                self._wake(("pods", ns, name), gone_at)
            return
        created = self.created_at(pod)
        if not pod["spec"].get("nodeName"):
            scheduled_at = created + self.timing.pod_schedule_seconds
            if now < scheduled_at:
                self._wake(("pods", ns, name), scheduled_at)
                return

            def bind(obj: dict[str, Any]) -> None:
                obj["spec"]["nodeName"] = NODE_NAME

            with self.store.lock:
                current = self.store.get("pods", ns, name)
                if current is None:
                    return
                bind(current)
                current["status"]["conditions"] = [
                    {"type": "PodScheduled", "status": "True", "lastProbeTime": None, "lastTransitionTime": rfc3339(scheduled_at)}
                ]
                self._direct_write("pods", current)
            self.record(current, "Normal", "Scheduled", f"Successfully assigned {ns}/{name} to {NODE_NAME}", "default-scheduler")
            return
        status, next_change = self.pod_status(pod, now)
        if next_change is not None:
            self._wake(("pods", ns, name), next_change)
        if status != pod.get("status"):
            previous = pod.get("status", {})
            pod["status"] = status
            stored = self.store.update("pods", pod, subresource="status")
            self._kubelet_events(stored, previous, status)

    def _direct_write(self, resource: str, obj: dict[str, Any]) -> None:
        """A write that bypasses update validation (binding a pod is its own subresource in Kubernetes)."""
        obj["metadata"].pop("resourceVersion", None)
        self.store.seed(resource, obj)

    def _kubelet_events(self, pod: dict[str, Any], before: dict[str, Any], after: dict[str, Any]) -> None:
        old = {c["name"]: c for c in before.get("containerStatuses") or []}
        for c in after.get("containerStatuses") or []:
            prev = old.get(c["name"])
            was_running = prev is not None and "running" in prev.get("state", {})
            if "running" in c.get("state", {}) and not was_running:
                self.record(pod, "Normal", "Pulled", f'Container image "{c["image"]}" already present on machine', "kubelet")
                self.record(pod, "Normal", "Created", f"Created container: {c['name']}", "kubelet")
                self.record(pod, "Normal", "Started", f"Started container {c['name']}", "kubelet")
            waiting = c.get("state", {}).get("waiting", {})
            if waiting.get("reason") == "CrashLoopBackOff" and (prev is None or prev.get("restartCount") != c.get("restartCount")):
                self.record(pod, "Warning", "BackOff",
                            f"Back-off restarting failed container {c['name']} in pod {pod['metadata']['name']}_{pod['metadata']['namespace']}({pod['metadata']['uid']})",
                            "kubelet")

    def pod_status(self, pod: dict[str, Any], now: float) -> tuple[dict[str, Any], float | None]:
        """The status the kubelet would report at ``now``, and when it will next change."""
        timing = self.timing
        created = self.created_at(pod)
        scheduled_at = created + timing.pod_schedule_seconds
        started_at = scheduled_at + timing.pod_start_seconds
        uid = pod["metadata"]["uid"]
        statuses = []
        next_change: float | None = None
        all_ready = True
        any_running = False
        ready_since = 0.0
        for container in pod["spec"]["containers"]:
            timeline = container_timeline(container["name"], container["image"], started_at, now, timing)
            if timeline.next_change is not None:
                next_change = timeline.next_change if next_change is None else min(next_change, timeline.next_change)
            entry: dict[str, Any] = {"name": container["name"]}
            if timeline.current is not None:
                any_running = True
                entry["state"] = {"running": {"startedAt": rfc3339(timeline.current.started)}}
                entry["containerID"] = container_id(uid, container["name"], timeline.current.index)
            elif timeline.waiting_reason == "ContainerCreating":
                entry["state"] = {"waiting": {"reason": "ContainerCreating"}}
            else:
                entry["state"] = {
                    "waiting": {
                        "reason": "CrashLoopBackOff",
                        "message": (
                            f"back-off {_go_duration(timeline.backoff_seconds)} restarting failed container="
                            f"{container['name']} pod={pod['metadata']['name']}_{pod['metadata']['namespace']}({uid})"
                        ),
                    }
                }
            last = timeline.last_terminated
            entry["lastState"] = (
                {
                    "terminated": {
                        "exitCode": last.exit_code,
                        "reason": "Error",
                        "startedAt": rfc3339(last.started),
                        "finishedAt": rfc3339(last.finished or last.started),
                        "containerID": container_id(uid, container["name"], last.index),
                    }
                }
                if last is not None
                else {}
            )
            entry["ready"] = timeline.ready_since is not None
            entry["restartCount"] = timeline.restart_count
            entry["image"] = container["image"]
            entry["imageID"] = image_id(container["image"]) if (timeline.current or last) else ""
            if timeline.current is not None or last is not None:
                entry["started"] = timeline.current is not None
            if timeline.current is None and last is None:
                entry.pop("containerID", None)
                entry["started"] = False
            if timeline.ready_since is None:
                all_ready = False
            else:
                ready_since = max(ready_since, timeline.ready_since)
            statuses.append(_order(entry, ("name", "state", "lastState", "ready", "restartCount", "image", "imageID", "containerID", "started")))
        not_ready = [c["name"] for c in statuses if not c["ready"]]

        def cond(type_: str, ok: bool, at: float, reason: str = "", message: str = "") -> dict[str, Any]:
            out: dict[str, Any] = {"type": type_, "status": "True" if ok else "False", "lastProbeTime": None,
                                   "lastTransitionTime": rfc3339(at)}
            if not ok and reason:
                out["reason"] = reason
                out["message"] = message
            return out

        ready_at = ready_since if all_ready else now
        previous_conditions = {c["type"]: c for c in pod.get("status", {}).get("conditions") or []}

        def keep_transition(c: dict[str, Any]) -> dict[str, Any]:
            prev = previous_conditions.get(c["type"])
            if prev is not None and prev.get("status") == c["status"]:
                c["lastTransitionTime"] = prev["lastTransitionTime"]
            return {k: v for k, v in c.items() if v is not None}

        message = f"containers with unready status: [{' '.join(not_ready)}]"
        conditions = [
            cond("PodReadyToStartContainers", now >= started_at, started_at if now >= started_at else scheduled_at),
            cond("Initialized", True, scheduled_at),
            cond("Ready", all_ready, ready_at, "ContainersNotReady", message),
            cond("ContainersReady", all_ready, ready_at, "ContainersNotReady", message),
            cond("PodScheduled", True, scheduled_at),
        ]
        status: dict[str, Any] = {
            "observedGeneration": pod["metadata"].get("generation", 1),
            "phase": "Running" if any_running or any(c["lastState"] for c in statuses) else "Pending",
            "conditions": [keep_transition(c) for c in conditions],
            "hostIP": HOST_IP,
            "hostIPs": [{"ip": HOST_IP}],
        }
        if now >= started_at:
            status["podIP"] = pod_ip(uid)
            status["podIPs"] = [{"ip": pod_ip(uid)}]
        status["startTime"] = rfc3339(scheduled_at)
        status["containerStatuses"] = statuses
        status["qosClass"] = pod.get("status", {}).get("qosClass", "BestEffort")
        return status, next_change

    # --- garbage collector and namespace controller ------------------------------------------------------------

    def collect_garbage(self, ns: str) -> None:
        """Delete dependents whose controller owner is gone; orphan or finish foreground deletions."""
        for resource, owner_resource in (("replicasets", "deployments"), ("pods", "replicasets")):
            owners = {o["metadata"]["uid"]: o for o in self.store.list_refs(owner_resource, ns)[0]}
            for obj in self.store.list_refs(resource, ns)[0]:
                ref = controller_of(obj)
                if ref is None or obj["metadata"].get("deletionTimestamp"):
                    continue
                owner = owners.get(ref.get("uid"))
                if owner is None:
                    try:
                        self.store.delete(resource, ns, obj["metadata"]["name"], options={"propagationPolicy": "Background"})
                    except errors.ApiError:
                        pass
                elif "foregroundDeletion" in (owner["metadata"].get("finalizers") or []):
                    try:
                        self.store.delete(resource, ns, obj["metadata"]["name"], options={"propagationPolicy": "Foreground"})
                    except errors.ApiError:
                        pass
            for owner in owners.values():
                finalizers = owner["metadata"].get("finalizers") or []
                if not owner["metadata"].get("deletionTimestamp") or not finalizers:
                    continue
                dependents = [o for o in self.store.list_refs(resource, ns)[0] if (controller_of(o) or {}).get("uid") == owner["metadata"]["uid"]]
                remaining = list(finalizers)
                if "orphan" in remaining:
                    for dep in dependents:
                        def release(o: dict[str, Any], uid: str = owner["metadata"]["uid"]) -> None:
                            o["metadata"]["ownerReferences"] = [r for r in o["metadata"].get("ownerReferences") or [] if r.get("uid") != uid]

                        self.store.mutate(resource, ns, dep["metadata"]["name"], release)
                    remaining.remove("orphan")
                if "foregroundDeletion" in remaining and not dependents:
                    remaining.remove("foregroundDeletion")
                if remaining != finalizers:
                    self.store.mutate(owner_resource, ns, owner["metadata"]["name"],
                                      lambda o, r=remaining: o["metadata"].__setitem__("finalizers", r))
                elif "foregroundDeletion" in remaining:
                    with self._lock:
                        self._dirty.add(("gc", ns, ""))

    def sync_namespace(self, name: str) -> None:
        ns = self.store.get("namespaces", "", name)
        if ns is None or not ns["metadata"].get("deletionTimestamp"):
            return
        # The namespace controller first walks discovery; content goes a moment after the namespace turns Terminating.
        begins = parse_rfc3339(ns["metadata"]["deletionTimestamp"]) + NAMESPACE_CLEANUP_DELAY_SECONDS
        if self.clock.now() < begins:
            self._wake(("namespaces", "", name), begins)
            return
        remaining = 0
        namespaced = [rt.plural for rt in RESOURCE_TYPES.values() if rt.namespaced and rt.verbs != ("create",)]
        for resource in namespaced:
            for obj in self.store.list_refs(resource, name)[0]:
                remaining += 1
                if resource == "pods" and obj["metadata"].get("deletionTimestamp"):
                    continue
                try:
                    self.store.delete(resource, name, obj["metadata"]["name"], options={"gracePeriodSeconds": 0} if resource == "pods" else {})
                except errors.ApiError:
                    pass
        if remaining == 0:
            self.store.remove("namespaces", "", name)
        else:
            self._wake(("namespaces", "", name), self.clock.now() + 0.05)


def _order(entry: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    return {k: entry[k] for k in keys if k in entry}


def _go_duration(seconds: float) -> str:
    """``time.Duration.String()`` for whole and fractional seconds: 10s, 2m40s, 5m0s, 500ms."""
    if seconds < 1:
        return f"{int(round(seconds * 1000))}ms"
    if seconds < 60:
        text = f"{seconds:.3f}".rstrip("0").rstrip(".")
        return f"{text}s"
    minutes, rest = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes}m{rest}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes}m{rest}s"


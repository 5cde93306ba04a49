"""The Kubernetes objects the console reads, as typed, frozen records in the API's own shape.

The Kubernetes adapter decodes API answers straight into these (msgspec structs, field names in the API's
camelCase); nothing above the adapter sees a raw dict. Only the fields the console reads are declared; the
decoder skips the rest without building it. A pod template is the exception: a rollback sends a ReplicaSet's
template back to its Deployment unchanged, every field included, so ``PodTemplate`` keeps the whole document
beside the typed fields read from it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Generic, TypeVar

import msgspec

T = TypeVar("T")


class _ApiObject(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Base of every record here: immutable, keyword-built, camelCase on the wire."""


class OwnerReference(_ApiObject):
    kind: str = ""
    name: str = ""
    uid: str = ""
    controller: bool = False


class ObjectMeta(_ApiObject):
    name: str = ""
    namespace: str = ""
    uid: str = ""
    resource_version: str = ""
    generation: int = 0
    creation_timestamp: datetime | None = None
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}
    owner_references: tuple[OwnerReference, ...] = ()

    @property
    def controller_uid(self) -> str:
        """The uid of the owner with ``controller: true`` (how kubectl finds a Deployment's ReplicaSets)."""
        return next((owner.uid for owner in self.owner_references if owner.controller), "")

    @property
    def controller_name(self) -> str:
        return next((owner.name for owner in self.owner_references if owner.controller), "")


class EnvVar(_ApiObject):
    name: str = ""
    value: str = ""


class Container(_ApiObject):
    name: str = ""
    image: str = ""
    env: tuple[EnvVar, ...] = ()
    resources: dict[str, Any] = {}

    @property
    def env_values(self) -> dict[str, str]:
        """Plain ``value`` entries by name (``valueFrom`` entries read as empty)."""
        return {item.name: item.value for item in self.env}


class PodTemplate:
    """A Deployment's or ReplicaSet's pod template: typed fields to read, ``document`` to send back.

    Not a msgspec struct on purpose: the adapter's decoder hands it the template's JSON as built-in values and
    builds the typed fields from them, so the template is parsed once and kept whole.
    """

    __slots__ = ("labels", "annotations", "containers", "document")

    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    containers: tuple[Container, ...]
    document: Mapping[str, Any]

    def __init__(self, *, labels: Mapping[str, str], annotations: Mapping[str, str],
                 containers: tuple[Container, ...], document: Mapping[str, Any]) -> None:
        for name, value in (("labels", labels), ("annotations", annotations), ("containers", containers),
                            ("document", document)):
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"PodTemplate is immutable; cannot set {name}")

    def __reduce__(self) -> tuple[Any, ...]:  # st.cache_data pickles what it caches
        return (_rebuild_template, (dict(self.labels), dict(self.annotations), self.containers, self.document))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PodTemplate) and self.document == other.document

    def __hash__(self) -> int:
        return hash(tuple(sorted(self.labels.items())))

    def __repr__(self) -> str:
        return f"PodTemplate(labels={dict(self.labels)!r}, containers={[c.name for c in self.containers]!r})"


def _rebuild_template(labels: dict[str, str], annotations: dict[str, str], containers: tuple[Container, ...],
                      document: Mapping[str, Any]) -> PodTemplate:
    return PodTemplate(labels=labels, annotations=annotations, containers=containers, document=document)


EMPTY_TEMPLATE = PodTemplate(labels={}, annotations={}, containers=(), document={})


class LabelSelector(_ApiObject):
    match_labels: dict[str, str] = {}

    @property
    def text(self) -> str:
        """The selector as a ``labelSelector`` query value (``app=iris,tier=serving``)."""
        return ",".join(f"{key}={value}" for key, value in sorted(self.match_labels.items()))


class Condition(_ApiObject):
    type: str = ""
    status: str = ""
    reason: str = ""
    message: str = ""
    last_update_time: datetime | None = None
    last_transition_time: datetime | None = None


class DeploymentSpec(_ApiObject):
    replicas: int = 1
    paused: bool = False
    progress_deadline_seconds: int = 600
    selector: LabelSelector = LabelSelector()
    template: PodTemplate = EMPTY_TEMPLATE


class DeploymentStatus(_ApiObject):
    observed_generation: int = 0
    replicas: int = 0
    updated_replicas: int = 0
    ready_replicas: int = 0
    available_replicas: int = 0
    conditions: tuple[Condition, ...] = ()


class Deployment(_ApiObject):
    metadata: ObjectMeta = ObjectMeta()
    spec: DeploymentSpec = DeploymentSpec()
    status: DeploymentStatus = DeploymentStatus()


class ReplicaSetSpec(_ApiObject):
    replicas: int = 0
    template: PodTemplate = EMPTY_TEMPLATE


class ReplicaSetStatus(_ApiObject):
    replicas: int = 0
    ready_replicas: int = 0
    available_replicas: int = 0


class ReplicaSet(_ApiObject):
    metadata: ObjectMeta = ObjectMeta()
    spec: ReplicaSetSpec = ReplicaSetSpec()
    status: ReplicaSetStatus = ReplicaSetStatus()


class ObjectMetadata(_ApiObject):
    """An object read for its metadata only (what a list needs to find owners)."""

    metadata: ObjectMeta = ObjectMeta()


class ContainerStateWaiting(_ApiObject):
    reason: str = ""
    message: str = ""


class ContainerStateTerminated(_ApiObject):
    exit_code: int = 0
    reason: str = ""
    message: str = ""
    started_at: datetime | None = None
    finished_at: datetime | None = None


class ContainerStateRunning(_ApiObject):
    started_at: datetime | None = None


class ContainerState(_ApiObject):
    waiting: ContainerStateWaiting | None = None
    running: ContainerStateRunning | None = None
    terminated: ContainerStateTerminated | None = None


class ContainerStatus(_ApiObject):
    name: str = ""
    ready: bool = False
    restart_count: int = 0
    state: ContainerState = ContainerState()
    last_state: ContainerState = ContainerState()


class PodContainer(_ApiObject):
    name: str = ""


class PodSpec(_ApiObject):
    node_name: str = ""
    containers: tuple[PodContainer, ...] = ()


class PodStatus(_ApiObject):
    phase: str = "Unknown"
    container_statuses: tuple[ContainerStatus, ...] = ()


class Pod(_ApiObject):
    metadata: ObjectMeta = ObjectMeta()
    spec: PodSpec = PodSpec()
    status: PodStatus = PodStatus()


class ObjectReference(_ApiObject):
    kind: str = ""
    name: str = ""
    namespace: str = ""


class Event(_ApiObject):
    metadata: ObjectMeta = ObjectMeta()
    involved_object: ObjectReference = ObjectReference()
    type: str = ""
    reason: str = ""
    message: str = ""
    count: int | None = None
    last_timestamp: datetime | None = None
    event_time: datetime | None = None


class ObjectList(_ApiObject, Generic[T]):
    """A list answer (``DeploymentList``, ``PodList``, ...): its items."""

    items: tuple[T, ...]

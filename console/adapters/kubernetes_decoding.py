"""API answers (JSON bytes) decoded straight into the typed objects of ``console.domain.kubernetes_objects``.

msgspec builds only the declared fields and skips the rest of each object unbuilt: a ReplicaSet list read for
its metadata skips the pod templates that are most of its bytes. A pod template is handed over as built-in
values and kept whole (see ``PodTemplate``). A body that is not the object asked for raises ValueError.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import msgspec

from console.domain.kubernetes_objects import (
    Container,
    Deployment,
    Event,
    ObjectList,
    ObjectMetadata,
    Pod,
    PodTemplate,
    ReplicaSet,
)

T = TypeVar("T")


class _TemplateMetadata(msgspec.Struct, frozen=True):
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}


class _TemplateSpec(msgspec.Struct, frozen=True):
    containers: tuple[Container, ...] = ()


class _TemplateFields(msgspec.Struct, frozen=True):
    metadata: _TemplateMetadata = _TemplateMetadata()
    spec: _TemplateSpec = _TemplateSpec()


def _pod_template(document: Any) -> PodTemplate:
    if not isinstance(document, dict):
        raise msgspec.ValidationError(f"a pod template is an object, not {type(document).__name__}")
    fields = msgspec.convert(document, _TemplateFields)
    return PodTemplate(labels=fields.metadata.labels, annotations=fields.metadata.annotations,
                       containers=fields.spec.containers, document=document)


def _decode_hook(kind: type, value: Any) -> Any:
    if kind is PodTemplate:
        return _pod_template(value)
    raise NotImplementedError(f"no decoder for {kind}")


def _decoder(kind: Any) -> Callable[[bytes], Any]:
    decoder = msgspec.json.Decoder(kind, dec_hook=_decode_hook)

    def decode(data: bytes) -> Any:
        try:
            return decoder.decode(data)
        except msgspec.DecodeError as err:  # ValidationError included
            raise ValueError(str(err)) from err

    return decode


decode_deployment = _decoder(Deployment)
decode_deployment_list = _decoder(ObjectList[Deployment])
decode_replica_set_list = _decoder(ObjectList[ReplicaSet])
decode_metadata_list = _decoder(ObjectList[ObjectMetadata])
decode_pod_list = _decoder(ObjectList[Pod])
decode_event_list = _decoder(ObjectList[Event])


def from_document(kind: type[T], document: Any) -> T:
    """A typed object from a JSON document already parsed (tests, and objects read by other means)."""
    return msgspec.convert(document, kind, dec_hook=_decode_hook)

"""Field management (``metadata.managedFields``) and server-side apply, as apimachinery's field manager does them.

Every write names a manager (the ``fieldManager`` parameter, else the User-Agent's first word). An update gives
its manager the fields it changed and takes them from the others; an apply makes the applied configuration's
fields its manager's own set, drops what that manager applied before and no longer does (unless another manager
owns it), and fails with a 409 listing every field another manager owns and the apply would change, unless
``force`` is set. Objects created before field tracking (the demo's seeded world) stay untracked by updates, and
their first apply books the existing fields to ``before-first-apply``, as the apiserver does.
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass
from typing import Any

from . import errors, wire
from .fieldsets import FieldSet, field, path_text
from .resources import ResourceType
from .typed import Comparison, Node, SchemaMismatch, compare, merge, prune, to_field_set

APPLY, UPDATE = "Apply", "Update"
BEFORE_FIRST_APPLY = "before-first-apply"
MAX_UPDATE_MANAGERS = 10
# stripMetaManager: fields no manager owns.
_STRIPPED = [("f:apiVersion",), ("f:kind",), ("f:metadata",)] + [
    ("f:metadata", f"f:{name}") for name in ("name", "namespace", "creationTimestamp", "selfLink", "uid",
                                             "clusterName", "generation", "managedFields", "resourceVersion")]


@dataclass
class Entry:
    """One manager's fields: ``metav1.ManagedFieldsEntry`` with its set decoded."""

    manager: str
    operation: str
    api_version: str
    fields: FieldSet
    time: str | None = None
    subresource: str = ""

    @property
    def identity(self) -> tuple[str, str, str, str]:
        return (self.manager, self.operation, self.api_version if self.operation == UPDATE else "", self.subresource)

    def encode(self) -> dict[str, Any]:
        out: dict[str, Any] = {"manager": self.manager, "operation": self.operation, "apiVersion": self.api_version}
        if self.time:
            out["time"] = self.time
        out["fieldsType"] = "FieldsV1"
        out["fieldsV1"] = self.fields.to_fields_v1()
        if self.subresource:
            out["subresource"] = self.subresource
        return out


def manager_from(params: dict[str, str], user_agent: str | None) -> str:
    """The request's manager: ``fieldManager``, else the printable first word of the User-Agent."""
    name = params.get("fieldManager")
    if name is not None and name != "":
        if len(name) > 128:
            raise errors.invalid("PatchOptions", "meta.k8s.io", "", [errors.FieldError.invalid(
                "fieldManager", name, "must be less than 128 characters")])
        if any(not ch.isprintable() for ch in name):
            raise errors.invalid("PatchOptions", "meta.k8s.io", "", [errors.FieldError.invalid(
                "fieldManager", name, "must be printable characters")])
        return name
    prefix = (user_agent or "").split("/")[0]
    return "".join(ch for ch in prefix if unicodedata.category(ch)[0] != "C") or "unknown"


def decode_entries(obj: dict[str, Any]) -> list[Entry]:
    """The object's managedFields; a malformed entry is a 400, as the apiserver reports it."""
    out = []
    for i, raw in enumerate((obj.get("metadata") or {}).get("managedFields") or []):
        if not isinstance(raw, dict):
            raise errors.bad_request(f"metadata.managedFields[{i}] must be an object")
        if raw.get("operation") not in (APPLY, UPDATE):
            raise errors.bad_request("error decoding managed fields: operation must be `Apply` or `Update`")
        if not raw.get("apiVersion"):
            raise errors.bad_request("error decoding managed fields: apiVersion must not be empty")
        if raw.get("fieldsType") != "FieldsV1":
            raise errors.bad_request(f"error decoding managed fields: invalid fieldsType {raw.get('fieldsType')!r} "
                                     f"in managed fields entry {i}")
        try:
            fields = FieldSet.from_fields_v1(raw.get("fieldsV1") or {})
        except ValueError as err:
            raise errors.bad_request(f"error decoding managed fields: {err}") from err
        out.append(Entry(raw.get("manager", ""), raw["operation"], raw["apiVersion"], fields, raw.get("time"),
                         raw.get("subresource", "")))
    return out


def encode_entries(entries: list[Entry]) -> list[dict[str, Any]]:
    """Sorted as the apiserver sorts them: Apply before Update, then by time, manager, version, subresource."""
    entries = sorted(entries, key=lambda e: (e.operation, e.time or "", e.manager, e.api_version, e.subresource))
    return [e.encode() for e in entries]


class FieldManager:
    """Tracks managers for one write to one resource type."""

    def __init__(self, rt: ResourceType, node: Node, now: str, subresource: str = "") -> None:
        self.rt = rt
        self.node = node
        self.now = now
        self.subresource = subresource

    # --- the sets a write may own -------------------------------------------------------------------------

    def _filtered(self, fields: FieldSet) -> FieldSet:
        out = fields.copy()
        for path in _STRIPPED:
            _discard(out, path)
        if self.subresource == "scale":
            # The scale handler maps a Scale's fields onto its parent: only .spec.replicas is written through it.
            kept = FieldSet()
            if (out.children.get("f:spec") or FieldSet()).has(("f:replicas",)):
                kept.insert(("f:spec", "f:replicas"))
            return kept
        if "status" in self.rt.subresources:
            if self.subresource == "status":
                kept = FieldSet()
                if "f:status" in out.children:
                    kept.children["f:status"] = out.children["f:status"]
                if "f:status" in out.members:
                    kept.members.add("f:status")
                return kept
            out.children.pop("f:status", None)
            out.members.discard("f:status")
        return out

    def _compare(self, old: dict[str, Any], new: dict[str, Any]) -> Comparison:
        try:
            return compare(_bare(old), _bare(new), self.node)
        except SchemaMismatch as err:
            raise errors.invalid(self.rt.kind, self.rt.group, (new.get("metadata") or {}).get("name", ""),
                                 [errors.FieldError.invalid("metadata.managedFields", None, str(err))]) from err

    # --- update ----------------------------------------------------------------------------------------------

    def update(self, live: dict[str, Any] | None, new: dict[str, Any], manager: str) -> None:
        """Set ``new``'s managedFields after an update (or a create, when ``live`` is None) by ``manager``."""
        requested = (new.get("metadata") or {}).get("managedFields")
        base_source = live or {}
        if requested is not None and (live is None or requested != (live.get("metadata") or {}).get("managedFields")):
            base_source = new
        entries = decode_entries(base_source) if base_source else []
        if live is not None and not entries:
            # skipNonAppliedManager: an object nobody tracked stays untracked until its first apply.
            new.get("metadata", {}).pop("managedFields", None)
            return
        old = live if live is not None else wire.zero_object(self.rt.api_version, self.rt.kind)
        entries = self._update(entries, old, new, manager)
        self._store(new, entries, live)

    def _update(self, entries: list[Entry], old: dict[str, Any], new: dict[str, Any], manager: str) -> list[Entry]:
        comparison = self._compare(old, new)
        changed = comparison.modified.union(comparison.added)
        identity = (manager, UPDATE, self.rt.api_version, self.subresource)
        mine = next((e for e in entries if e.identity == identity), None)
        kept = []
        for entry in entries:
            if entry is mine:
                continue
            entry.fields = entry.fields.difference(changed).difference(comparison.removed)
            if not entry.fields.empty():
                kept.append(entry)
        previous = mine.fields if mine is not None else FieldSet()
        fields = self._filtered(previous.difference(comparison.removed).union(changed))
        if not fields.empty():
            kept.append(Entry(manager, UPDATE, self.rt.api_version, fields, self.now, self.subresource))
        return _cap(kept)

    # --- apply -----------------------------------------------------------------------------------------------

    def apply(self, live: dict[str, Any] | None, applied: dict[str, Any], manager: str, force: bool) -> dict[str, Any]:
        """The object after applying ``applied`` as ``manager``, managedFields included; 409 on conflicts."""
        entries = decode_entries(live) if live is not None else []
        base = live if live is not None else wire.zero_object(self.rt.api_version, self.rt.kind)
        if live is not None and not entries:
            zero = wire.zero_object(self.rt.api_version, self.rt.kind)
            entries = self._update([], zero, live, BEFORE_FIRST_APPLY)
        try:
            applied_fields = self._filtered(to_field_set(_bare(applied), self.node))
            merged = merge(_bare(base), _bare(applied), self.node)
        except SchemaMismatch as err:
            raise errors.invalid(self.rt.kind, self.rt.group, (applied.get("metadata") or {}).get("name", ""),
                                 [errors.FieldError.invalid("", None, str(err))]) from err
        identity = (manager, APPLY, "", self.subresource)
        mine = next((e for e in entries if e.identity == identity), None)
        others = [e for e in entries if e is not mine]
        if mine is not None:
            owned = applied_fields
            for entry in others:
                owned = owned.union(entry.fields)
            merged = prune(merged, mine.fields.difference(owned), owned, self.node)
        comparison = self._compare(base, merged)
        changed = comparison.modified.union(comparison.added)
        conflicts = [(e, path) for e in others for path in e.fields.intersection(changed).paths()]
        if conflicts and not force:
            raise _conflict_error(conflicts)
        kept = []
        for entry in others:
            entry.fields = entry.fields.difference(changed).difference(comparison.removed)
            if not entry.fields.empty():
                kept.append(entry)
        kept.append(Entry(manager, APPLY, self.rt.api_version, applied_fields, self.now, self.subresource))
        if live is not None:
            merged.setdefault("metadata", {})
            for key in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp", "generation"):
                if key in (live.get("metadata") or {}):
                    merged["metadata"].setdefault(key, live["metadata"][key])
        self._store(merged, kept, live)
        return merged

    def _store(self, obj: dict[str, Any], entries: list[Entry], live: dict[str, Any] | None) -> None:
        meta = obj.setdefault("metadata", {})
        encoded = encode_entries(entries)
        previous = (live or {}).get("metadata", {}).get("managedFields")
        if previous is not None and _without_times(previous) == _without_times(encoded):
            encoded = previous  # a no-op write keeps the entries' times (IgnoreManagedFieldsTimestampsTransformer)
        if encoded:
            meta["managedFields"] = encoded
        else:
            meta.pop("managedFields", None)


def _bare(obj: dict[str, Any]) -> dict[str, Any]:
    meta = obj.get("metadata")
    if isinstance(meta, dict) and "managedFields" in meta:
        obj = {**obj, "metadata": {k: v for k, v in meta.items() if k != "managedFields"}}
    return obj


def _discard(fields: FieldSet, path: tuple[str, ...]) -> None:
    node: FieldSet | None = fields
    for element in path[:-1]:
        node = node.children.get(element) if node else None
    if node is not None:
        node.members.discard(path[-1])


def _without_times(entries: list[dict[str, Any]]) -> list[str]:
    """The entries compared regardless of their times, and so of the order their times give them."""
    return sorted(json.dumps({k: v for k, v in e.items() if k != "time"}, sort_keys=True) for e in entries)


def _cap(entries: list[Entry]) -> list[Entry]:
    """capManagersManager: past ten Update managers, the oldest merge into ``ancient-changes``."""
    updaters = sorted((e for e in entries if e.operation == UPDATE), key=lambda e: (e.time or "", e.manager))
    if len(updaters) <= MAX_UPDATE_MANAGERS:
        return entries
    excess = updaters[: len(updaters) - MAX_UPDATE_MANAGERS + 1]
    bucket = Entry("ancient-changes", UPDATE, excess[0].api_version, FieldSet(), excess[-1].time)
    for entry in excess:
        bucket.fields = bucket.fields.union(entry.fields)
    return [e for e in entries if e not in excess] + [bucket]


def _manager_text(entry: Entry) -> str:
    text = json.dumps(entry.manager)
    if entry.subresource:
        text += f" with subresource {json.dumps(entry.subresource)}"
    if entry.operation == UPDATE:
        text += f" using {entry.api_version}"
        if entry.time:
            text += f" at {entry.time}"
    return text


def _conflict_error(conflicts: list[tuple[Entry, tuple[str, ...]]]) -> errors.ApiError:
    causes = [{"reason": "FieldManagerConflict", "message": f"conflict with {_manager_text(e)}", "field": path_text(p)}
              for e, p in conflicts]
    if len(conflicts) == 1:
        entry, path = conflicts[0]
        message = f"Apply failed with 1 conflict: conflict with {_manager_text(entry)}: {path_text(path)}"
    else:
        by_manager: dict[str, list[str]] = {}
        for entry, path in conflicts:
            by_manager.setdefault(_manager_text(entry), []).append(path_text(path))
        lines = []
        for manager in sorted(by_manager):
            lines.append(f"conflicts with {manager}:")
            lines += [f"- {p}" for p in by_manager[manager]]
        message = f"Apply failed with {len(conflicts)} conflicts: " + "\n".join(lines)
    return errors.ApiError(409, "Conflict", message, details={"causes": causes})


__all__ = ["APPLY", "UPDATE", "Entry", "FieldManager", "decode_entries", "encode_entries", "field", "manager_from"]

"""Objects read through their schemas, as structured-merge-diff reads them (``typed.TypedValue``).

A schema node is a struct (``properties``), a map (``additionalProperties``), a list or a scalar; lists and maps
carry their element relationship from the ``x-kubernetes-list-type``/``-map-type`` extensions, falling back to the
patch strategy, as kube-openapi's schema conversion does. On that: the set of fields an object sets, the fields
two versions differ in, and the merge of an applied configuration into a live object.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from . import schemas
from .fieldsets import FieldSet, field, index, key, value

ATOMIC, SET, MAP = "atomic", "set", "map"
_KEY_DEFAULTS = {"protocol": "TCP"}  # list keys the apiserver defaults (container and service ports)


class SchemaMismatch(ValueError):
    """An object that does not fit its schema (a list item without its keys, two items with the same key)."""


@dataclass(frozen=True)
class Node:
    """One resolved schema node."""

    schema: dict[str, Any]

    @staticmethod
    def of(schema: dict[str, Any] | None) -> Node:
        if not schema:
            return Node({})
        name = schemas.ref_name(schema)
        if name is None:
            return Node(schema)
        target = schemas.definitions().get(name, {})
        if len(schema) == 1:
            return Node(target)
        return Node({**target, **{k: v for k, v in schema.items() if k != "$ref"}})

    @staticmethod
    def named(definition: str) -> Node:
        return Node(schemas.definitions().get(definition, {}))

    @property
    def kind(self) -> str:
        s = self.schema
        if s.get("x-kubernetes-int-or-string") or s.get("format") == "int-or-string":
            return "scalar"
        type_ = s.get("type")
        if "properties" in s:
            return "struct"
        if type_ == "object" or "additionalProperties" in s:
            return "map"
        if type_ == "array":
            return "list"
        if type_ in ("string", "integer", "number", "boolean"):
            return "scalar"
        return "untyped"

    def field(self, name: str) -> Node | None:
        prop = (self.schema.get("properties") or {}).get(name)
        if prop is not None:
            return Node.of(prop)
        extra = self.schema.get("additionalProperties")
        if isinstance(extra, dict):
            return Node.of(extra)
        if self.schema.get("x-kubernetes-preserve-unknown-fields") or self.kind in ("map", "untyped"):
            return Node({})
        return None

    @property
    def items(self) -> Node:
        return Node.of(self.schema.get("items"))

    @property
    def list_type(self) -> tuple[str, tuple[str, ...]]:
        s = self.schema
        kind = s.get("x-kubernetes-list-type")
        if kind == "map":
            return MAP, tuple(s.get("x-kubernetes-list-map-keys") or ())
        if kind == "set":
            return SET, ()
        if kind == "atomic":
            return ATOMIC, ()
        strategy = s.get("x-kubernetes-patch-strategy", "")
        if strategy in ("merge", "merge,retainKeys"):
            merge_key = s.get("x-kubernetes-patch-merge-key")
            return (MAP, (merge_key,)) if merge_key else (SET, ())
        return ATOMIC, ()

    @property
    def atomic(self) -> bool:
        kind = self.kind
        if kind == "list":
            return self.list_type[0] == ATOMIC
        if kind in ("struct", "map"):
            return self.schema.get("x-kubernetes-map-type") == "atomic"
        return True


def item_element(node: Node, item: Any, position: int) -> str:
    """The path element of a list item: its keys, its value, or its index."""
    relation, keys = node.list_type
    if relation == MAP:
        if not isinstance(item, dict):
            raise SchemaMismatch("associative list with keys has an element that is not a map")
        values = {}
        for name in keys:
            if name in item:
                values[name] = item[name]
            elif name in _KEY_DEFAULTS:
                values[name] = _KEY_DEFAULTS[name]
            elif len(keys) == 1:
                raise SchemaMismatch(f'associative list with keys has an element that omits key field "{name}" '
                                     "(and doesn't have default value)")
        return key(values)
    if relation == SET:
        return value(item)
    return index(position)


def _index(node: Node, items: list[Any] | None) -> tuple[list[str], dict[str, Any]]:
    elements, by_element = [], {}
    for i, item in enumerate(items or []):
        element = item_element(node, item, i)
        if element in by_element:
            raise SchemaMismatch(f"duplicate entries for key {element[2:]}")
        by_element[element] = item
        elements.append(element)
    return elements, by_element


# --- the fields an object sets (typed.TypedValue.ToFieldSet) ----------------------------------------------------


def to_field_set(obj: Any, node: Node) -> FieldSet:
    out = FieldSet()
    _collect(obj, node, (), out)
    return out


def _collect(obj: Any, node: Node, path: tuple[str, ...], out: FieldSet) -> None:
    kind = node.kind
    if kind in ("scalar", "untyped") or obj is None or not isinstance(obj, (dict, list)):
        out.insert(path)
        return
    if node.atomic and kind in ("list", "struct", "map"):
        out.insert(path)
        return
    if isinstance(obj, list):
        for i, item in enumerate(obj):
            element_path = path + (item_element(node, item, i),)
            _collect(item, node.items, element_path, out)
            out.insert(element_path)
        return
    declared = node.schema.get("properties") or {}
    for name, child in obj.items():
        child_node = node.field(name) or Node({})
        child_path = path + (field(name),)
        _collect(child, child_node, child_path, out)
        if child is None or child == {} or name not in declared:
            out.insert(child_path)


# --- what two versions differ in (typed.Compare) -------------------------------------------------------------------


@dataclass
class Comparison:
    added: FieldSet
    modified: FieldSet
    removed: FieldSet


def compare(old: Any, new: Any, node: Node) -> Comparison:
    result = Comparison(FieldSet(), FieldSet(), FieldSet())
    _compare(old, new, node, (), result, top=True)
    return result


_MISSING = object()


def _compare(lhs: Any, rhs: Any, node: Node, path: tuple[str, ...], out: Comparison, top: bool = False) -> None:
    leaf = _compare_node(lhs, rhs, node, path, out)
    if not leaf and not top:
        if lhs is _MISSING:
            out.added.insert(path)
        elif rhs is _MISSING:
            out.removed.insert(path)


def _leaf(lhs: Any, rhs: Any, path: tuple[str, ...], out: Comparison) -> bool:
    if lhs is _MISSING:
        out.added.insert(path)
    elif rhs is _MISSING:
        out.removed.insert(path)
    elif lhs != rhs or type(lhs) is not type(rhs) and isinstance(lhs, bool) != isinstance(rhs, bool):
        out.modified.insert(path)
    return True


def _compare_node(lhs: Any, rhs: Any, node: Node, path: tuple[str, ...], out: Comparison) -> bool:
    """Compare one node; True when it was compared as a leaf."""
    kind = node.kind
    sample = rhs if rhs is not _MISSING else lhs
    if kind in ("scalar", "untyped") or not isinstance(sample, (dict, list)):
        return _leaf(lhs, rhs, path, out)
    left = lhs if isinstance(lhs, type(sample)) else None
    right = rhs if isinstance(rhs, type(sample)) else None
    if node.atomic or (not left and not right):
        return _leaf(lhs, rhs, path, out)
    if isinstance(sample, list):
        l_elements, l_items = _index(node, left)
        r_elements, r_items = _index(node, right)
        for element in l_elements + [e for e in r_elements if e not in l_items]:
            _compare(l_items.get(element, _MISSING), r_items.get(element, _MISSING), node.items, path + (element,), out)
        return False
    left, right = left or {}, right or {}
    for name in list(left) + [n for n in right if n not in left]:
        child = node.field(name) or Node({})
        _compare(left.get(name, _MISSING), right.get(name, _MISSING), child, path + (field(name),), out)
    return False


# --- applying a configuration (typed.Merge) and removing fields ----------------------------------------------------


def merge(live: Any, applied: Any, node: Node) -> Any:
    """The live object with the applied configuration merged in: the applied value wins at every leaf."""
    if applied is _MISSING:
        return live
    if live is _MISSING or live is None:
        return copy.deepcopy(applied)
    kind = node.kind
    if kind in ("scalar", "untyped") or node.atomic or not isinstance(applied, (dict, list)) \
            or type(live) is not type(applied):
        return copy.deepcopy(applied)
    if isinstance(applied, list):
        return _merge_list(live, applied, node)
    out = dict(live)
    for name, child in applied.items():
        out[name] = merge(live.get(name, _MISSING), child, node.field(name) or Node({}))
    return out


def _merge_list(live: list[Any], applied: list[Any], node: Node) -> list[Any]:
    """structured-merge-diff's ordering: shared items in the applied order, live-only items where they were."""
    l_elements, l_items = _index(node, live)
    r_elements, r_items = _index(node, applied)
    shared = [e for e in r_elements if e in l_items]
    out, merged = [], set()
    li = ri = 0
    next_shared = shared.pop(0) if shared else None
    while li < len(l_elements) or ri < len(r_elements):
        if li < len(l_elements) and ri < len(r_elements) and l_elements[li] == r_elements[ri]:
            element = l_elements[li]
            merged.add(element)
            out.append(merge(l_items[element], r_items[element], node.items))
            li, ri = li + 1, ri + 1
            next_shared = shared.pop(0) if shared else None
            continue
        if li < len(l_elements) and ri < len(r_elements) and l_elements[li] in r_items \
                and next_shared is not None and next_shared != l_elements[li]:
            li += 1
            continue
        if li < len(l_elements):
            element = l_elements[li]
            if element not in r_items:
                out.append(l_items[element])
                li += 1
                continue
            if element in merged:
                li += 1
        if ri < len(r_elements):
            element = r_elements[ri]
            merged.add(element)
            out.append(merge(l_items.get(element, _MISSING), r_items[element], node.items))
            ri += 1
            if next_shared is not None and next_shared == element:
                next_shared = shared.pop(0) if shared else None
    return out


def prune(obj: Any, drop: FieldSet, owned: FieldSet, node: Node) -> Any:
    """The object without the paths of ``drop`` that neither ``owned`` nor anything below them in ``owned`` holds.

    What structured-merge-diff's prune leaves after adding back owned and dangling items: a field an applier
    stopped applying goes, unless some manager still owns it or a field inside it.
    """
    def kept(element: str) -> bool:
        child = owned.children.get(element)
        return element in owned.members or (child is not None and not child.empty())

    if isinstance(obj, list):
        out = []
        for i, item in enumerate(obj):
            element = item_element(node, item, i)
            if element in drop.members and not kept(element):
                continue
            below = drop.children.get(element)
            out.append(prune(item, below, owned.children.get(element) or FieldSet(), node.items) if below else item)
        return out
    if isinstance(obj, dict):
        out_map = {}
        for name, child_value in obj.items():
            element = field(name)
            if element in drop.members and not kept(element):
                continue
            below = drop.children.get(element)
            child_node = node.field(name) or Node({})
            out_map[name] = (prune(child_value, below, owned.children.get(element) or FieldSet(), child_node)
                             if below else child_value)
        return out_map
    return obj

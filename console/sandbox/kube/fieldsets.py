"""Sets of field paths as structured-merge-diff keeps them (``fieldpath.Set``), and their ``FieldsV1`` form.

A path element is kept in its serialised form: ``f:name`` (a field), ``k:{"name":"app"}`` (a list item by its
keys), ``v:"value"`` (a set item), ``i:3`` (a list index). A set holds its member elements and, for elements
with paths below them, a child set; ``FieldsV1`` writes a member that also has children as ``".": {}``.
"""

from __future__ import annotations

import json
from typing import Any, Iterator


class FieldSet:
    """``fieldpath.Set``: ``members`` are paths ending here, ``children`` the sets under an element."""

    __slots__ = ("members", "children")

    def __init__(self) -> None:
        self.members: set[str] = set()
        self.children: dict[str, FieldSet] = {}

    # --- building -----------------------------------------------------------------------------------------

    def insert(self, path: tuple[str, ...]) -> None:
        if not path:
            return
        node = self
        for element in path[:-1]:
            node = node.children.setdefault(element, FieldSet())
        node.members.add(path[-1])

    def child(self, element: str) -> FieldSet | None:
        return self.children.get(element)

    def has(self, path: tuple[str, ...]) -> bool:
        node: FieldSet | None = self
        for element in path[:-1]:
            node = node.children.get(element) if node else None
        return node is not None and bool(path) and path[-1] in node.members

    def empty(self) -> bool:
        return not self.members and all(c.empty() for c in self.children.values())

    def copy(self) -> FieldSet:
        out = FieldSet()
        out.members = set(self.members)
        out.children = {k: v.copy() for k, v in self.children.items()}
        return out

    # --- algebra ------------------------------------------------------------------------------------------

    def union(self, other: FieldSet) -> FieldSet:
        out = self.copy()
        out.members |= other.members
        for element, child in other.children.items():
            mine = out.children.get(element)
            out.children[element] = mine.union(child) if mine is not None else child.copy()
        return out

    def difference(self, other: FieldSet) -> FieldSet:
        out = FieldSet()
        out.members = self.members - other.members
        for element, child in self.children.items():
            theirs = other.children.get(element)
            rest = child.difference(theirs) if theirs is not None else child.copy()
            if not rest.empty():
                out.children[element] = rest
        return out

    def intersection(self, other: FieldSet) -> FieldSet:
        out = FieldSet()
        out.members = self.members & other.members
        for element, child in self.children.items():
            theirs = other.children.get(element)
            if theirs is not None:
                both = child.intersection(theirs)
                if not both.empty():
                    out.children[element] = both
        return out

    def paths(self, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
        """Every member path, in FieldsV1 order."""
        for element in sorted(self.members | set(self.children), key=_order):
            if element in self.members:
                yield prefix + (element,)
            if element in self.children:
                yield from self.children[element].paths(prefix + (element,))

    # --- FieldsV1 ------------------------------------------------------------------------------------------

    def to_fields_v1(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for element in sorted(self.members | set(self.children), key=_order):
            child = self.children.get(element)
            if child is None or child.empty():
                out[element] = {}
            else:
                inner = child.to_fields_v1()
                out[element] = {".": {}, **inner} if element in self.members else inner
        return out

    @classmethod
    def from_fields_v1(cls, fields: Any) -> FieldSet:
        out = cls()
        if not isinstance(fields, dict):
            raise ValueError("FieldsV1 must be an object")
        for element, inner in fields.items():
            if element == ".":
                continue
            if not isinstance(inner, dict):
                raise ValueError(f"FieldsV1 entry {element} must be an object")
            if not element[:2] in ("f:", "k:", "v:", "i:"):
                raise ValueError(f"unknown path element {element!r}")
            if not inner or "." in inner:
                out.members.add(element)
            if any(k != "." for k in inner):
                out.children[element] = cls.from_fields_v1(inner)
        return out


def _order(element: str) -> tuple[int, str]:
    # fieldpath.PathElement ordering: field names, then keys, then values, then indexes.
    return ({"f": 0, "k": 1, "v": 2, "i": 3}.get(element[0], 4), element)


def field(name: str) -> str:
    return "f:" + name


def key(values: dict[str, Any]) -> str:
    return "k:" + json.dumps(dict(sorted(values.items())), separators=(",", ":"), ensure_ascii=False)


def value(item: Any) -> str:
    return "v:" + json.dumps(item, separators=(",", ":"), ensure_ascii=False)


def index(i: int) -> str:
    return f"i:{i}"


def path_text(path: tuple[str, ...]) -> str:
    """``fieldpath.Path.String()``: ``.spec.template.spec.containers[name="app"].image``."""
    out = []
    for element in path:
        kind, body = element[0], element[2:]
        if kind == "f":
            out.append("." + body)
        elif kind == "k":
            keys = json.loads(body)
            out.append("[" + ",".join(f"{k}={json.dumps(v, separators=(',', ':'))}" for k, v in keys.items()) + "]")
        elif kind == "v":
            out.append(f"[={body}]")
        else:
            out.append(f"[{body}]")
    return "".join(out)

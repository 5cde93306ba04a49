"""The audit log's hash chain: each record's hash covers its own fields and the hash of the record before it.

An edit of any stored field, a record removed from the middle, or one inserted out of turn breaks the chain at
that record, so ``verify_chain`` (``python -m console audit verify``) finds it even where the database's own
guards were bypassed. The first record of a chain links to ``GENESIS``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from console.domain.times import format_rfc3339

GENESIS = "0" * 64


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return format_rfc3339(value, "microseconds")
    return value


def record_hash(previous_hash: str, fields: Mapping[str, Any], alias_changes: Sequence[Mapping[str, Any]] = ()) -> str:
    """The hash of one record: SHA-256 over the previous hash and the record's canonical JSON.

    ``fields`` are the stored columns (times as RFC 3339 to the microsecond, JSON columns as their text);
    ``alias_changes`` the alias-history rows written with it, in order.
    """
    document = {
        "previous": previous_hash,
        "record": {key: _plain(value) for key, value in sorted(fields.items())},
        "alias_changes": [{key: _plain(value) for key, value in sorted(change.items())} for change in alias_changes],
    }
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ChainedRecord:
    """What verification reads of one stored record."""

    id: int
    previous_hash: str | None
    stored_hash: str | None
    fields: Mapping[str, Any]
    alias_changes: Sequence[Mapping[str, Any]] = ()


@dataclass(frozen=True)
class ChainReport:
    """The verdict: ``problems`` empty means every record is intact and in its place."""

    checked: int
    unchained: int  # records written before the chain existed (no hash), at the start of the log
    problems: tuple[str, ...]

    @property
    def intact(self) -> bool:
        return not self.problems


def verify_chain(records: Iterable[ChainedRecord]) -> ChainReport:
    """Walk the records in id order: each must link to the one before and hash to what it stores."""
    problems: list[str] = []
    checked = unchained = 0
    previous: str | None = None
    for record in records:
        if record.stored_hash is None:
            if previous is not None:
                problems.append(f"record {record.id} has no hash although records before it are chained")
            else:
                unchained += 1
            continue
        expected_previous = GENESIS if previous is None else previous
        if record.previous_hash != expected_previous:
            problems.append(f"record {record.id} does not follow the record before it (a record was removed, "
                            "inserted or edited before it)")
        computed = record_hash(record.previous_hash or "", record.fields, record.alias_changes)
        if computed != record.stored_hash:
            problems.append(f"record {record.id} was changed after it was written (its hash does not match)")
        previous = record.stored_hash
        checked += 1
    return ChainReport(checked=checked, unchained=unchained, problems=tuple(problems))

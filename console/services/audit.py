"""The one way an operator action happens: permission check, then the action, then exactly one audit record.

Every mutating use case runs inside ``audited_action``. It writes a ``denied`` record and raises ``Forbidden``
before any backend is touched when the role lacks the permission; a ``failed`` record with the error when the
action raises; a ``succeeded`` record with the before and after state otherwise. It checks that the audit
store answers before the action starts, so an action never happens without its record.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, NoReturn

from console.adapters.audit_store import AuditStore
from console.domain.access import Actor, Permission, minimum_role
from console.domain.audit import AuditEntry, AuditFilter, AuditRecord, Outcome
from console.domain.audit_chain import ChainReport
from console.domain.changes import reason_problems
from console.domain.mlflow_models import PromotionRecord
from console.errors import ConsoleError, Forbidden, InvalidInput
from console.services.clock import Clock, utc_now


@dataclass
class ActionRecord:
    """Filled in by the action as it goes; becomes the audit record's before/after state and notes, and the
    alias changes the action made (stored with the record, in the same transaction)."""

    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    note: str = ""
    alias_changes: list[PromotionRecord] = field(default_factory=list)


def _forbidden(actor: Actor, permission: Permission) -> Forbidden:
    return Forbidden(f"{actor.username} ({actor.role.label}) may not {permission.value}; "
                     f"that needs the {minimum_role(permission).label} role.")


def require(actor: Actor, permission: Permission) -> None:
    """Raise Forbidden unless the actor's role grants the permission (for reads; actions use audited_action)."""
    if not actor.can(permission):
        raise _forbidden(actor, permission)


@contextmanager
def audited_action(
    audit: AuditStore,
    actor: Actor,
    permission: Permission,
    *,
    action: str,
    target: str,
    reason: str,
    parameters: dict[str, Any] | None = None,
    clock: Clock = utc_now,
) -> Iterator[ActionRecord]:
    """Run one operator action with its permission check and exactly one audit record."""
    record = ActionRecord(parameters=dict(parameters or {}))
    reason = reason.strip()

    def write(outcome: Outcome, error: str = "") -> None:
        audit.append(
            AuditEntry(
                at=clock(),
                username=actor.username,
                role=actor.role.label,
                action=action,
                target=target,
                outcome=outcome,
                reason=reason,
                parameters=record.parameters,
                before=record.before,
                after=record.after,
                error="; ".join(part for part in (error, record.note) if part),
            ),
            alias_changes_made=record.alias_changes,
        )

    audit.ping()
    if not actor.can(permission):
        error = _forbidden(actor, permission)
        write(Outcome.DENIED, str(error))
        raise error
    problems = reason_problems(reason)
    if problems:
        error = InvalidInput(problems[0])
        write(Outcome.FAILED, str(error))
        raise error
    try:
        yield record
    except ConsoleError as err:
        write(Outcome.FAILED, str(err))
        raise
    except Exception as err:
        write(Outcome.FAILED, f"unexpected error: {err.__class__.__name__}: {err}")
        raise
    write(Outcome.SUCCEEDED)


def refuse_attempt(audit: AuditStore, actor: Actor, permission: Permission, *, action: str, target: str,
                   reason: str, error: ConsoleError, clock: Clock = utc_now) -> NoReturn:
    """Record an action attempt that cannot even be made (a malformed target), and raise ``error``.

    The attempt still gets its one record: denied when the role lacks the permission, failed otherwise.
    """
    with audited_action(audit, actor, permission, action=action, target=target, reason=reason or "-",
                        clock=clock):
        raise error
    raise AssertionError("unreachable")


def verify_audit(audit: AuditStore, actor: Actor) -> ChainReport:
    """Check the audit log's hash chain: every record in its place and as it was written."""
    require(actor, Permission.READ_AUDIT)
    return audit.verify()


def list_audit(audit: AuditStore, actor: Actor, audit_filter: AuditFilter = AuditFilter()) -> list[AuditRecord]:
    """Audit records for operators and admins, newest first."""
    require(actor, Permission.READ_AUDIT)
    if audit_filter.since and audit_filter.until and audit_filter.since >= audit_filter.until:
        raise InvalidInput("The start of the time range must be before its end.")
    if not 1 <= audit_filter.limit <= 100_000:
        raise InvalidInput("The record limit must be between 1 and 100000.")
    return audit.query(audit_filter)


def audit_filter_choices(audit: AuditStore, actor: Actor) -> tuple[list[str], list[str]]:
    """The user names and actions that occur in the audit log (the Audit page's filter choices)."""
    require(actor, Permission.READ_AUDIT)
    return audit.distinct_values("username"), audit.distinct_values("action")


CSV_COLUMNS = (
    "id", "at", "username", "role", "action", "target", "outcome", "reason", "parameters", "before", "after", "error"
)


def export_audit_csv(audit: AuditStore, actor: Actor, audit_filter: AuditFilter = AuditFilter()) -> str:
    """The filtered audit log as CSV, for admins only."""
    require(actor, Permission.EXPORT_AUDIT)
    records = list_audit(audit, actor, audit_filter)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for row in records:
        writer.writerow(record_as_row(row))
    return buffer.getvalue()


def record_as_dict(record: AuditRecord) -> dict[str, Any]:
    """A record as plain JSON values, keyed by ``CSV_COLUMNS``."""
    return {
        "id": record.id,
        "at": record.at.isoformat(),
        "username": record.username,
        "role": record.role,
        "action": record.action,
        "target": record.target,
        "outcome": record.outcome.value,
        "reason": record.reason,
        "parameters": record.parameters,
        "before": record.before,
        "after": record.after,
        "error": record.error,
    }


# A spreadsheet reads a cell that starts with one of these as a formula (OWASP's CSV injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> str:
    """One CSV cell: nested values as JSON; text that a spreadsheet would run as a formula quoted as text."""
    text = value if isinstance(value, str) else ("" if value is None else json.dumps(value, sort_keys=True,
                                                                                  default=str))
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def record_as_row(record: AuditRecord) -> list[str]:
    """A record as CSV cells."""
    values = record_as_dict(record)
    return [csv_cell(values[column]) for column in CSV_COLUMNS]

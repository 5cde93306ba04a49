from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from console.adapters.audit_store import AuditStore
from console.domain.access import Actor, Permission, Role
from console.domain.audit import AuditEntry, AuditFilter, LoginAttempt, Outcome
from console.errors import BackendUnavailable, Conflict, Forbidden, InvalidInput
from console.services.audit import audited_action, export_audit_csv, list_audit

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
VIEWER = Actor("vera", "Vera", Role.VIEWER)
OPERATOR = Actor("oscar", "Oscar", Role.OPERATOR)
ADMIN = Actor("ada", "Ada", Role.ADMIN)


def entry(minute: int, **fields: object) -> AuditEntry:
    values: dict[str, object] = {
        "at": T0 + timedelta(minutes=minute),
        "username": "oscar",
        "role": "operator",
        "action": "scale",
        "target": "ml-serving/iris-classifier",
        "outcome": Outcome.SUCCEEDED,
        "reason": "load test",
        "parameters": {"replicas": 3},
        "before": {"replicas": 2},
        "after": {"replicas": 3},
    }
    values.update(fields)
    return AuditEntry(**values)  # type: ignore[arg-type]


def test_append_and_filter(audit_store: AuditStore) -> None:
    audit_store.append(entry(0))
    audit_store.append(entry(1, username="ada", role="admin", action="promote", target="models/iris-classifier"))
    audit_store.append(entry(2, outcome=Outcome.FAILED, error="conflict", target="ml-staging/diabetes_100%"))
    newest_first = audit_store.query()
    assert [record.at for record in newest_first] == [T0 + timedelta(minutes=m) for m in (2, 1, 0)]
    assert newest_first[2].parameters == {"replicas": 3} and newest_first[2].before == {"replicas": 2}
    assert newest_first[2].at.tzinfo is not None
    assert [r.username for r in audit_store.query(AuditFilter(username="ada"))] == ["ada"]
    assert [r.action for r in audit_store.query(AuditFilter(action="promote"))] == ["promote"]
    assert [r.error for r in audit_store.query(AuditFilter(outcome=Outcome.FAILED))] == ["conflict"]
    # The target filter is a substring match with LIKE wildcards escaped.
    assert len(audit_store.query(AuditFilter(target_contains="100%"))) == 1
    assert len(audit_store.query(AuditFilter(target_contains="s%1"))) == 0
    window = AuditFilter(since=T0 + timedelta(minutes=1), until=T0 + timedelta(minutes=2))
    assert [r.action for r in audit_store.query(window)] == ["promote"]
    assert audit_store.distinct_values("username") == ["ada", "oscar"]


def test_records_cannot_be_updated_or_deleted(audit_store: AuditStore) -> None:
    audit_store.append(entry(0))
    audit_store.logins.record_success("oscar", now=T0)
    engine = sa.create_engine(audit_store.address)
    for statement in ("UPDATE audit_records SET outcome = 'denied'", "DELETE FROM audit_records",
                      "DELETE FROM login_attempts"):
        with pytest.raises(sa.exc.DatabaseError, match="append-only"):
            with engine.begin() as connection:
                connection.execute(sa.text(statement))
    engine.dispose()
    assert [r.outcome for r in audit_store.query()] == [Outcome.SUCCEEDED]


def clock() -> datetime:
    return T0


def test_denied_action_leaves_one_record_and_never_runs(audit_store: AuditStore) -> None:
    ran = []
    with pytest.raises(Forbidden, match=r"vera \(viewer\) may not operate deployments; that needs the operator role"):
        with audited_action(audit_store, VIEWER, Permission.OPERATE_DEPLOYMENT, action="scale",
                            target="ml-serving/iris", reason="try", clock=clock):
            ran.append(True)
    assert ran == []
    [record] = audit_store.query()
    assert (record.outcome, record.username, record.role, record.action) == (Outcome.DENIED, "vera", "viewer", "scale")


def test_failed_action_records_error_and_state_so_far(audit_store: AuditStore) -> None:
    with pytest.raises(Conflict):
        with audited_action(audit_store, OPERATOR, Permission.OPERATE_DEPLOYMENT, action="scale",
                            target="ml-serving/iris", reason="more load", parameters={"replicas": 5}) as record:
            record.before = {"replicas": 2}
            raise Conflict("changed since you loaded it - reload")
    [stored] = audit_store.query()
    assert stored.outcome is Outcome.FAILED
    assert stored.error == "changed since you loaded it - reload"
    assert stored.before == {"replicas": 2} and stored.after is None
    assert stored.parameters == {"replicas": 5} and stored.reason == "more load"


def test_unexpected_errors_are_recorded_too(audit_store: AuditStore) -> None:
    with pytest.raises(ZeroDivisionError):
        with audited_action(audit_store, ADMIN, Permission.OVERRIDE_GATE, action="promote", target="m", reason="r"):
            1 / 0  # noqa: B018
    [stored] = audit_store.query()
    assert stored.outcome is Outcome.FAILED and stored.error.startswith("unexpected error: ZeroDivisionError")


def test_succeeded_action(audit_store: AuditStore) -> None:
    with audited_action(audit_store, OPERATOR, Permission.OPERATE_DEPLOYMENT, action="restart",
                        target="ml-serving/iris", reason="stuck", clock=clock) as record:
        record.before, record.after = {"generation": 4}, {"generation": 5}
    [stored] = audit_store.query()
    assert (stored.outcome, stored.before, stored.after, stored.at) == (
        Outcome.SUCCEEDED, {"generation": 4}, {"generation": 5}, T0)


@pytest.mark.parametrize(("reason", "message"), [("  ", "Give a reason"), ("x" * 1001, "keep it under 1000")])
def test_a_reason_is_required(audit_store: AuditStore, reason: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        with audited_action(audit_store, OPERATOR, Permission.OPERATE_DEPLOYMENT, action="scale", target="t",
                            reason=reason):
            pytest.fail("the action must not run")
    assert [r.outcome for r in audit_store.query()] == [Outcome.FAILED]


def test_an_unreachable_audit_store_stops_the_action_before_it_starts(tmp_path) -> None:  # type: ignore[no-untyped-def]
    store = AuditStore(f"sqlite:///{tmp_path / 'missing-dir' / 'audit.db'}")
    with pytest.raises(BackendUnavailable, match="audit store"):
        with audited_action(store, ADMIN, Permission.OPERATE_DEPLOYMENT, action="scale", target="t", reason="r"):
            pytest.fail("the action must not run")


def test_reading_and_exporting_need_their_roles(audit_store: AuditStore) -> None:
    audit_store.append(entry(0, reason='quoted "reason", with comma'))
    with pytest.raises(Forbidden):
        list_audit(audit_store, VIEWER)
    assert len(list_audit(audit_store, OPERATOR)) == 1
    with pytest.raises(Forbidden, match="export the audit log"):
        export_audit_csv(audit_store, OPERATOR)
    rows = list(csv.DictReader(io.StringIO(export_audit_csv(audit_store, ADMIN))))
    assert rows[0]["reason"] == 'quoted "reason", with comma'
    assert rows[0]["parameters"] == '{"replicas": 3}' and rows[0]["outcome"] == "succeeded"
    with pytest.raises(InvalidInput, match="start of the time range"):
        list_audit(audit_store, ADMIN, AuditFilter(since=T0, until=T0))

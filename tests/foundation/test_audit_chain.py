"""The audit log proves itself: a hash chain over every record, guards against REPLACE, UPDATE, DELETE and
TRUNCATE in the database itself, and a SQLite file only its owner may read. On SQLite and a real PostgreSQL."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from console.adapters.audit_store import AuditStore
from console.domain.audit import AuditEntry, Outcome
from console.domain.mlflow_models import PromotionRecord
from tests.helpers import REPOSITORY_ROOT, demo_environment

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def entry(minute: int, **changes: object) -> AuditEntry:
    values: dict[str, object] = dict(at=T0 + timedelta(minutes=minute), username="oscar", role="operator",
                                     action="scale", target="ml-serving/iris", outcome=Outcome.SUCCEEDED,
                                     reason="load", parameters={"replicas": minute}, before={"replicas": 1})
    values.update(changes)
    return AuditEntry(**values)  # type: ignore[arg-type]


def promotion(minute: int) -> PromotionRecord:
    return PromotionRecord(model="iris", alias="champion", version=5, previous_version=4,
                           at=T0 + timedelta(minutes=minute, microseconds=123456), actor="oscar", reason="wins",
                           gate="passed: accuracy", overridden=False)


def test_an_intact_chain_verifies(audit_store: AuditStore) -> None:
    for minute in range(5):
        audit_store.append(entry(minute), alias_changes_made=[promotion(minute)] if minute == 2 else ())
    report = audit_store.verify()
    assert (report.intact, report.checked, report.unchained) == (True, 5, 0)
    history = audit_store.alias_history.changes("iris", "champion")
    assert [(r.version, r.previous_version, r.at) for r in history] == [(5, 4, promotion(2).at)]


def _statements(audit_store: AuditStore) -> list[str]:
    common = ["UPDATE audit_records SET reason = 'edited'", "DELETE FROM audit_records WHERE id = 2",
              "UPDATE alias_changes SET version = 3", "DELETE FROM login_attempts",
              "DELETE FROM revoked_sessions"]
    if audit_store.address.startswith("sqlite"):
        return [*common,
                "REPLACE INTO audit_records (id, at, username, role, action, target, outcome, reason, parameters, "
                "error) SELECT id, at, 'mallory', role, action, target, outcome, reason, parameters, error "
                "FROM audit_records WHERE id = 1",
                "INSERT OR REPLACE INTO login_attempts (id, at, username, succeeded) "
                "SELECT id, at, username, 1 FROM login_attempts"]
    return [*common, "TRUNCATE audit_records CASCADE", "TRUNCATE login_attempts"]


def test_the_database_refuses_every_rewrite(audit_store: AuditStore) -> None:
    for minute in range(3):
        audit_store.append(entry(minute), alias_changes_made=[promotion(minute)])
    audit_store.logins.begin_attempt("oscar", clock=lambda: T0, lookback=timedelta(hours=1),
                                     locked_until=lambda *_: None)
    audit_store.logins.revoke("k" * 64, username="oscar", now=T0)
    engine = sa.create_engine(audit_store.address)
    try:
        for statement in _statements(audit_store):
            with pytest.raises(sa.exc.DatabaseError, match="append-only"):
                with engine.begin() as connection:
                    connection.execute(sa.text(statement))
    finally:
        engine.dispose()
    assert audit_store.verify().intact
    assert [r.username for r in audit_store.query()] == ["oscar"] * 3
    assert [a.succeeded for a in audit_store.logins.attempts_since("oscar", T0 - timedelta(days=1))] == [False]


def _sqlite_file(audit_store: AuditStore) -> Path:
    return Path(audit_store.address.removeprefix("sqlite:///"))


@pytest.mark.parametrize("tamper", ["edit", "remove", "insert"])
def test_a_chain_broken_behind_the_guards_is_found(tmp_path: Path, tamper: str) -> None:
    store = AuditStore(f"sqlite:///{tmp_path / 'audit.db'}")
    for minute in range(4):
        store.append(entry(minute))
    store.dispose()
    # Someone with the file drops the guards and changes history by hand.
    with sqlite3.connect(tmp_path / "audit.db") as connection:
        for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
            connection.execute(f"DROP TRIGGER {name}")
        if tamper == "edit":
            connection.execute("UPDATE audit_records SET reason = 'nothing happened' WHERE id = 2")
        elif tamper == "remove":
            connection.execute("DELETE FROM audit_records WHERE id = 2")
        else:
            connection.execute("INSERT INTO audit_records (at, username, role, action, target, outcome, reason, "
                               "parameters, error, previous_hash, record_hash) SELECT at, 'mallory', role, action, "
                               "target, outcome, reason, parameters, error, previous_hash, record_hash "
                               "FROM audit_records WHERE id = 1")
    report = AuditStore(f"sqlite:///{tmp_path / 'audit.db'}").verify()
    assert not report.intact and report.problems


def test_audit_verify_exits_1_on_a_broken_chain(tmp_path: Path) -> None:
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("CONSOLE_")}, **demo_environment(tmp_path),
           "CONSOLE_PASSWORD": "admin-demo"}
    store = AuditStore(env["CONSOLE_AUDIT_DATABASE_URL"])
    for minute in range(3):
        store.append(entry(minute))
    command = [sys.executable, "-m", "console", "audit", "verify", "--user", "admin"]

    def verify() -> subprocess.CompletedProcess[str]:
        return subprocess.run(command, env=env, cwd=REPOSITORY_ROOT, capture_output=True, text=True, timeout=120)

    intact = verify()
    assert intact.returncode == 0, intact.stderr
    assert "audit log intact: 3 records checked" in intact.stdout
    with sqlite3.connect(_sqlite_file(store)) as connection:
        connection.execute("DROP TRIGGER audit_records_no_update")
        connection.execute("UPDATE audit_records SET target = 'ml-serving/other' WHERE id = 1")
    broken = verify()
    assert broken.returncode == 1
    assert "record 1 was changed after it was written" in broken.stderr


def test_the_sqlite_file_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    store = AuditStore(f"sqlite:///{tmp_path / 'audit.db'}")
    store.append(entry(0))
    assert stat.S_IMODE((tmp_path / "audit.db").stat().st_mode) == 0o600
    # An existing file opened with looser permissions is narrowed.
    (tmp_path / "old.db").touch(mode=0o644)
    (tmp_path / "old.db").chmod(0o644)
    AuditStore(f"sqlite:///{tmp_path / 'old.db'}").ping()
    assert stat.S_IMODE((tmp_path / "old.db").stat().st_mode) == 0o600

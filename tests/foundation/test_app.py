"""The app in Streamlit's AppTest: login, role-filtered navigation, every page for every role."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from console.adapters.audit_store import AuditStore
from console.domain.access import Role, pages_for
from console.domain.audit import AuditEntry, Outcome
from tests.helpers import REPOSITORY_ROOT, signed_in_app

APP = str(REPOSITORY_ROOT / "app.py")


@pytest.fixture()
def demo_env(console_env) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return console_env()


def sign_in(username: str, password: str) -> AppTest:
    return signed_in_app(username, password, timeout_seconds=30)


def page_text(app: AppTest) -> str:
    return " ".join(
        [element.value for element in app.header]
        + [element.value for element in app.info]
        + [element.value for element in app.error]
        + [element.value for element in app.warning]
        + [element.value for element in app.markdown]
    )


def test_login_page_first(demo_env: dict[str, str]) -> None:
    app = AppTest.from_file(APP, default_timeout=30).run()
    assert not app.exception
    assert [field.label for field in app.text_input] == ["Username", "Password"]
    assert "Demo logins" in app.caption[0].value
    assert not app.header  # no page content before signing in


@pytest.mark.parametrize(("username", "role"), [("viewer", Role.VIEWER), ("operator", Role.OPERATOR), ("admin", Role.ADMIN)])
def test_each_role_signs_in_and_renders_each_of_its_pages(demo_env: dict[str, str], username: str, role: Role) -> None:
    app = sign_in(username, f"{username}-demo")
    assert not app.exception
    assert f"`{username}`" in page_text(app)
    assert [element.value for element in app.header] == ["Deployments"]
    for page in pages_for(role):
        app.switch_page(f"pages/{page.key}.py").run()
        assert not app.exception, (page.key, app.exception)
        assert "Traceback" not in page_text(app)
        expected = "Audit log" if page.key == "audit" else page.title
        assert [element.value for element in app.header] == [expected]


def test_viewer_cannot_reach_the_audit_page(demo_env: dict[str, str]) -> None:
    app = sign_in("viewer", "viewer-demo")
    # The viewer's navigation does not register the audit page at all.
    with pytest.raises(ValueError, match="Could not find a navigation page") as caught:
        app.switch_page("pages/audit.py")
    registered = str(caught.value).split("Known pages: ")[1]
    registered_files = [Path(p).stem for p in ast.literal_eval(registered.rstrip(".")) if p.endswith(".py")]
    assert registered_files == [page.key for page in pages_for(Role.VIEWER)]


def test_wrong_password_is_refused_and_recorded(demo_env: dict[str, str]) -> None:
    app = sign_in("operator", "wrong")
    assert not app.exception
    assert "Wrong user name or password" in page_text(app)
    assert not app.header
    attempts = AuditStore(demo_env["CONSOLE_AUDIT_DATABASE_URL"]).logins.attempts_since("operator", _long_ago())
    assert [attempt.succeeded for attempt in attempts] == [False]


def test_sixth_attempt_is_locked_out_even_with_the_right_password(demo_env: dict[str, str]) -> None:
    for _ in range(5):
        sign_in("admin", "nope")
    app = sign_in("admin", "admin-demo")
    assert "Too many failed logins for 'admin'" in page_text(app)
    assert not app.header


def test_audit_page_shows_records_and_offers_csv_to_admin_only(demo_env: dict[str, str]) -> None:
    from datetime import UTC, datetime

    AuditStore(demo_env["CONSOLE_AUDIT_DATABASE_URL"]).append(
        AuditEntry(at=datetime.now(UTC), username="operator", role="operator", action="scale",
                   target="ml-serving/iris-classifier", outcome=Outcome.SUCCEEDED, reason="peak traffic")
    )
    for username, can_download in (("operator", False), ("admin", True)):
        app = sign_in(username, f"{username}-demo")
        app.switch_page("pages/audit.py").run()
        assert not app.exception
        frame = app.dataframe[0].value
        assert list(frame["reason"]) == ["peak traffic"]
        downloads = app.get("download_button")
        assert bool(downloads) is can_download


def test_bad_settings_show_one_message_not_a_traceback(demo_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONSOLE_MAX_REPLICAS", "lots")
    monkeypatch.setenv("CONSOLE_ENV", "prod")
    app = AppTest.from_file(APP, default_timeout=30).run()
    assert not app.exception
    message = app.error[0].value
    assert "settings have problems" in message
    assert "CONSOLE_MAX_REPLICAS must be a whole number" in message and "CONSOLE_ENV must be" in message


def _long_ago():  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime

    return datetime(2000, 1, 1, tzinfo=UTC)

from __future__ import annotations

from pathlib import Path

import pytest

from console.adapters.credentials import CredentialsFile, hash_password
from console.config import DEMO_COOKIE_KEY, load_settings
from console.errors import SettingsError
from console.services.auth import check_production_credentials
from tests.helpers import PRODUCTION_COOKIE_KEY, demo_environment


def test_demo_settings_are_read(tmp_path: Path) -> None:
    env = demo_environment(tmp_path, CONSOLE_NAMESPACES="ml-serving, ml-staging", CONSOLE_MAX_REPLICAS="20")
    settings = load_settings(env)
    assert settings.environment == "demo"
    assert settings.namespaces == ("ml-serving", "ml-staging")
    assert settings.max_replicas == 20
    assert settings.cookie_key == "k" * 48
    assert settings.max_replicas == 20 and settings.request_timeout_seconds == 10.0
    with pytest.raises(AttributeError):
        settings.max_replicas = 3  # type: ignore[misc]


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    env = {
        "CONSOLE_ENV": "staging",
        "CONSOLE_MAX_REPLICAS": "many",
        "CONSOLE_REQUEST_TIMEOUT_SECONDS": "-1",
        "PROMETHEUS_URL": "prometheus:9090",
        "KUBECONFIG": str(tmp_path / "missing-kubeconfig"),
        "CONSOLE_NAMESPACES": "Bad_Name",
        "MLFLOW_TRACKING_USERNAME": "alice",
    }
    with pytest.raises(SettingsError) as caught:
        load_settings(env)
    problems = "\n".join(caught.value.problems)
    for expected in (
        "CONSOLE_ENV must be 'demo' or 'production'",
        "CONSOLE_AUTH_FILE is required",
        "CONSOLE_COOKIE_KEY or CONSOLE_COOKIE_KEY_FILE is required",
        "CONSOLE_AUDIT_DATABASE_URL is required",
        "CONSOLE_MAX_REPLICAS must be a whole number, got 'many'",
        "CONSOLE_REQUEST_TIMEOUT_SECONDS must be between 0.1 and 300",
        "PROMETHEUS_URL must start with one of http://, https://",
        "missing-kubeconfig, which does not exist",
        "'Bad_Name' is not a valid namespace name",
        "MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD must be set together",
    ):
        assert expected in problems
    assert len(caught.value.problems) == 10
    assert "Traceback" not in str(caught.value)


@pytest.mark.parametrize(
    ("key", "message"),
    [
        (DEMO_COOKIE_KEY, "the cookie key is the demo key"),
        ("short-key", "the cookie key is 9 bytes; production needs at least 32"),
    ],
)
def test_production_refuses_weak_cookie_keys(tmp_path: Path, key: str, message: str) -> None:
    env = demo_environment(tmp_path, CONSOLE_ENV="production")
    del env["CONSOLE_COOKIE_KEY_FILE"]
    env["CONSOLE_COOKIE_KEY"] = key
    with pytest.raises(SettingsError) as caught:
        load_settings(env)
    assert any(message in problem for problem in caught.value.problems)
    # The same key is fine for the demo.
    env["CONSOLE_ENV"] = "demo"
    assert load_settings(env).cookie_key == key


def test_cookie_key_inline_and_file_are_exclusive(tmp_path: Path) -> None:
    env = demo_environment(tmp_path, CONSOLE_COOKIE_KEY=PRODUCTION_COOKIE_KEY)
    with pytest.raises(SettingsError, match="settings have problems") as caught:
        load_settings(env)
    assert caught.value.problems == ("set only one of CONSOLE_COOKIE_KEY and CONSOLE_COOKIE_KEY_FILE",)


def test_production_refuses_demo_users(tmp_path: Path) -> None:
    env = demo_environment(tmp_path, CONSOLE_ENV="production")
    (tmp_path / "cookie-key").write_text(PRODUCTION_COOKIE_KEY)
    settings = load_settings(env)
    with pytest.raises(SettingsError) as caught:
        check_production_credentials(settings, CredentialsFile.load(settings.auth_file))
    assert len(caught.value.problems) == 3
    # A demo password copied into a hand-written file, without the demo marker, is caught as well.
    document = {"credentials": {"usernames": {"admin": {"password": hash_password("admin-demo", rounds=4), "roles": ["admin"]}}}}
    with pytest.raises(SettingsError, match="demo logins"):
        check_production_credentials(settings, CredentialsFile.from_document(document, source="test"))
    real = {"credentials": {"usernames": {"admin": {"password": hash_password("s3cret-Long", rounds=4), "roles": ["admin"]}}}}
    check_production_credentials(settings, CredentialsFile.from_document(real, source="test"))


def test_credentials_file_problems_are_listed(tmp_path: Path) -> None:
    document = {
        "credentials": {
            "usernames": {
                "alice": {"password": "plain-text", "roles": ["viewer"]},
                "bob": {"password": hash_password("x", rounds=4), "roles": ["superuser"]},
                "carol": {"password": hash_password("x", rounds=4), "roles": []},
            }
        }
    }
    with pytest.raises(SettingsError) as caught:
        CredentialsFile.from_document(document, source="users.yaml")
    assert caught.value.problems == (
        "credentials.usernames.alice.password: must be a bcrypt hash, not a plain password",
        "credentials.usernames.bob.roles: unknown role 'superuser'; valid roles are viewer, operator, admin",
        "credentials.usernames.carol.roles: no role given",
    )
    broken = tmp_path / "broken.yaml"
    broken.write_text("credentials: [unclosed")
    with pytest.raises(SettingsError, match="not valid YAML"):
        CredentialsFile.load(broken)

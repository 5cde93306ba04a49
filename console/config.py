"""The console's settings: one frozen ``Settings``, read once from environment variables and mounted files.

``load_settings(environ)`` checks everything and raises one ``SettingsError`` listing every problem, so an
operator fixes a deployment in one round instead of one restart per mistake. The console context reads them
once per process; tests call ``load_settings`` with their own mapping.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from console.domain.web_url import web_url_problem
from console.errors import SettingsError

Environment = Literal["demo", "production"]

DEFAULT_MAX_REPLICAS = 50
DEFAULT_REQUEST_TIMEOUT_SECONDS = 10.0
MIN_COOKIE_KEY_BYTES = 32
# The cookie key that the sandbox writes; a production start refuses it even if someone copies it.
DEMO_COOKIE_KEY = "mlops-console-demo-cookie-key-not-a-secret-0000"
# The logins that only the sandbox creates; a production start refuses any user that still has one of them.
DEMO_LOGINS: dict[str, str] = {"viewer": "viewer-demo", "operator": "operator-demo", "admin": "admin-demo"}
# A Kubernetes namespace name (RFC 1123 label).
_NAMESPACE_RE = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


@dataclass(frozen=True)
class Settings:
    """Everything the console is configured with. See the README's settings table."""

    environment: Environment
    auth_file: Path
    cookie_key: str = field(repr=False)
    audit_database_url: str = field(repr=False)
    mlflow_tracking_uri: str | None = None
    mlflow_tracking_token: str | None = field(default=None, repr=False)
    mlflow_tracking_username: str | None = None
    mlflow_tracking_password: str | None = field(default=None, repr=False)
    mlflow_ui_url: str | None = None
    prometheus_url: str | None = None
    prometheus_bearer_token_file: Path | None = None
    prometheus_ca_bundle: Path | None = None
    kubeconfig: Path | None = None
    kube_in_cluster: bool = False
    namespaces: tuple[str, ...] = ()
    slo_directory: Path | None = None
    public_url: str | None = None  # the console's address as a browser reaches it; alerts link to it
    metrics_enabled: bool = False  # Streamlit's unauthenticated /_stcore/metrics endpoint
    max_replicas: int = DEFAULT_MAX_REPLICAS
    request_timeout_seconds: float = DEFAULT_REQUEST_TIMEOUT_SECONDS
    cookie_name: str = "mlops_console_auth"
    cookie_expiry_days: float = 1.0

    @property
    def kubernetes_configured(self) -> bool:
        return self.kube_in_cluster or self.kubeconfig is not None

    @property
    def is_production(self) -> bool:
        return self.environment == "production"


class _Reader:
    """Collects problems while reading, so that one error lists them all."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.environ = environ
        self.problems: list[str] = []

    def text(self, name: str, *, required: bool = False) -> str | None:
        value = self.environ.get(name, "").strip()
        if not value:
            if required:
                self.problems.append(f"{name} is required but not set")
            return None
        return value

    def path(self, name: str, *, required: bool = False, must_exist: bool = True) -> Path | None:
        value = self.text(name, required=required)
        if value is None:
            return None
        path = Path(value).expanduser()
        if must_exist and not path.exists():
            self.problems.append(f"{name} points to {path}, which does not exist")
        return path

    def number(self, name: str, default: float, *, minimum: float, maximum: float, whole: bool) -> float:
        value = self.text(name)
        if value is None:
            return default
        try:
            number = int(value) if whole else float(value)
        except ValueError:
            kind = "a whole number" if whole else "a number"
            self.problems.append(f"{name} must be {kind}, got {value!r}")
            return default
        if not minimum <= number <= maximum:
            self.problems.append(f"{name} must be between {minimum:g} and {maximum:g}, got {value}")
            return default
        return number

    def flag(self, name: str) -> bool:
        value = self.text(name)
        if value is None:
            return False
        if value.lower() in ("1", "true", "yes", "on"):
            return True
        if value.lower() in ("0", "false", "no", "off"):
            return False
        self.problems.append(f"{name} must be true or false, got {value!r}")
        return False

    def secret(self, name: str, file_name: str) -> str | None:
        """A secret given inline (``NAME``) or as a mounted file (``NAME_FILE``), never both."""
        inline = self.text(name)
        path = self.path(file_name)
        if inline is not None and path is not None:
            self.problems.append(f"set only one of {name} and {file_name}")
            return inline
        if path is not None and path.is_file():
            return path.read_text(encoding="utf-8").strip() or None
        return inline


def _check_url(reader: _Reader, name: str, value: str | None, schemes: tuple[str, ...]) -> None:
    if value is not None and not value.startswith(tuple(f"{scheme}://" for scheme in schemes)):
        allowed = ", ".join(f"{scheme}://" for scheme in schemes)
        reader.problems.append(f"{name} must start with one of {allowed}, got {value!r}")


def public_url_problem(value: str) -> str:
    """Why ``value`` cannot be ``CONSOLE_PUBLIC_URL`` (the base that ``/slos?slo=...`` is appended to), or ""."""
    problem = web_url_problem(value, example="https://mlops-console.apps.example.com", allow_query=False)
    return f"CONSOLE_PUBLIC_URL {problem}" if problem else ""


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read and check every setting; raise one ``SettingsError`` that lists every problem."""
    reader = _Reader(os.environ if environ is None else environ)

    environment = reader.text("CONSOLE_ENV") or "production"
    if environment not in ("demo", "production"):
        reader.problems.append(f"CONSOLE_ENV must be 'demo' or 'production', got {environment!r}")
        environment = "production"

    auth_file = reader.path("CONSOLE_AUTH_FILE", required=True)
    cookie_key = reader.secret("CONSOLE_COOKIE_KEY", "CONSOLE_COOKIE_KEY_FILE")
    if cookie_key is None:
        reader.problems.append("CONSOLE_COOKIE_KEY or CONSOLE_COOKIE_KEY_FILE is required but not set")
    elif environment == "production":
        if cookie_key == DEMO_COOKIE_KEY:
            reader.problems.append("the cookie key is the demo key; production needs its own secret key")
        elif len(cookie_key.encode("utf-8")) < MIN_COOKIE_KEY_BYTES:
            reader.problems.append(
                f"the cookie key is {len(cookie_key.encode('utf-8'))} bytes; production needs at least "
                f"{MIN_COOKIE_KEY_BYTES}"
            )

    audit_database_url = reader.text("CONSOLE_AUDIT_DATABASE_URL", required=True)
    _check_url(reader, "CONSOLE_AUDIT_DATABASE_URL", audit_database_url, ("sqlite", "postgresql", "postgresql+psycopg"))

    mlflow_tracking_uri = reader.text("MLFLOW_TRACKING_URI")
    _check_url(reader, "MLFLOW_TRACKING_URI", mlflow_tracking_uri, ("sqlite", "http", "https", "file"))
    mlflow_token = reader.secret("MLFLOW_TRACKING_TOKEN", "MLFLOW_TRACKING_TOKEN_FILE")
    mlflow_username = reader.text("MLFLOW_TRACKING_USERNAME")
    mlflow_password = reader.secret("MLFLOW_TRACKING_PASSWORD", "MLFLOW_TRACKING_PASSWORD_FILE")
    if (mlflow_username is None) != (mlflow_password is None):
        reader.problems.append("MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD must be set together")
    mlflow_ui_url = reader.text("MLFLOW_UI_URL")
    _check_url(reader, "MLFLOW_UI_URL", mlflow_ui_url, ("http", "https"))

    prometheus_url = reader.text("PROMETHEUS_URL")
    _check_url(reader, "PROMETHEUS_URL", prometheus_url, ("http", "https"))
    prometheus_token_file = reader.path("PROMETHEUS_BEARER_TOKEN_FILE")
    prometheus_ca_bundle = reader.path("PROMETHEUS_CA_BUNDLE")

    kube_in_cluster = reader.flag("CONSOLE_KUBE_IN_CLUSTER")
    kubeconfig = reader.path("KUBECONFIG")
    if kube_in_cluster and kubeconfig is not None:
        reader.problems.append("set only one of KUBECONFIG and CONSOLE_KUBE_IN_CLUSTER=true")

    namespaces_text = reader.text("CONSOLE_NAMESPACES") or ""
    namespaces = tuple(name.strip() for name in namespaces_text.split(",") if name.strip())
    for name in namespaces:
        if not _NAMESPACE_RE.match(name):
            reader.problems.append(f"CONSOLE_NAMESPACES: {name!r} is not a valid namespace name")
    if len(set(namespaces)) != len(namespaces):
        reader.problems.append("CONSOLE_NAMESPACES lists a namespace twice")
    if (kube_in_cluster or kubeconfig is not None) and not namespaces:
        reader.problems.append("CONSOLE_NAMESPACES is required when Kubernetes is configured")

    slo_directory = reader.path("CONSOLE_SLO_DIR")
    if slo_directory is not None and slo_directory.exists() and not slo_directory.is_dir():
        reader.problems.append(f"CONSOLE_SLO_DIR points to {slo_directory}, which is not a directory")

    metrics_enabled = reader.flag("CONSOLE_METRICS_ENABLED")
    public_url = reader.text("CONSOLE_PUBLIC_URL")
    if public_url is not None and (problem := public_url_problem(public_url)):
        reader.problems.append(problem)
        public_url = None

    max_replicas = int(reader.number("CONSOLE_MAX_REPLICAS", DEFAULT_MAX_REPLICAS, minimum=1, maximum=1000, whole=True))
    timeout = reader.number(
        "CONSOLE_REQUEST_TIMEOUT_SECONDS", DEFAULT_REQUEST_TIMEOUT_SECONDS, minimum=0.1, maximum=300, whole=False
    )

    if reader.problems:
        raise SettingsError("The console cannot start: its settings have problems.", problems=reader.problems)
    assert auth_file is not None and cookie_key is not None and audit_database_url is not None
    return Settings(
        environment=environment,  # type: ignore[arg-type]
        auth_file=auth_file,
        cookie_key=cookie_key,
        audit_database_url=audit_database_url,
        mlflow_tracking_uri=mlflow_tracking_uri,
        mlflow_tracking_token=mlflow_token,
        mlflow_tracking_username=mlflow_username,
        mlflow_tracking_password=mlflow_password,
        mlflow_ui_url=mlflow_ui_url,
        prometheus_url=prometheus_url,
        prometheus_bearer_token_file=prometheus_token_file,
        prometheus_ca_bundle=prometheus_ca_bundle,
        kubeconfig=kubeconfig,
        kube_in_cluster=kube_in_cluster,
        namespaces=namespaces,
        slo_directory=slo_directory,
        public_url=public_url.rstrip("/") if public_url else None,
        metrics_enabled=metrics_enabled,
        max_replicas=max_replicas,
        request_timeout_seconds=timeout,
    )


def metrics_endpoint_enabled(environ: Mapping[str, str] | None = None) -> bool:
    """Whether ``CONSOLE_METRICS_ENABLED`` turns Streamlit's metrics endpoint on (anything malformed: off; the
    full settings check reports it)."""
    reader = _Reader(os.environ if environ is None else environ)
    enabled = reader.flag("CONSOLE_METRICS_ENABLED")
    return enabled and not reader.problems

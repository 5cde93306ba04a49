"""The console's composition root: settings, credentials, the audit store, a clock and every backend adapter.

One ``ConsoleContext`` per process serves the pages and the command line alike. Backends connect on first use
and are kept; a backend that is not configured, or fails to connect, raises ``BackendUnavailable`` each time it is
asked for (nothing is kept), so a page says what is missing and works again once it is there. Use cases get
their dependencies from here, never from globals.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from console.adapters.audit_store import AuditStore
from console.adapters.credentials import CredentialsFile
from console.adapters.kubernetes import KubernetesCluster
from console.adapters.mlflow_registry import MlflowRegistry
from console.adapters.prometheus import PrometheusClient
from console.config import Settings, load_settings
from console.errors import BackendUnavailable
from console.services.auth import check_production_credentials
from console.services.clock import Clock, utc_now
from console.services.promotion import Promotions

T = TypeVar("T")


def connect_kubernetes(settings: Settings) -> KubernetesCluster:
    """The Kubernetes adapter for the configured cluster; BackendUnavailable when none is configured."""
    if not settings.kubernetes_configured:
        raise BackendUnavailable(
            "Kubernetes is not connected: set KUBECONFIG or CONSOLE_KUBE_IN_CLUSTER=true.", backend="Kubernetes"
        )
    return KubernetesCluster(
        namespaces=settings.namespaces,
        kubeconfig=settings.kubeconfig,
        in_cluster=settings.kube_in_cluster,
        timeout_seconds=settings.request_timeout_seconds,
    )


def connect_mlflow(settings: Settings) -> MlflowRegistry:
    """The MLflow adapter for the configured tracking server or store."""
    if not settings.mlflow_tracking_uri:
        raise BackendUnavailable("MLflow is not connected: set MLFLOW_TRACKING_URI.", backend="MLflow")
    return MlflowRegistry(
        settings.mlflow_tracking_uri,
        token=settings.mlflow_tracking_token,
        username=settings.mlflow_tracking_username,
        password=settings.mlflow_tracking_password,
        timeout_seconds=max(1, round(settings.request_timeout_seconds)),
    )


def connect_prometheus(settings: Settings) -> PrometheusClient:
    """The Prometheus (or Thanos Querier) adapter."""
    if not settings.prometheus_url:
        raise BackendUnavailable("Prometheus is not connected: set PROMETHEUS_URL.", backend="Prometheus")
    return PrometheusClient(
        settings.prometheus_url,
        bearer_token_file=settings.prometheus_bearer_token_file,
        ca_bundle=settings.prometheus_ca_bundle,
        timeout_seconds=settings.request_timeout_seconds,
    )


class _Backends:
    """Adapters connected on first use, one of each, shared by every caller of the context."""

    def __init__(self, settings: Settings, on_connect: Callable[[], None]) -> None:
        self._settings = settings
        self._on_connect = on_connect
        self._lock = threading.Lock()
        self._connected: dict[str, Any] = {}

    def get(self, name: str, connect: Callable[[Settings], T]) -> T:
        with self._lock:
            if name not in self._connected:
                self._connected[name] = connect(self._settings)  # raises: nothing kept, asked again next time
                self._on_connect()
            return self._connected[name]


@dataclass(frozen=True)
class ConsoleContext:
    """Everything a use case needs from the process, built once (``build_context``), never mutated."""

    settings: Settings
    credentials: CredentialsFile
    audit: AuditStore
    clock: Clock = field(default=utc_now)
    on_connect: Callable[[], None] = field(default=lambda: None, repr=False)
    _backends: _Backends = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_backends", _Backends(self.settings, self.on_connect))

    def kubernetes(self) -> KubernetesCluster:
        """The Kubernetes adapter (BackendUnavailable when Kubernetes is not configured)."""
        return self._backends.get("kubernetes", connect_kubernetes)

    def optional_kubernetes(self) -> KubernetesCluster | None:
        """The Kubernetes adapter when Kubernetes is configured; None lets a promotion change only the registry."""
        return self.kubernetes() if self.settings.kubernetes_configured else None

    def mlflow(self) -> MlflowRegistry:
        """The MLflow adapter (BackendUnavailable when MLflow is not configured)."""
        return self._backends.get("mlflow", connect_mlflow)

    def prometheus(self) -> PrometheusClient:
        """The Prometheus adapter (BackendUnavailable when Prometheus is not configured)."""
        return self._backends.get("prometheus", connect_prometheus)

    def promotions(self) -> Promotions:
        """The promotion use cases over this context's registry, cluster (when configured) and audit store."""
        return Promotions(registry=self.mlflow(), cluster=self.optional_kubernetes(), audit=self.audit,
                          clock=self.clock)


def build_context(settings: Settings | None = None, *, on_connect: Callable[[], None] = lambda: None) -> ConsoleContext:
    """Read settings and credentials and open the audit store; raise one SettingsError on any problem.

    ``on_connect`` runs after each backend connects (the web console moves the new long-lived objects out of the
    garbage collector's sight there).
    """
    settings = settings or load_settings()
    credentials = CredentialsFile.load(settings.auth_file)
    check_production_credentials(settings, credentials)
    audit = AuditStore(settings.audit_database_url, timeout_seconds=settings.request_timeout_seconds)
    return ConsoleContext(settings=settings, credentials=credentials, audit=audit, on_connect=on_connect)

"""What every use case needs from the process: settings, the credentials file, the audit store and a clock."""

from __future__ import annotations

from dataclasses import dataclass, field

from console.adapters.audit_store import AuditStore
from console.adapters.credentials import CredentialsFile
from console.adapters.kubernetes import KubernetesCluster
from console.adapters.mlflow_registry import MlflowRegistry
from console.adapters.prometheus import PrometheusClient
from console.config import Settings, load_settings
from console.errors import BackendUnavailable
from console.services.auth import check_production_credentials
from console.services.clock import Clock, utc_now


@dataclass(frozen=True)
class ConsoleContext:
    settings: Settings
    credentials: CredentialsFile
    audit: AuditStore
    clock: Clock = field(default=utc_now)


def build_context(settings: Settings | None = None) -> ConsoleContext:
    """Read settings and credentials and open the audit store; raise one SettingsError on any problem."""
    settings = settings or load_settings()
    credentials = CredentialsFile.load(settings.auth_file)
    check_production_credentials(settings, credentials)
    audit = AuditStore(settings.audit_database_url, timeout_seconds=settings.request_timeout_seconds)
    return ConsoleContext(settings=settings, credentials=credentials, audit=audit)


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

"""Backend adapters as Streamlit resources: built once per process, never mutated by a page."""

from __future__ import annotations

import streamlit as st

from console.adapters.kubernetes import KubernetesCluster
from console.adapters.mlflow_registry import MlflowRegistry
from console.adapters.prometheus import PrometheusClient
from console.services.context import connect_kubernetes, connect_mlflow, connect_prometheus
from console.ui.context import get_context, keep_out_of_collections


@st.cache_resource(show_spinner=False)
def kubernetes_cluster() -> KubernetesCluster:
    """The Kubernetes adapter; raises BackendUnavailable (not cached) when Kubernetes is not configured."""
    adapter = connect_kubernetes(get_context().settings)
    keep_out_of_collections()
    return adapter


@st.cache_resource(show_spinner=False)
def mlflow_registry() -> MlflowRegistry:
    """The MLflow adapter; raises BackendUnavailable (not cached) when MLflow is not configured."""
    adapter = connect_mlflow(get_context().settings)
    keep_out_of_collections()
    return adapter


@st.cache_resource(show_spinner=False)
def prometheus_client() -> PrometheusClient:
    """The Prometheus adapter; raises BackendUnavailable (not cached) when Prometheus is not configured."""
    adapter = connect_prometheus(get_context().settings)
    keep_out_of_collections()
    return adapter

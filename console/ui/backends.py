"""Backend adapters as Streamlit resources: built once per process, never mutated by a page."""

from __future__ import annotations

import streamlit as st

from console.adapters.kubernetes import KubernetesCluster
from console.services.context import connect_kubernetes
from console.ui.context import get_context


@st.cache_resource(show_spinner=False)
def kubernetes_cluster() -> KubernetesCluster:
    """The Kubernetes adapter; raises BackendUnavailable (not cached) when Kubernetes is not configured."""
    return connect_kubernetes(get_context().settings)

"""Deployments: model-serving deployments in the allowed namespaces."""

import streamlit as st

from console.ui.errors import not_connected

st.header("Deployments")
not_connected("the Kubernetes API")

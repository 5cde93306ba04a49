"""Logs: logs of the pods that serve models."""

import streamlit as st

from console.ui.errors import not_connected

st.header("Logs")
not_connected("the Kubernetes API")

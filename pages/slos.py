"""SLOs: service level objectives and error budgets."""

import streamlit as st

from console.ui.errors import not_connected

st.header("SLOs")
not_connected("Prometheus")

"""Experiments: experiment runs, compared."""

import streamlit as st

from console.ui.errors import not_connected

st.header("Experiments")
not_connected("the MLflow tracking server")

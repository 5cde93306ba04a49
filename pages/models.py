"""Models: registered models, their versions and aliases."""

import streamlit as st

from console.ui.errors import not_connected

st.header("Models")
not_connected("the MLflow model registry")

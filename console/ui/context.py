"""The process-wide console context and the signed-in actor, as Streamlit pages get them."""

from __future__ import annotations

import streamlit as st

from console.domain.access import Actor
from console.services.context import ConsoleContext, build_context

ACTOR_KEY = "console_actor"


@st.cache_resource(show_spinner=False)
def get_context() -> ConsoleContext:
    """Settings, credentials and the audit store, built once per process (never mutated)."""
    return build_context()


def current_actor() -> Actor:
    """The signed-in user. The entry script guarantees one before it registers any page; a page reached
    another way (Streamlit's ``pages/`` mode, before the first sign-in of the process) goes to the sign-in."""
    actor = st.session_state.get(ACTOR_KEY)
    if not isinstance(actor, Actor):
        st.switch_page("app.py")
    return actor

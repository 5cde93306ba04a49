"""The process-wide console context and the signed-in actor, as Streamlit pages get them."""

from __future__ import annotations

import streamlit as st

from console.domain.access import Actor
from console.errors import ConsoleError
from console.services.context import ConsoleContext, build_context

ACTOR_KEY = "console_actor"


@st.cache_resource(show_spinner=False)
def get_context() -> ConsoleContext:
    """Settings, credentials and the audit store, built once per process (never mutated)."""
    return build_context()


def current_actor() -> Actor:
    """The signed-in user; the entry script guarantees one before any page runs."""
    actor = st.session_state.get(ACTOR_KEY)
    if not isinstance(actor, Actor):
        raise ConsoleError("You are not signed in.")
    return actor

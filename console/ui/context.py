"""The process-wide console context and the signed-in actor, as Streamlit pages get them."""

from __future__ import annotations

import gc

import streamlit as st

from console.domain.access import Actor
from console.services.context import ConsoleContext, build_context

ACTOR_KEY = "console_actor"


@st.cache_resource(show_spinner=False)
def get_context() -> ConsoleContext:
    """Settings, credentials and the audit store, built once per process (never mutated)."""
    context = build_context()
    keep_out_of_collections()
    return context


def keep_out_of_collections() -> None:
    """Move everything alive now (the imported SDKs, the objects built once per process) out of the collector's
    sight, after a collection of what is garbage already.

    The console process holds a few hundred thousand such objects (Streamlit, MLflow, pandas, the Kubernetes
    client); a page that parses a large list makes Python's collector walk all of them in a full collection,
    about 100-200 ms on its own, every few renders. Called each time a process-wide resource is built.
    """
    gc.collect()
    gc.freeze()


def current_actor() -> Actor:
    """The signed-in user. The entry script guarantees one before it registers any page; a page reached
    another way (Streamlit's ``pages/`` mode, before the first sign-in of the process) goes to the sign-in."""
    actor = st.session_state.get(ACTOR_KEY)
    if not isinstance(actor, Actor):
        st.switch_page("app.py")
    return actor

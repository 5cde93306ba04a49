"""The UI's composition root: one console context per process, and the signed-in actor of the session.

Every page and dialog gets its backends, settings, audit store and clock from ``get_context()``; nothing else
in ``console.ui`` builds or caches an adapter.
"""

from __future__ import annotations

import gc

import streamlit as st

from console.domain.access import Actor
from console.services.context import ConsoleContext, build_context
from console.ui import session


@st.cache_resource(show_spinner=False)
def get_context() -> ConsoleContext:
    """Settings, credentials, the audit store and the backends (connected on first use), built once per process."""
    context = build_context(on_connect=keep_out_of_collections)
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
    actor = session.signed_in_actor()
    if actor is None:
        st.switch_page("app.py")
    assert actor is not None
    return actor

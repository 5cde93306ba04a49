"""The router's pieces: which pages a user gets, and one screen shown at every page's address.

st.navigation runs on every path, the sign-in screen included: that turns off Streamlit's older ``pages/``
directory mode, in which a page file could be opened by its URL without passing through the login gate.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NoReturn

import streamlit as st

from console.domain.access import PAGES, Actor, pages_for
from console.errors import ConsoleError
from console.services.context import ConsoleContext
from console.ui.context import get_context
from console.ui.errors import show_error


def only(screen: Callable[[], None]) -> NoReturn:
    """Show one screen at every page's address, so a deep link lands on it and, after sign-in, on its page."""
    screens = [st.Page(screen, title="ML operations console", default=True)]
    screens += [st.Page(screen, title=page.title, url_path=page.key) for page in PAGES]
    st.navigation(screens, position="hidden").run()
    st.stop()
    raise AssertionError("unreachable: st.stop() ends the run")


def startup_context() -> ConsoleContext:
    """The console's context; a settings or credentials problem is the only screen, at every address."""
    try:
        return get_context()
    except ConsoleError as err:
        startup_error = err  # the except clause's own name is gone once it ends; the screen runs later
    only(lambda: show_error(startup_error))


def run_pages(actor: Actor) -> None:
    """The pages ``actor``'s role may see, each at its own address (/deployments, /models, ...)."""
    pages = [st.Page(f"pages/{page.key}.py", title=page.title, icon=page.icon, url_path=page.key)
             for page in pages_for(actor.role)]

    def home() -> None:
        # Streamlit gives the default page no address of its own; a hidden default that forwards to the first
        # page lets every page, the first included, keep its address (/deployments).
        st.switch_page(pages[0])

    st.navigation([st.Page(home, title="Home", default=True, visibility="hidden"), *pages]).run()

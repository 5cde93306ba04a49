"""Entry of the ML operations console: the login gate, then the pages the user's role may see.

st.navigation runs on every path, the sign-in screen included: that turns off Streamlit's older ``pages/``
directory mode, in which a page file could be opened by its URL without passing through this gate.
"""

import streamlit as st

from console.domain.access import PAGES, pages_for
from console.errors import ConsoleError
from console.ui.context import get_context
from console.ui.errors import show_error
from console.ui.login import login_form, login_gate, logout

st.set_page_config(page_title="ML operations console", page_icon=":material/monitoring:", layout="wide")


def _only(page_function) -> None:  # type: ignore[no-untyped-def]
    """Show one screen at every page's address, so a deep link lands on it and, after sign-in, on its page."""
    screens = [st.Page(page_function, title="ML operations console", default=True)]
    screens += [st.Page(page_function, title=page.title, url_path=page.key) for page in PAGES]
    st.navigation(screens, position="hidden").run()
    st.stop()


try:
    context = get_context()
except ConsoleError as startup_error:
    _only(lambda: show_error(startup_error))

actor, authenticator = login_gate(context)
if actor is None:
    _only(lambda: login_form(context))

with st.sidebar:
    st.markdown(f"**{actor.display_name}** · `{actor.role.label}`")
    if st.button("Log out", key="console_logout", icon=":material/logout:"):
        logout(authenticator)
        _only(lambda: st.info("You are logged out. Reload the page to sign in again."))

pages = [st.Page(f"pages/{page.key}.py", title=page.title, icon=page.icon, url_path=page.key) for page in pages_for(actor.role)]


def home() -> None:
    # Streamlit gives the default page no address of its own; a hidden default that forwards to the first
    # page lets every page, the first included, keep its address (/deployments).
    st.switch_page(pages[0])


st.navigation([st.Page(home, title="Home", default=True, visibility="hidden"), *pages]).run()

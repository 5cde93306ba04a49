"""Entry of the ML operations console: the login gate, then the pages the user's role may see."""

import streamlit as st

from console.domain.access import pages_for
from console.errors import ConsoleError
from console.ui.context import get_context
from console.ui.errors import show_error
from console.ui.login import login_gate, logout

st.set_page_config(page_title="ML operations console", page_icon=":material/monitoring:", layout="wide")

try:
    context = get_context()
except ConsoleError as err:
    show_error(err)
    st.stop()

signed_in = login_gate(context)
if signed_in is None:
    st.stop()
actor, authenticator = signed_in

with st.sidebar:
    st.markdown(f"**{actor.display_name}** · `{actor.role.label}`")
    if st.button("Log out", key="console_logout", icon=":material/logout:"):
        logout(authenticator)
        st.info("You are logged out.")
        st.stop()

pages = [st.Page(f"pages/{page.key}.py", title=page.title, icon=page.icon, url_path=page.key) for page in pages_for(actor.role)]
st.navigation(pages).run()

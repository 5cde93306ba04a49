"""Entry of the ML operations console, its router: the login gate, then the pages the user's role may see."""

import streamlit as st

from console.ui import navigation
from console.ui.login import login_form, login_gate, logout

st.set_page_config(page_title="ML operations console", page_icon=":material/monitoring:", layout="wide")

context = navigation.startup_context()
actor, authenticator = login_gate(context)
if actor is None:
    navigation.only(lambda: login_form(context))

with st.sidebar:
    st.markdown(f"**{actor.display_name}** · `{actor.role.label}`")
    if st.button("Log out", key="console_logout", icon=":material/logout:"):
        logout(context, actor, authenticator)
        navigation.only(lambda: st.info("You are logged out. Reload the page to sign in again."))

navigation.run_pages(actor)

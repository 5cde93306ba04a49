"""The console's web server: ``streamlit run server.py`` serves ``app.py`` behind the console's own middleware
(``console/ui/web_server.py``)."""

import streamlit as st

from console.ui.web_server import MIDDLEWARE

app = st.App("app.py", middleware=MIDDLEWARE)

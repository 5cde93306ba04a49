"""Logs: one pod's container log, or every pod of a deployment merged by time; filter, follow, download."""

import streamlit as st

from console.ui import logs_view as view
from console.ui.context import current_actor, get_context
from console.ui.errors import shown_errors

st.header("Logs")
context = get_context()
actor = current_actor()

with shown_errors():
    view.apply_query_params(context.settings.namespaces)
    target = view.pick_target(context, actor)
    if target is not None:
        options = view.options_form(target)
        if not target.pods:
            st.info(f"{target.namespace}/{target.deployment} has no pods.")
        else:
            buffer = view.load(context, actor, options.request, target.pods)
            view.live_log(context, actor, buffer, timestamps=options.timestamps, follow=options.follow)

"""Audit: who did what, when and why, with the outcome of every attempt."""

import streamlit as st

from console.services.audit import audit_filter_choices, list_audit
from console.ui.audit_view import download_button, filter_form, records_frame
from console.ui.context import current_actor, get_context
from console.ui.errors import shown_errors

st.header("Audit log")
context = get_context()
actor = current_actor()

with shown_errors():
    usernames, actions = audit_filter_choices(context.audit, actor)
    audit_filter = filter_form(usernames, actions, today=context.clock().date())
    records = list_audit(context.audit, actor, audit_filter)
    st.caption(f"{len(records)} records, newest first (at most {audit_filter.limit}).")
    st.dataframe(records_frame(records), hide_index=True, width="stretch")
    download_button(context, actor, audit_filter)

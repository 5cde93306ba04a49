"""Audit: who did what, when and why, with the outcome of every attempt."""

import streamlit as st

from console.domain.access import Permission
from console.services.audit import export_audit_csv, list_audit
from console.ui.audit_view import filter_form, records_frame
from console.ui.context import current_actor, get_context
from console.ui.errors import shown_errors

st.header("Audit log")
context = get_context()
actor = current_actor()

with shown_errors():
    audit_filter = filter_form(
        context.audit.distinct_values("username"),
        context.audit.distinct_values("action"),
        today=context.clock().date(),
    )
    records = list_audit(context.audit, actor, audit_filter)
    st.caption(f"{len(records)} records, newest first (at most {audit_filter.limit}).")
    st.dataframe(records_frame(records), hide_index=True, width="stretch")
    if actor.can(Permission.EXPORT_AUDIT):
        st.download_button(
            "Download CSV",
            data=lambda: export_audit_csv(context.audit, actor, audit_filter),
            file_name="audit.csv",
            mime="text/csv",
            icon=":material/download:",
        )

"""Deployments: every model-serving service at a glance; detail, history and actions for one."""

import streamlit as st

from console.services.deployments import deployment_detail
from console.ui import deployments_view as view
from console.ui import readers
from console.ui.context import current_actor, get_context
from console.ui.errors import show_notice, shown_errors
from console.ui.rollouts import rollout_tile

st.header("Deployments")
context = get_context()
actor = current_actor()
now = context.clock()

show_notice(view.PAGE)
rollout_tile(context, actor, page=view.PAGE)

selected = None
with shown_errors():
    rows = readers.deployment_rows(context, actor)
    filters = st.columns([2, 2, 3])
    namespaces = filters[0].multiselect("Namespace", context.settings.namespaces, key="deploy_ns")
    healths = filters[1].multiselect("Health", view.HEALTH_CHOICES, key="deploy_health")
    text = filters[2].text_input("Search name, image, model or change", key="deploy_text")
    shown = view.filtered(rows, namespaces=namespaces, healths=healths, text=text)
    st.caption(f"{len(shown)} of {len(rows)} deployments")
    selection = st.dataframe(view.overview_frame(shown, now), hide_index=True, width="stretch",
                             on_select="rerun", selection_mode="single-row", key="deploy_table")
    picked = selection.selection.rows if selection else []
    keys = [row.deployment.key for row in shown]
    default = f"{st.query_params.get('namespace')}/{st.query_params.get('deployment')}"
    if picked:
        selected = keys[picked[0]]
    elif default in keys:
        selected = default

if selected:
    namespace, name = selected.split("/", 1)
    with shown_errors():
        detail = deployment_detail(context.kubernetes(), actor, namespace, name)
        st.subheader(detail.deployment.key)
        st.caption(view.detail_caption(detail.deployment))
        view.action_bar(context, actor, detail)
        history, pods, events = st.tabs(["Revision history", "Pods", "Events"])
        history.dataframe(view.revisions_frame(detail, now), hide_index=True, width="stretch")
        pods.dataframe(view.pods_frame(detail, now), hide_index=True, width="stretch")
        pods.page_link("pages/logs.py", label="Logs of these pods", icon=":material/article:",
                       query_params={"namespace": namespace, "deployment": name})
        events.dataframe(view.events_frame(detail, now), hide_index=True, width="stretch")

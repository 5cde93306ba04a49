"""Deployments: every model-serving service at a glance; detail, history and actions for one."""

import streamlit as st

from console.domain.workloads import Health
from console.services.deployments import deployment_detail
from console.ui.backends import kubernetes_cluster
from console.ui.context import current_actor, get_context
from console.ui import deployments_view as view
from console.ui.errors import shown_errors

st.header("Deployments")
context = get_context()
actor = current_actor()
now = context.clock()

if message := st.session_state.pop(view.MESSAGE_KEY, None):
    (st.error if st.session_state.pop(view.FAILED_KEY, False) else st.success)(message)
view.rollout_watch(actor)

selected = None
with shown_errors():
    rows = view.cached_rows(context.settings.namespaces, actor)
    filters = st.columns([2, 2, 3])
    namespaces = filters[0].multiselect("Namespace", context.settings.namespaces, key="deploy_ns")
    healths = filters[1].multiselect("Health", [h.value for h in Health], key="deploy_health")
    text = filters[2].text_input("Search name, image, model or change", key="deploy_text").strip().lower()
    shown = [
        row for row in rows
        if (not namespaces or row.deployment.namespace in namespaces)
        and (not healths or row.deployment.health.value in healths)
        and (not text or text in " ".join((row.deployment.key, *row.deployment.images, row.deployment.model,
                                           row.deployment.change_cause)).lower())
    ]
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
        detail = deployment_detail(kubernetes_cluster(), actor, namespace, name)
        deployment = detail.deployment
        st.subheader(deployment.key)
        st.caption(f"{view.HEALTH_ICONS[deployment.health]} {deployment.health.value} {deployment.health_reason} · "
                   f"model {deployment.model or '-'} v{deployment.model_version or '-'} · follows alias "
                   f"{deployment.alias or '-'} · resourceVersion {deployment.resource_version}")
        view.action_bar(context, actor, detail)
        history, pods, events = st.tabs(["Revision history", "Pods", "Events"])
        history.dataframe(view.revisions_frame(detail, now), hide_index=True, width="stretch")
        pods.dataframe(view.pods_frame(detail, now), hide_index=True, width="stretch")
        pods.page_link("pages/logs.py", label="Logs of these pods", icon=":material/article:",
                       query_params={"namespace": namespace, "deployment": name})
        events.dataframe(view.events_frame(detail, now), hide_index=True, width="stretch")

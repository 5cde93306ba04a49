"""Logs: one pod's container log, or every pod of a deployment merged by time; filter, follow, download."""

import streamlit as st

from console.ui import logs_view as view
from console.ui.backends import kubernetes_cluster
from console.ui.context import current_actor, get_context
from console.ui.errors import shown_errors

st.header("Logs")
namespaces = get_context().settings.namespaces
actor = current_actor()

with shown_errors():
    cluster = kubernetes_cluster()
    view.apply_query_params(namespaces)
    target = view.pick_target(cluster, actor, namespaces)
    if target is not None:
        namespace, deployment, pod, container, pods = target
        request, timestamps, follow = view.options_form(namespace, deployment, pod, container)
        if not pods:
            st.info(f"{namespace}/{deployment} has no pods.")
        else:
            buffer = view.load(cluster, actor, request, pods)
            view.live_log(cluster, actor, buffer, timestamps=timestamps, follow=follow)

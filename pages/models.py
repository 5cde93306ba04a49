"""Models: registered models, versions with their key metric, aliases, promotion history and promotion."""

import streamlit as st

from console.ui import models_view as view
from console.ui import readers
from console.ui.context import current_actor, get_context
from console.ui.errors import not_connected, show_notice, shown_errors
from console.ui.rollouts import rollout_tile

st.header("Models")
context = get_context()
actor = current_actor()
if not context.settings.mlflow_tracking_uri:
    not_connected("the MLflow model registry (MLFLOW_TRACKING_URI)")
    st.stop()

show_notice(view.PAGE)
rollout_tile(context, actor, page=view.PAGE)

overview = None
with shown_errors():
    registered = readers.registered_models(context, actor)
    if not registered:
        st.info("The registry has no model yet.")
        st.stop()
    model = st.selectbox("Registered model", [m.name for m in registered], key="models_model")
    overview = readers.model_overview(context, actor, model)

if overview is not None:
    st.caption(view.gate_caption(overview))
    aliases, versus = st.columns([1, 2])
    aliases.dataframe({"alias": [h.alias for h in overview.aliases], "version": [h.version for h in overview.aliases]},
                      hide_index=True)
    if overview.champion_vs_challenger is not None:
        gate = overview.champion_vs_challenger
        versus.metric(f"challenger {overview.policy.key_metric} vs champion",
                      "-" if gate.candidate_value is None else f"{gate.candidate_value:.4g}",
                      None if gate.gain is None else f"{gate.gain:+.4g}")
        versus.caption(("Challenger would pass: " if gate.passed else "Challenger would fail: ") + gate.explanation)
    st.dataframe(view.versions_frame(overview), hide_index=True, width="stretch", key="models_versions")
    view.action_bar(context, actor, overview)

    st.subheader("Promotion history")
    with shown_errors():
        st.dataframe(view.history_frame(readers.promotion_history(context, actor, overview.model.name)),
                     hide_index=True, width="stretch", key="models_history")
        view.holder_at_time(context, actor, overview.model.name)

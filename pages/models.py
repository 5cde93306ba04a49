"""Models: registered models, versions with their key metric, aliases, promotion history and promotion."""

from datetime import datetime, time

import streamlit as st

from console.domain.access import Permission
from console.domain.promotion import to_utc
from console.services.models import CHAMPION, alias_holder_at
from console.ui import models_view as view
from console.ui.backends import mlflow_registry
from console.ui.context import current_actor, get_context
from console.ui.errors import not_connected, shown_errors

st.header("Models")
context = get_context()
actor = current_actor()
uri = context.settings.mlflow_tracking_uri
if not uri:
    not_connected("the MLflow model registry (MLFLOW_TRACKING_URI)")
    st.stop()

if message := st.session_state.pop(view.MESSAGE_KEY, None):
    st.success(message)
view.rollout_progress(actor)

overview = None
with shown_errors():
    registered = view.cached_models(uri)
    if not registered:
        st.info("The registry has no model yet.")
        st.stop()
    model = st.selectbox("Registered model", [m.name for m in registered], key="models_model")
    overview = view.cached_overview(uri, model)

if overview is not None:
    policy = overview.policy
    st.caption(f"Gate: {policy.key_metric}, {policy.direction}, minimum gain {policy.min_gain:g}"
               + (" · tag problems: " + "; ".join(overview.policy_problems) if overview.policy_problems else ""))
    aliases, versus = st.columns([1, 2])
    aliases.dataframe({"alias": [h.alias for h in overview.aliases], "version": [h.version for h in overview.aliases]},
                      hide_index=True)
    if overview.champion_vs_challenger is not None:
        gate = overview.champion_vs_challenger
        versus.metric(f"challenger {policy.key_metric} vs champion",
                      "-" if gate.candidate_value is None else f"{gate.candidate_value:.4g}",
                      None if gate.gain is None else f"{gate.gain:+.4g}")
        versus.caption(("Challenger would pass: " if gate.passed else "Challenger would fail: ") + gate.explanation)
    st.dataframe(view.versions_frame(overview), hide_index=True, width="stretch", key="models_versions")

    if actor.can(Permission.PROMOTE_MODEL):
        bar = st.columns([1, 1, 1, 1])
        version = bar[0].selectbox("Version", [r.version.version for r in overview.versions], key="models_version")
        alias = bar[1].text_input("Alias", value=CHAMPION, key="models_alias").strip()
        if bar[2].button("Promote", icon=":material/upgrade:", key="models_promote"):
            view.promote_dialog(context, actor, overview.model.name, version, alias)
        if bar[3].button("Roll back model", icon=":material/history:", key="models_rollback"):
            view.rollback_dialog(context, actor, overview.model.name, alias)

    st.subheader("Promotion history")
    with shown_errors():
        st.dataframe(view.history_frame(view.cached_history(uri, overview.model.name)), hide_index=True,
                     width="stretch", key="models_history")
        when = st.columns([1, 1, 1, 3])
        asked_alias = when[0].text_input("Alias at time T", value=CHAMPION, key="models_at_alias").strip()
        day = when[1].date_input("Date (UTC)", key="models_at_date")
        moment = when[2].time_input("Time (UTC)", value=time(12, 0), key="models_at_time")
        answer = alias_holder_at(mlflow_registry(), model=overview.model.name, alias=asked_alias,
                                 at=to_utc(datetime.combine(day, moment)))
        if not answer.known:
            when[3].info("Before the retained history: unknown.")
        elif answer.version is None:
            when[3].info(f"Nobody held {asked_alias!r} then.")
        else:
            by = f" (since {answer.record.at:%Y-%m-%d %H:%M} UTC, {answer.record.action} by {answer.record.actor})" \
                if answer.record else ""
            when[3].success(f"Version {answer.version} held {asked_alias!r}{by}.")

"""SLOs: where every SLO stands, one SLO's history with the changes that moved it, and the SLA months."""

from datetime import timedelta

import streamlit as st

from console.services.slo import sla_report, slo_charts
from console.ui import slo_figures as figures
from console.ui import slo_view as view
from console.ui.context import current_actor, get_context
from console.ui.errors import shown_errors

st.header("SLOs")
context = get_context()
actor = current_actor()

with shown_errors():
    specs = view.catalog(str(view.slo_directory(context)))
    view.show_problems(specs)
    objectives = {objective.name: objective for objective in specs.objectives}
    # One view at a time (tabs would run every view's queries on every rerun); ?slo=<name> opens the detail.
    wanted = st.query_params.get("slo")
    shown = st.segmented_control("View", ["Overview", "Detail", "SLA report"], key="slo_view",
                                 default="Detail" if wanted else "Overview", label_visibility="collapsed")

    @st.fragment(run_every=timedelta(seconds=view.REFRESH_SECONDS))
    def overview() -> None:
        with shown_errors():
            now = context.clock()
            statuses = view.overview(context, actor, tuple(objectives.values()), now)
            st.caption(f"{len(statuses)} SLOs, most urgent first · {now:%H:%M:%S} UTC · refreshes every "
                       f"{view.REFRESH_SECONDS} s · open an SLO's charts from its name")
            st.dataframe(view.overview_frame(statuses), hide_index=True, width="stretch",
                         column_config=view.OVERVIEW_COLUMNS, key="slo_overview")

    if shown in (None, "Overview"):
        overview()

    if shown == "Detail":
        names = sorted(objectives)
        if wanted and wanted not in objectives:
            st.warning(f"No SLO is named {wanted!r}; pick one below.")
        columns = st.columns([3, 1])
        name = columns[0].selectbox("SLO", names, index=names.index(wanted) if wanted in names else 0, key="slo_pick")
        span = columns[1].selectbox("Range", list(view.RANGES), index=1, key="slo_range")
        if name:
            st.query_params["slo"] = name
            objective = objectives[name]
            end = context.clock()
            start, step = end - view.RANGES[span], view.history_step(view.RANGES[span])
            st.subheader(objective.display_name or objective.name)
            st.caption(f"service {objective.service} · objective {objective.target * 100:g}% over "
                       f"{objective.window.label} · {objective.description}")
            st.caption(view.alert_table_text(objective, end))
            charts = slo_charts(context.prometheus(), actor, objective, start=start, end=end, step=step)
            history = charts.history
            found = view.change_markers(context, actor, objective, start=start, end=end)
            if found.problems:
                st.info("Markers unavailable: " + "; ".join(found.problems), icon=":material/link_off:")
            if found.note:
                st.caption(found.note)
            st.plotly_chart(figures.sli_figure(history.sli, target=objective.target, markers=found.markers),
                            key="slo_sli_chart")
            st.plotly_chart(figures.burn_rate_figure(history.page_burn_rates, markers=found.markers),
                            key="slo_burn_chart")
            # The burn-down's place is kept while the rest is drawn: its query is the slow one.
            burn_down_slot = st.empty()
            st.markdown("**Changes in this range**")
            st.dataframe(view.markers_frame(found.markers), hide_index=True, width="stretch",
                         column_config=view.MARKER_COLUMNS, key="slo_markers")
            burn_down_slot.plotly_chart(figures.burn_down_figure(charts.budget_remaining(), markers=found.markers),
                                        key="slo_burn_down_chart")

    if shown == "SLA report":
        now = context.clock()
        month = st.selectbox("Month", view.recent_months(now), format_func=lambda m: m.strftime("%B %Y"),
                             key="slo_sla_month")
        frame = view.sla_frame(sla_report(context.prometheus(), actor, objectives.values(), month=month, now=now))
        st.dataframe(frame, hide_index=True, width="stretch", key="slo_sla_table")
        st.download_button("Download CSV", frame.to_csv(index=False).encode("utf-8"),
                           file_name=f"sla-{month:%Y-%m}.csv", mime="text/csv", icon=":material/download:")

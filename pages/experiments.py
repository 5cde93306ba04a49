"""Experiments: runs of one experiment, searched and paged on the server; run detail; runs compared."""

import streamlit as st

from console.services.experiments import MAX_COMPARED_RUNS
from console.ui import experiments_view as view
from console.ui import readers
from console.ui.context import current_actor, get_context
from console.ui.errors import not_connected, shown_errors
from console.ui.figures import compare_figures

st.header("Experiments")
context = get_context()
actor = current_actor()
if not context.settings.mlflow_tracking_uri:
    not_connected("the MLflow tracking server (MLFLOW_TRACKING_URI)")
    st.stop()

page = None
with shown_errors():
    experiments = readers.experiment_list(context, actor)
    if not experiments:
        st.info("This MLflow server has no experiment yet.")
        st.stop()
    # MLflow's own "Default" experiment is usually empty: offer it last.
    names = {e.name: e.experiment_id for e in sorted(experiments, key=lambda e: (e.experiment_id == "0", e.name))}
    top = st.columns([2, 4, 2, 1])
    experiment_name = top[0].selectbox("Experiment", list(names), key="exp_experiment")
    filter_string = top[1].text_input("Filter (MLflow search syntax)", key="exp_filter",
                                      placeholder='metrics.auc > 0.9 and params.model = "xgb"').strip()
    order = top[2].text_input("Order by", key="exp_order", placeholder="newest first; e.g. metrics.auc DESC").strip()
    page_size = top[3].selectbox("Page size", view.PAGE_SIZES, index=1, key="exp_page_size")
    experiment_id = names[experiment_name]
    order_by = tuple(part.strip() for part in order.split(",") if part.strip())
    tokens = view.page_tokens((experiment_id, filter_string, order_by, page_size))
    page = readers.runs_page(context, actor, experiment_id, filter_string, order_by, page_size, tokens[-1])

if page is not None:
    params, metrics, tags = view.column_choices(page.runs)
    chosen = st.columns(3)
    shown_metrics = chosen[0].multiselect("Metric columns", metrics, default=metrics[:8], key="exp_metric_cols")
    shown_params = chosen[1].multiselect("Param columns", params, default=params[:8], key="exp_param_cols")
    shown_tags = chosen[2].multiselect("Tag columns", tags, key="exp_tag_cols")
    selection = st.dataframe(view.runs_frame(page.runs, shown_params, shown_metrics, shown_tags), hide_index=True,
                             width="stretch", on_select="rerun", selection_mode="multi-row", key="exp_runs")
    nav = st.columns([1, 1, 6])
    nav[0].button("Previous", key="exp_prev", disabled=len(tokens) == 1, on_click=view.previous_page)
    nav[1].button("Next", key="exp_next", disabled=not page.next_page_token, on_click=view.next_page,
                  args=(page.next_page_token,))
    nav[2].caption(f"Page {len(tokens)} · {len(page.runs)} runs · select one run for its detail, several to compare")
    if not page.runs:
        st.info("No run matches." if filter_string else "This experiment has no run yet.")
    picked = [page.runs[i].run_id for i in (selection.selection.rows if selection else []) if i < len(page.runs)]

    if len(picked) == 1:
        with shown_errors():
            view.show_run_detail(readers.run_detail(context, actor, picked[0]))
    elif len(picked) > 1:
        st.subheader(f"Compare {len(picked)} runs")
        if len(picked) > MAX_COMPARED_RUNS:
            st.warning(f"Compare at most {MAX_COMPARED_RUNS} runs; the first {MAX_COMPARED_RUNS} are shown.")
            picked = picked[:MAX_COMPARED_RUNS]
        options = st.columns(3)
        compared_metrics = options[0].multiselect("Metrics", metrics, default=metrics[:3], key="exp_cmp_metrics")
        x_metric = options[1].selectbox("Scatter x", metrics, key="exp_cmp_x")
        y_metric = options[2].selectbox("Scatter y", metrics, index=min(1, len(metrics) - 1), key="exp_cmp_y")
        with shown_errors():
            data = readers.compared_runs(context, actor, tuple(picked), tuple(compared_metrics), experiment_id)
            scatter = (x_metric, y_metric) if x_metric and y_metric else None
            for index, figure in enumerate(compare_figures(data.runs, data.histories, metric_keys=compared_metrics,
                                                           param_keys=shown_params, scatter=scatter)):
                st.plotly_chart(figure, key=f"exp_cmp_chart_{index}", width="stretch")

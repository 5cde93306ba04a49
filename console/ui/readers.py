"""The pages' cached reads: each keyed by what it reads (and the role, where the answer depends on it).

Every reader takes the console context and the acting user unhashed (``_context``, ``_actor``): the context is
one per process and the use case checks the actor's permission on every miss. Answers are shared by every
session for a few seconds; ``clear_after_change`` drops them all after an operator action, so the page that made
the change re-reads what it shows.
"""

from __future__ import annotations

import streamlit as st

from console.domain.access import Actor
from console.domain.mlflow_models import AliasHistory, Experiment, RegisteredModel, RunPage
from console.services import deployments, experiments, models
from console.services.context import ConsoleContext


@st.cache_resource(ttl=10, max_entries=4, show_spinner=False)
def deployment_rows(_context: ConsoleContext, _actor: Actor) -> tuple[deployments.DeploymentRow, ...]:
    """Every deployment of the allowed namespaces with its pods (three list calls), shared for a few seconds.

    A resource cache, not a data cache: the rows are frozen and nobody changes them, so every session can be
    handed the same objects instead of an unpickled copy of 200 deployments with their pods on each run.
    """
    return tuple(deployments.list_deployments(_context.kubernetes(), _actor))


@st.cache_data(ttl=60, max_entries=4, show_spinner=False)
def experiment_list(_context: ConsoleContext, _actor: Actor) -> tuple[Experiment, ...]:
    """The active experiments."""
    return experiments.list_experiments(_context.mlflow(), _actor)


@st.cache_data(ttl=30, max_entries=64, show_spinner=False)
def runs_page(_context: ConsoleContext, _actor: Actor, experiment_id: str, filter_string: str,
              order_by: tuple[str, ...], page_size: int, page_token: str | None) -> RunPage:
    """One server-side page; the token stack makes Next/Previous one request each (or none, when cached)."""
    return experiments.runs_page(_context.mlflow(), _actor, experiment_ids=[experiment_id],
                                 filter_string=filter_string, order_by=order_by, max_results=page_size,
                                 page_token=page_token)


@st.cache_data(ttl=60, max_entries=32, show_spinner=False)
def run_detail(_context: ConsoleContext, _actor: Actor, run_id: str) -> experiments.RunDetail:
    """One run with its artifacts and MLflow UI link."""
    return experiments.run_detail(_context.mlflow(), _actor, run_id=run_id,
                                  ui_base_url=_context.settings.mlflow_ui_url)


@st.cache_data(ttl=60, max_entries=8, show_spinner=False)
def compared_runs(_context: ConsoleContext, _actor: Actor, run_ids: tuple[str, ...], metric_keys: tuple[str, ...],
                  experiment_id: str) -> experiments.CompareData:
    """The selected runs with the metric histories the comparison charts draw."""
    return experiments.compare_runs(_context.mlflow(), _actor, run_ids=run_ids, metric_keys=metric_keys,
                                    experiment_ids=[experiment_id])


@st.cache_data(ttl=30, max_entries=4, show_spinner=False)
def registered_models(_context: ConsoleContext, _actor: Actor) -> tuple[RegisteredModel, ...]:
    """Every registered model, for the picker."""
    return models.list_models(_context.mlflow(), _actor)


@st.cache_data(ttl=15, max_entries=16, show_spinner=False)
def model_overview(_context: ConsoleContext, _actor: Actor, model: str) -> models.ModelOverview:
    """One model's versions, aliases and champion against challenger."""
    return models.model_overview(_context.mlflow(), _actor, model=model)


@st.cache_data(ttl=15, max_entries=16, show_spinner=False)
def promotion_history(_context: ConsoleContext, _actor: Actor, model: str) -> tuple[AliasHistory, ...]:
    """The recorded history of every alias of one model."""
    return models.promotion_history(_context.mlflow(), _context.audit, _actor, model=model)


def clear_after_change() -> None:
    """Drop every cached answer an operator action can change (deployments and the registry)."""
    for reader in (deployment_rows, registered_models, model_overview, promotion_history):
        reader.clear()

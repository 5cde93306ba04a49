"""The live rollout tile: progress of every rollout this session started, on whichever page it is shown.

An action (a scale, a rollback, a promotion) asks the session to watch the Deployments it rolls out
(``session.watch_rollouts``); the Deployments and Models pages both draw this tile, so the progress follows the
operator. Only the tile reruns while a rollout is in progress; when one ends, the page is drawn once more so its
tables show the finished state, with a notice of how it ended.
"""

from __future__ import annotations

import streamlit as st

from console.domain.access import Actor
from console.domain.workloads import RolloutProgress
from console.services.context import ConsoleContext
from console.services.deployments import rollout_status
from console.ui import readers, session
from console.ui.errors import shown_errors

REFRESH_SECONDS = 1.5


@st.fragment(run_every=REFRESH_SECONDS)
def rollout_tile(context: ConsoleContext, actor: Actor, *, page: str) -> None:
    """Progress bars of the watched rollouts; a finished one ends its watch and redraws ``page`` once."""
    ended: list[tuple[session.RolloutTarget, RolloutProgress]] = []
    for target in session.watched_rollouts():
        with shown_errors():
            progress = rollout_status(context.kubernetes(), actor, target.namespace, target.name)
            st.progress(progress.fraction, text=f"{target.key}: {progress.message}")
            if progress.done or progress.failed:
                ended.append((target, progress))
    if ended:
        session.stop_watching(target for target, _ in ended)
        session.post_notice(page, "; ".join(f"{target.key}: {progress.message}" for target, progress in ended),
                            failed=any(progress.failed for _, progress in ended))
        readers.clear_after_change()
        st.rerun(scope="app")

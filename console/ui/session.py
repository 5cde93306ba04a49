"""Everything the console keeps in a browser session, behind typed accessors: this module owns every key.

Widget keys (``key=`` of a widget) belong to the widget that declares them; what is here is the state the
console itself keeps between runs: the signed-in actor, a notice for the next run of a page, the rollouts being
watched, the Experiments page's token stack and the Logs page's buffer.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import streamlit as st

from console.domain.access import Actor

# Public for harnesses (AppTest, benchmarks) that open a page with an actor already signed in.
ACTOR_KEY = "console_actor"
_NOTICE = "console_notice_{page}"
_ROLLOUTS = "console_watched_rollouts"
_RUN_TOKENS = "experiments_page_tokens"
_RUN_QUERY = "experiments_query"
_LOG_BUFFER = "logs_buffer"
_LOG_REFRESH = "logs_refresh"
_LOG_LINK_APPLIED = "logs_query_applied"
_LOGIN_ERROR = "console_login_error"
_COOKIE_PENDING = "console_set_login_cookie"
_ISSUED_COOKIE = "console_issued_login_cookie"


@dataclass(frozen=True)
class Notice:
    """A message for the next run of a page: what the last action did."""

    message: str
    failed: bool = False


@dataclass(frozen=True)
class RolloutTarget:
    """A Deployment whose rollout the session watches until it completes or fails."""

    namespace: str
    name: str

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


# --- the signed-in actor ---------------------------------------------------------------------------------


def signed_in_actor() -> Actor | None:
    """The actor the login gate let in on this session's last run, if any."""
    actor = st.session_state.get(ACTOR_KEY)
    return actor if isinstance(actor, Actor) else None


def remember_actor(actor: Actor | None) -> None:
    """Keep (or, with None, forget) the signed-in actor for the pages of this run."""
    if actor is None:
        st.session_state.pop(ACTOR_KEY, None)
    else:
        st.session_state[ACTOR_KEY] = actor


def login_error() -> Exception | None:
    """The error of the last sign-in attempt, shown under the form."""
    return st.session_state.get(_LOGIN_ERROR)


def set_login_error(error: Exception | None) -> None:
    """Record (or clear) the error of a sign-in attempt."""
    if error is None:
        st.session_state.pop(_LOGIN_ERROR, None)
    else:
        st.session_state[_LOGIN_ERROR] = error


def pending_cookie() -> Any:
    """The sign-in token (``SessionToken``) the browser still has to store as its cookie, if any."""
    return st.session_state.get(_COOKIE_PENDING)


def set_pending_cookie(token: Any) -> None:
    """Ask for this token to be written as the sign-in cookie on the next runs (None: it is written)."""
    if token is None:
        st.session_state.pop(_COOKIE_PENDING, None)
    else:
        st.session_state[_COOKIE_PENDING] = token
        st.session_state[_ISSUED_COOKIE] = token


def issued_cookie() -> Any:
    """The sign-in token this session issued (what its logout revokes), if it signed in with a password."""
    return st.session_state.get(_ISSUED_COOKIE)


# --- notices and rollouts ----------------------------------------------------------------------------------


def post_notice(page: str, message: str, *, failed: bool = False) -> None:
    """Leave ``message`` for the next run of ``page`` (the page shows it once)."""
    st.session_state[_NOTICE.format(page=page)] = Notice(message, failed)


def take_notice(page: str) -> Notice | None:
    """The notice left for ``page``, removed as it is read."""
    notice = st.session_state.pop(_NOTICE.format(page=page), None)
    return notice if isinstance(notice, Notice) else None


def watch_rollouts(targets: Iterable[tuple[str, str]]) -> None:
    """Watch these Deployments' rollouts (on every page that shows the rollout tile) until each ends."""
    current = list(watched_rollouts())
    for namespace, name in targets:
        target = RolloutTarget(namespace, name)
        if target not in current:
            current.append(target)
    st.session_state[_ROLLOUTS] = tuple(current)


def watched_rollouts() -> tuple[RolloutTarget, ...]:
    """The rollouts this session watches, oldest first."""
    return tuple(st.session_state.get(_ROLLOUTS, ()))


def stop_watching(targets: Iterable[RolloutTarget]) -> None:
    """Stop watching these rollouts (they completed or failed)."""
    ended = set(targets)
    st.session_state[_ROLLOUTS] = tuple(t for t in watched_rollouts() if t not in ended)


# --- Experiments: the page-token stack ---------------------------------------------------------------------


def run_page_tokens(query: tuple[object, ...]) -> list[str | None]:
    """The stack of MLflow page tokens of the current run search: [None] (first page) after the query changes."""
    if st.session_state.get(_RUN_QUERY) != query:
        st.session_state[_RUN_QUERY] = query
        st.session_state[_RUN_TOKENS] = [None]
    return st.session_state[_RUN_TOKENS]


def push_run_page_token(token: str) -> None:
    """Go one page on (a button callback)."""
    st.session_state.setdefault(_RUN_TOKENS, [None]).append(token)


def pop_run_page_token() -> None:
    """Go one page back (a button callback)."""
    tokens = st.session_state.get(_RUN_TOKENS) or [None]
    if len(tokens) > 1:
        tokens.pop()


# --- Logs: the buffer of lines shown -------------------------------------------------------------------------


def log_buffer() -> Any:
    """The Logs page's buffer of lines (a ``console.ui.logs_view.LogBuffer``), if one was read."""
    return st.session_state.get(_LOG_BUFFER)


def set_log_buffer(buffer: Any) -> None:
    """Keep (or, with None, drop) the Logs page's buffer."""
    if buffer is None:
        st.session_state.pop(_LOG_BUFFER, None)
    else:
        st.session_state[_LOG_BUFFER] = buffer


def log_refresh_count() -> int:
    """How often the operator asked to read the log again (a change makes the page read it again)."""
    return int(st.session_state.get(_LOG_REFRESH, 0))


def request_log_refresh() -> None:
    """Read the log again on this run."""
    st.session_state[_LOG_REFRESH] = log_refresh_count() + 1


def take_log_link() -> bool:
    """True the first time in a session: the Logs page applies its link's query parameters once."""
    if st.session_state.get(_LOG_LINK_APPLIED):
        return False
    st.session_state[_LOG_LINK_APPLIED] = True
    return True


def preset_widget(key: str, value: object) -> None:
    """Give a widget its value before it is drawn (a choice taken from a link)."""
    st.session_state[key] = value


def widget_value(key: str, default: object = None) -> Any:
    """The value a widget had on the last run (or ``default``)."""
    return st.session_state.get(key, default)


def forget_widget(key: str) -> None:
    """Drop a widget's kept value, so it starts from its default (a choice that no longer exists)."""
    st.session_state.pop(key, None)

"""The one way a page shows an error: a clear message, never a traceback."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st

from console.errors import BackendUnavailable, ConsoleError, Forbidden, NotFound
from console.redaction import redacting_logger
from console.ui import session

log = redacting_logger("console.ui")


def show_error(error: BaseException) -> None:
    """Render any error for the user. Console errors show their message; anything else a generic one."""
    if isinstance(error, ConsoleError):
        body = f"**{error.title}**: {error.message}"
        if error.problems:
            body += "\n" + "\n".join(f"- {problem}" for problem in error.problems)
        if isinstance(error, (NotFound, Forbidden)):
            st.warning(body, icon=":material/block:")
        elif isinstance(error, BackendUnavailable):
            st.error(body, icon=":material/cloud_off:")
        else:
            st.error(body, icon=":material/error:")
        return
    log.exception("unexpected error on a page", exc_info=error)
    st.error(
        f"**Unexpected error** ({error.__class__.__name__}). The details are in the console's log; "
        "the other pages keep working.",
        icon=":material/error:",
    )


@contextmanager
def shown_errors() -> Iterator[None]:
    """Show an error raised in the block instead of a traceback, and go on with the rest of the page."""
    try:
        yield
    except Exception as err:  # noqa: BLE001 - a page must never show a traceback
        # st.rerun and st.stop raise BaseException subclasses, so they pass through untouched.
        show_error(err)


def show_notice(page: str) -> None:
    """The message the last action on ``page`` left for it (green, or red when it failed), shown once."""
    notice = session.take_notice(page)
    if notice is not None:
        (st.error if notice.failed else st.success)(notice.message)


def not_connected(backend: str) -> None:
    """The notice a page shows while its backend is not connected to the console yet."""
    st.info(f"Not connected yet: this page needs {backend}.", icon=":material/link_off:")

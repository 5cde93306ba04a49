"""The login gate: streamlit-authenticator keeps the login cookie; the console's own service checks passwords.

The password check goes through ``console.services.auth.login`` so that the browser and the command line share
one failed-login limit, stored in the audit store.
"""

from __future__ import annotations

import streamlit as st
import streamlit_authenticator as stauth
from streamlit_authenticator.utilities.exceptions import LoginError

from console.domain.access import Actor
from console.errors import ConsoleError
from console.services import auth
from console.services.context import ConsoleContext
from console.ui import session
from console.ui.errors import show_error, shown_errors

# The key streamlit-authenticator's cookie manager gives its "set" component; its value turns true once done.
# This key, and "authentication_status", "username", "name", "roles" and "logout", are the library's own.
_COOKIE_COMPONENT_KEY = "set"


def _authenticator(context: ConsoleContext) -> stauth.Authenticate:
    return stauth.Authenticate(
        context.credentials.as_authenticator_credentials(),
        cookie_name=context.settings.cookie_name,
        cookie_key=context.settings.cookie_key,
        cookie_expiry_days=context.settings.cookie_expiry_days,
        auto_hash=False,
        # The library waits for its cookie component; st.context.cookies is read synchronously, so no wait.
        login_sleep_time=0,
    )


def _submit_login(context: ConsoleContext) -> None:
    """Form callback: runs before the script, so a successful login draws the console in the same run."""
    session.set_login_error(None)
    try:
        actor = auth.login(
            context.credentials,
            context.audit,
            username=st.session_state.get("login_username", ""),
            password=st.session_state.get("login_password", ""),
            clock=context.clock,
        )
    except ConsoleError as err:
        session.set_login_error(err)
        return
    st.session_state.update(
        authentication_status=True,
        username=actor.username,
        name=actor.display_name,
        roles=[actor.role.label],
        logout=False,
    )
    session.set_pending_cookie(auth.new_session_token(actor, cookie_key=context.settings.cookie_key,
                                                      expiry_days=context.settings.cookie_expiry_days,
                                                      clock=context.clock))


def login_gate(context: ConsoleContext) -> tuple[Actor | None, stauth.Authenticate]:
    """The signed-in actor (restored from the login cookie when the console's own check accepts it), or None.

    The cookie is read strictly before the library sees it: a foreign, malformed, expired or revoked cookie, or
    one whose user is gone or locked out, leads to the sign-in form (and is deleted), never to an error page.
    """
    authenticator = _authenticator(context)
    if not st.session_state.get("authentication_status"):
        token = st.context.cookies.get(context.settings.cookie_name)
        if token is not None:
            restored = auth.session_actor(context.credentials, context.audit, token=token,
                                          cookie_key=context.settings.cookie_key, clock=context.clock)
            if restored is None:
                authenticator.cookie_controller.delete_cookie()
            else:
                try:
                    authenticator.login(location="unrendered")  # signs in again from the cookie just checked
                except LoginError:
                    st.session_state["authentication_status"] = None
    username = st.session_state.get("username")
    actor = auth.actor_for(context.credentials, username) if st.session_state.get("authentication_status") else None
    if actor is None:
        session.remember_actor(None)
        return None, authenticator
    pending = session.pending_cookie()
    if pending is not None:
        # The cookie is written by a browser component, which a rerun (the home page forwarding to the first
        # page) can drop before it ran; so the same token is asked for on every run until the component
        # reports it done. One token per sign-in: the one the browser keeps is the one a logout revokes.
        authenticator.cookie_controller.cookie_model.cookie_manager.set(
            context.settings.cookie_name, pending.value, expires_at=pending.expires_at,
            key=_COOKIE_COMPONENT_KEY)
        if st.session_state.get(_COOKIE_COMPONENT_KEY):
            session.set_pending_cookie(None)
    session.remember_actor(actor)
    return actor, authenticator


def login_form(context: ConsoleContext) -> None:
    """The sign-in form; a successful sign-in reruns into the console."""
    _, middle, _ = st.columns([1, 2, 1])
    with middle:
        st.title("ML operations console")
        with st.form("login"):
            st.subheader("Sign in")
            st.text_input("Username", key="login_username", autocomplete="username")
            st.text_input("Password", type="password", key="login_password", autocomplete="current-password")
            st.form_submit_button("Sign in", type="primary", on_click=_submit_login, args=(context,))
        error = session.login_error()
        if error is not None:
            show_error(error)
        if context.settings.environment == "demo":
            st.caption("Demo logins: viewer / viewer-demo, operator / operator-demo, admin / admin-demo")


def logout(context: ConsoleContext, actor: Actor, authenticator: stauth.Authenticate) -> None:
    """End the session: revoke its sign-in cookie server-side (every copy of it), then delete it."""
    # The cookie this session wrote, and the one the browser sent when the session began (a restored sign-in).
    issued = session.issued_cookie()
    expiries = {issued.exp_date if issued is not None else None,
                auth.cookie_expiry(st.context.cookies.get(context.settings.cookie_name),
                                   cookie_key=context.settings.cookie_key, username=actor.username)}
    with shown_errors():
        for expiry in expiries - {None}:
            auth.logout(context.audit, username=actor.username, cookie_expiry=expiry, clock=context.clock)
    authenticator.logout(location="unrendered")
    session.remember_actor(None)

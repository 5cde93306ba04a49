"""What every change an operator makes carries: a reason within one limit, and one change-cause text."""

from __future__ import annotations

MAX_REASON_CHARS = 1000


def reason_problems(reason: str) -> tuple[str, ...]:
    """Why ``reason`` cannot be recorded with an action (empty when it can)."""
    text = (reason or "").strip()
    if not text:
        return ("Give a reason: it is recorded with the action.",)
    if len(text) > MAX_REASON_CHARS:
        return (f"The reason is {len(text)} characters long; keep it under {MAX_REASON_CHARS}.",)
    return ()


def change_cause(username: str, action: str, reason: str) -> str:
    """The console-wide change-cause ``<user>: <action> - <reason>`` (Kubernetes annotation and version tag)."""
    return f"{username}: {action} - {reason.strip()}"

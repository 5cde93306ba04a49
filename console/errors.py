"""The console's one error hierarchy.

Adapters translate every library error into one of these (``raise ... from err``); services raise them for
rule violations; the UI renders any of them with ``console.ui.errors.show_error`` and the command line prints
``str(err)``. The message is written for the operator who reads it, not for a developer, and never carries a credential
(``console.redaction``).
"""

from __future__ import annotations

from collections.abc import Iterable

from console.redaction import redact


class ConsoleError(Exception):
    """Base of every error the console shows to a user."""

    title = "Error"

    def __init__(self, message: str, *, problems: Iterable[str] = ()) -> None:
        self.problems: tuple[str, ...] = tuple(redact(problem) for problem in problems)
        super().__init__(redact(message))

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else self.title

    def __str__(self) -> str:
        if not self.problems:
            return self.message
        return self.message + "\n" + "\n".join(f"- {problem}" for problem in self.problems)


class InvalidInput(ConsoleError):
    """The request itself is wrong; nothing was changed."""

    title = "Invalid input"


class NotFound(ConsoleError):
    """The thing asked for does not exist (any more)."""

    title = "Not found"


class Forbidden(ConsoleError):
    """The acting user, or the console's own account, may not do this."""

    title = "Not allowed"


class Conflict(ConsoleError):
    """The target changed since the operator loaded it, or is in a state that refuses the action."""

    title = "Conflict"


class BackendUnavailable(ConsoleError):
    """A backend (MLflow, Kubernetes, Prometheus, the audit store) did not answer in time or at all."""

    title = "Backend unavailable"

    def __init__(self, message: str, *, backend: str = "", problems: Iterable[str] = (),
                 outcome_unknown: bool = False) -> None:
        self.backend = backend
        # True when a change was sent and no answer came: it may have been applied, now or later.
        self.outcome_unknown = outcome_unknown
        super().__init__(message, problems=problems)


class AuthenticationFailed(ConsoleError):
    """Wrong user name or password, or a locked-out user name."""

    title = "Login failed"


class SettingsError(ConsoleError):
    """The console's configuration is missing or malformed; ``problems`` lists every problem at once."""

    title = "Configuration error"

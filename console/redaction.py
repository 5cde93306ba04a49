"""Credentials never leave the console in text: user info in URLs is masked wherever text is shown or stored.

A backend address such as ``http://user:secret@mlflow:5000`` is configuration an operator may legitimately use;
the password in it is not for error messages, log lines, audit records or a viewer's page. ``redact`` masks
the user-info part of every URL in a text (``http://user:***@mlflow:5000``); ``redacting_logger`` does the same
for every log record of the console.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any

MASK = "***"
# scheme://userinfo@ where userinfo has no "/", "@" or whitespace; the password part is masked.
_USERINFO = re.compile(r"(?P<scheme>\b[a-zA-Z][a-zA-Z0-9+.\-]*://)(?P<user>[^\s/@:]*)(?::(?P<password>[^\s/@]*))?@")


def _mask(match: re.Match[str]) -> str:
    if match.group("password") is None:
        # A lone user part may itself be a token (https://TOKEN@host): mask it too.
        return f"{match.group('scheme')}{MASK}@" if match.group("user") else match.group(0)
    return f"{match.group('scheme')}{match.group('user')}:{MASK}@"


def redact(text: str) -> str:
    """``text`` with the credentials of every URL in it masked."""
    if "@" not in text:  # the common case: nothing to look for
        return text
    return _USERINFO.sub(_mask, text)


def redact_value(value: Any) -> Any:
    """A JSON-like value (an audit record's parameters or state) with every string in it redacted."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, Mapping):
        return {key: redact_value(item) for key, item in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, (bytes, bytearray)):
        return [redact_value(item) for item in value]
    return value


class RedactingFilter(logging.Filter):
    """A logging filter that masks credentials in a record's message and in its traceback's text."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = redact(record.getMessage()), ()
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        return True


def redacting_logger(name: str) -> logging.Logger:
    """The logger ``name``, with its records' credentials masked (the console's loggers all come from here)."""
    logger = logging.getLogger(name)
    if not any(isinstance(existing, RedactingFilter) for existing in logger.filters):
        logger.addFilter(RedactingFilter())
    return logger

"""The small grammars of an SLO spec: durations (``28d``, ``250ms``) and metric selectors (``m{a="b"}``)."""

from __future__ import annotations

import re
from datetime import timedelta

from console.domain.slo import LabelMatcher, Selector

_DURATION = re.compile(r"^(\d+)(ms|s|m|h|d|w)$")
_DURATION_UNITS = {
    "ms": timedelta(milliseconds=1),
    "s": timedelta(seconds=1),
    "m": timedelta(minutes=1),
    "h": timedelta(hours=1),
    "d": timedelta(days=1),
    "w": timedelta(weeks=1),
}


def parse_duration(text: str) -> timedelta:
    """``28d``, ``90m``, ``250ms`` -> timedelta; ValueError otherwise."""
    match = _DURATION.match(text.strip())
    if not match:
        raise ValueError(f"{text!r} is not a duration such as 5m, 28d or 250ms")
    return int(match.group(1)) * _DURATION_UNITS[match.group(2)]


_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_OPERATOR = re.compile(r"=~|!~|!=|=")
_ESCAPES = {"\\": "\\", '"': '"', "'": "'", "n": "\n", "t": "\t", "r": "\r"}


def parse_selector(text: str) -> Selector:
    """``metric{label="value", other=~"regex"}`` -> Selector; ValueError with the reason otherwise."""
    position = _skip_space(text, 0)
    name = _NAME.match(text, position)
    if not name:
        raise ValueError("must start with a metric name")
    position = _skip_space(text, name.end())
    matchers: list[LabelMatcher] = []
    if position < len(text) and text[position] == "{":
        position = _skip_space(text, position + 1)
        while position < len(text) and text[position] != "}":
            label = _LABEL.match(text, position)
            if not label:
                raise ValueError(f"expected a label name at character {position + 1}")
            position = _skip_space(text, label.end())
            operator = _OPERATOR.match(text, position)
            if not operator:
                raise ValueError(f"expected =, !=, =~ or !~ after label {label.group()!r}")
            position = _skip_space(text, operator.end())
            value, position = _parse_string(text, position)
            matchers.append(LabelMatcher(label.group(), operator.group(), value))
            position = _skip_space(text, position)
            if position < len(text) and text[position] == ",":
                position = _skip_space(text, position + 1)
            elif position < len(text) and text[position] != "}":
                raise ValueError(f"expected , or }} at character {position + 1}")
        if position >= len(text):
            raise ValueError("missing closing }")
        position = _skip_space(text, position + 1)
    if position != len(text):
        raise ValueError(
            f"unexpected {text[position:position + 20]!r}; write a plain selector, the console adds rate() and sum()"
        )
    return Selector(name.group(), tuple(matchers))


def _skip_space(text: str, position: int) -> int:
    while position < len(text) and text[position].isspace():
        position += 1
    return position


def _parse_string(text: str, position: int) -> tuple[str, int]:
    if position >= len(text) or text[position] not in "\"'`":
        raise ValueError(f"expected a quoted label value at character {position + 1}")
    quote = text[position]
    position += 1
    chars: list[str] = []
    while position < len(text):
        char = text[position]
        if char == quote:
            return "".join(chars), position + 1
        if char == "\\" and quote != "`":
            escaped = text[position + 1 : position + 2]
            if escaped not in _ESCAPES:
                raise ValueError(f"unsupported escape \\{escaped} in a label value")
            chars.append(_ESCAPES[escaped])
            position += 2
            continue
        chars.append(char)
        position += 1
    raise ValueError("unterminated label value")

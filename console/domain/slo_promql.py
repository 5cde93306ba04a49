"""PromQL text: string literals, durations and numbers written so that a value can never change a query."""

from __future__ import annotations

import json
import math
from datetime import timedelta


def promql_string(value: str) -> str:
    """``value`` as a double-quoted PromQL string literal.

    JSON's escaping is a subset of what the PromQL lexer understands (``\\"``, ``\\\\``, ``\\n``, ``\\uXXXX``),
    so any text - quotes, backslashes, newlines - stays inside the literal.
    """
    return json.dumps(value, ensure_ascii=False)


def promql_duration(duration: timedelta) -> str:
    """A PromQL duration in the largest unit that divides it exactly (``5m``, ``28d``, ``90m``, ``1500ms``)."""
    milliseconds = round(duration / timedelta(milliseconds=1))
    if milliseconds <= 0:
        raise ValueError(f"a PromQL duration must be positive, got {duration!r}")
    for unit, size in (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1_000)):
        if milliseconds % size == 0:
            return f"{milliseconds // size}{unit}"
    return f"{milliseconds}ms"


def promql_number(value: float) -> str:
    """Shortest text that reads back as the same float (``0.999``, ``14.4``, ``6``)."""
    if math.isfinite(value) and value == int(value):
        return str(int(value))
    return repr(float(value))


def label_value_pattern(seconds: float) -> tuple[str, str]:
    """Operator and value that match a histogram bucket bound whichever client exposed it.

    Go clients write an integral bound as ``1``, Python clients (and Prometheus 3's normalisation) as ``1.0``;
    fractional bounds are spelled alike by both.
    """
    text = promql_number(seconds)
    if "." in text or "e" in text:
        return "=", text
    return "=~", f"{text}|{text}\\.0"

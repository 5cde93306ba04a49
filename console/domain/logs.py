"""Pod logs as the console shows them: parsing, merging, filtering and rendering. Pure logic, no I/O.

The console always asks the API for ``timestamps=true``: every line then starts with an RFC3339Nano timestamp
and a space, which is what lets several pods be merged in time order and a follow fetch only newer lines.
Timestamps are kept to the microsecond (``datetime``'s precision).

Levels. A line's level is read, in this order, from:

1. a JSON object line: its ``level``, ``severity``, ``lvl`` or ``levelname`` key;
2. a ``level=...`` key of a logfmt line;
3. a leading level word of a plain line (``ERROR:``, ``[WARN]``, ``INFO ...``, upper case only, so that a
   sentence starting with "Error" in prose is not mistaken for one).

A line with none of these (a stack-trace line, a continuation) takes the level of the line before it in the
same container, so a traceback stays with the error record that introduced it. Levels are normalised to
``DEBUG < INFO < WARNING < ERROR < CRITICAL``; the level filter keeps lines at or above the chosen level and
drops lines whose level is unknown.

The text filter (plain text or a regular expression, case-insensitive by default) matches the log text only,
never the timestamp or the pod prefix. Filtering is applied after the tail, as ``kubectl logs --tail | grep``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import NamedTuple

from console.domain.times import format_rfc3339, parse_rfc3339_or_none
from console.errors import InvalidInput

MAX_TAIL_LINES = 10_000
DEFAULT_TAIL_LINES = 500
MAX_LOG_BYTES_PER_POD = 5 * 1024 * 1024

# The "since" choices of the page; None means "as far back as the container's log goes".
SINCE_CHOICES: dict[str, int | None] = {
    "all": None,
    "5m": 5 * 60,
    "15m": 15 * 60,
    "1h": 3600,
    "6h": 6 * 3600,
    "24h": 24 * 3600,
}

LEVELS: tuple[str, ...] = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_LEVEL_RANK = {level: rank for rank, level in enumerate(LEVELS)}
_LEVEL_ALIASES = {
    "trace": "DEBUG", "debug": "DEBUG", "dbg": "DEBUG", "d": "DEBUG",
    "info": "INFO", "information": "INFO", "notice": "INFO", "i": "INFO",
    "warn": "WARNING", "warning": "WARNING", "w": "WARNING",
    "err": "ERROR", "error": "ERROR", "e": "ERROR",
    "crit": "CRITICAL", "critical": "CRITICAL", "fatal": "CRITICAL", "panic": "CRITICAL", "alert": "CRITICAL",
    "emerg": "CRITICAL", "emergency": "CRITICAL", "f": "CRITICAL",
}
_JSON_LEVEL_KEYS = ("level", "severity", "lvl", "levelname")
_LEADING_LEVEL = re.compile(r"\[?(TRACE|DEBUG|INFO|NOTICE|WARN|WARNING|ERROR|ERR|CRITICAL|FATAL|PANIC)\b\]?:?")
_LOGFMT_LEVEL = re.compile(r"(?:^|\s)(?:level|lvl|severity)=\"?([A-Za-z]+)")


class LogLine(NamedTuple):
    """One line of one container's log.

    A named tuple rather than a frozen dataclass: a page reads up to 30,000 lines a run, and a frozen dataclass
    costs 0.5 us to build (one ``object.__setattr__`` per field) against 0.1 us for a tuple.
    """

    timestamp: datetime | None
    pod: str
    container: str
    text: str
    level: str | None = None


def normalise_level(value: object) -> str | None:
    """``warn`` / ``Warning`` / ``W`` -> ``WARNING``; None when the value names no known level."""
    if isinstance(value, str):
        return _LEVEL_ALIASES.get(value.strip().lower())
    return None


def level_of(text: str) -> str | None:
    """The level a line states itself (see the module doc), or None."""
    stripped = text.lstrip()
    if stripped.startswith("{") and stripped.rstrip().endswith("}"):
        try:
            record = json.loads(stripped)
        except ValueError:
            record = None
        if isinstance(record, dict):
            for key in _JSON_LEVEL_KEYS:
                if key in record:
                    return normalise_level(record[key])
            return None
    if "=" in text:
        found = _LOGFMT_LEVEL.search(text)
        if found:
            return normalise_level(found.group(1))
    found = _LEADING_LEVEL.match(stripped)
    if found:
        return normalise_level(found.group(1))
    return None


def parse_log(body: str, *, pod: str, container: str, levels: bool = True) -> list[LogLine]:
    """Lines of a log read with ``timestamps=true``; a line without a timestamp keeps ``timestamp=None``.

    ``levels=False`` leaves every line's level None: reading levels (a JSON parse of every JSON line) is most of
    the cost of parsing, and only a level filter needs them.
    """
    lines: list[LogLine] = []
    append = lines.append
    new = tuple.__new__  # LogLine(...) without the keyword handling of its __new__
    previous_level: str | None = None
    for raw in body.splitlines():
        stamp, _, text = raw.partition(" ")
        timestamp = parse_rfc3339_or_none(stamp) if stamp else None
        if timestamp is None:
            text = raw
        if levels:
            previous_level = level_of(text) or previous_level
        append(new(LogLine, (timestamp, pod, container, text, previous_level)))
    return lines


def merge_by_time(streams: Iterable[Sequence[LogLine]]) -> list[LogLine]:
    """One list in timestamp order from several per-container streams, each already in time order.

    Stable: lines with the same timestamp keep the order of the streams given, and within a stream their own
    order. A line without a timestamp stays right after the line before it in its stream.
    """
    # The streams one after the other, stably sorted by each line's time (a line without one takes the time of
    # the line before it): equal times keep stream order, then position. Sorted runs make this a linear merge.
    lines: list[LogLine] = []
    keys: list[datetime] = []
    for stream in streams:
        last = _EPOCH
        for line in stream:
            if line.timestamp is not None:
                last = line.timestamp
            keys.append(last)
        lines.extend(stream)
    order = sorted(range(len(lines)), key=keys.__getitem__)
    return [lines[position] for position in order]


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def validate_regex(pattern: str, *, ignore_case: bool = True) -> re.Pattern[str]:
    """The compiled expression, or InvalidInput saying what is wrong with it."""
    try:
        return re.compile(pattern, re.IGNORECASE if ignore_case else 0)
    except re.error as err:
        where = f" at position {err.pos}" if err.pos is not None else ""
        raise InvalidInput(f"The filter {pattern!r} is not a valid regular expression: {err.msg}{where}.") from err


@dataclass(frozen=True)
class LogFilter:
    """Which lines to show. Build it with ``LogFilter.build``, which validates and compiles once."""

    text: str = ""
    regex: bool = False
    ignore_case: bool = True
    min_level: str | None = None
    _pattern: re.Pattern[str] | None = field(default=None, repr=False, compare=False)

    @classmethod
    def build(cls, text: str = "", *, regex: bool = False, ignore_case: bool = True,
              min_level: str | None = None) -> LogFilter:
        """Validate the filter (InvalidInput on a bad expression or level) and compile it once."""
        level = None
        if min_level not in (None, "", "all", "ALL", "All"):
            level = normalise_level(min_level)
            if level is None:
                raise InvalidInput(f"Unknown log level {min_level!r}; choose one of {', '.join(LEVELS)}.")
        pattern = None
        if text:
            pattern = validate_regex(text if regex else re.escape(text), ignore_case=ignore_case)
        return cls(text=text, regex=regex, ignore_case=ignore_case, min_level=level, _pattern=pattern)

    @property
    def active(self) -> bool:
        return self._pattern is not None or self.min_level is not None

    def apply(self, lines: Iterable[LogLine]) -> list[LogLine]:
        """The lines that pass, in their order; one regex search and one dict lookup per line at most."""
        result = list(lines)
        if self.min_level is not None:
            floor = _LEVEL_RANK[self.min_level]
            result = [line for line in result if line.level is not None and _LEVEL_RANK[line.level] >= floor]
        if self._pattern is not None:
            search = self._pattern.search
            result = [line for line in result if search(line.text)]
        return result


NO_FILTER = LogFilter()


def validate_tail_lines(value: object) -> int:
    """A tail length from user input: a whole number from 1 to 10,000."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise InvalidInput(f"The number of lines must be a whole number from 1 to {MAX_TAIL_LINES:,}.")
    if isinstance(value, str):
        if not value.strip().lstrip("-").isdigit():
            raise InvalidInput(f"The number of lines must be a whole number, got {value!r}.")
        value = int(value.strip())
    if isinstance(value, float):
        if not value.is_integer():
            raise InvalidInput(f"The number of lines must be a whole number, got {value:g}.")
        value = int(value)
    if not 1 <= value <= MAX_TAIL_LINES:
        raise InvalidInput(f"The number of lines must be from 1 to {MAX_TAIL_LINES:,} (got {value:,}).")
    return value


def since_seconds_of(choice: str) -> int | None:
    """``5m`` -> 300 ... ``24h`` -> 86400; ``all`` -> None (no time limit)."""
    try:
        return SINCE_CHOICES[choice.strip()]
    except (KeyError, AttributeError):
        valid = ", ".join(SINCE_CHOICES)
        raise InvalidInput(f"Unknown time range {choice!r}; choose one of {valid}.") from None


def render_lines(lines: Iterable[LogLine], *, timestamps: bool = True, pod_prefix: bool = False) -> str:
    """The lines as one text (each ending with a newline), as shown and downloaded: ``[pod] timestamp text``
    (the pod with ``pod_prefix``, the timestamp, when the line has one, with ``timestamps``)."""
    if not timestamps and not pod_prefix:
        return "".join([line.text + "\n" for line in lines])
    parts: list[str] = []
    append = parts.append
    for line in lines:  # one loop, no list and join per line: the page renders up to 10,000 lines a run
        if pod_prefix:
            append(f"[{line.pod}] ")
        if timestamps and line.timestamp is not None:
            append(format_rfc3339(line.timestamp, "microseconds") + " ")
        append(line.text + "\n")
    return "".join(parts)


def log_file_name(*, deployment: str, pod: str | None, container: str | None) -> str:
    """``<pod>-<container>.log`` for one pod; ``<deployment>-all-pods.log`` for the merged view."""
    if pod is None:
        return f"{deployment}-all-pods.log"
    return f"{pod}-{container}.log" if container else f"{pod}.log"

"""The pure log logic: parsing, merge order, filters, levels, limits and rendering."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from console.domain.logs import (
    MAX_TAIL_LINES,
    LogFilter,
    LogLine,
    level_of,
    log_file_name,
    merge_by_time,
    parse_log,
    render_lines,
    since_seconds_of,
    validate_regex,
    validate_tail_lines,
)
from console.errors import InvalidInput

T0 = datetime(2024, 5, 1, 10, 0, 0, tzinfo=timezone.utc)


def stamp(seconds: float) -> str:
    moment = T0 + timedelta(seconds=seconds)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond:06d}123Z"


def body(*lines: tuple[float, str]) -> str:
    return "".join(f"{stamp(at)} {text}\n" for at, text in lines)


# --- parsing -----------------------------------------------------------------------------------------------


def test_parse_reads_nanosecond_timestamps_and_keeps_the_text_verbatim() -> None:
    lines = parse_log(body((0.5, "INFO:     Started server process [1]"), (1.25, "  two  spaces ")),
                      pod="p-1", container="server")
    assert [line.timestamp for line in lines] == [T0 + timedelta(seconds=0.5), T0 + timedelta(seconds=1.25)]
    assert [line.text for line in lines] == ["INFO:     Started server process [1]", "  two  spaces "]
    assert {(line.pod, line.container) for line in lines} == {("p-1", "server")}


def test_a_line_without_a_timestamp_is_kept_whole() -> None:
    [line] = parse_log("not a timestamp here\n", pod="p", container="c")
    assert line.timestamp is None and line.text == "not a timestamp here"


def test_an_empty_log_has_no_lines() -> None:
    assert parse_log("", pod="p", container="c") == []


def test_an_empty_line_with_a_timestamp_is_kept() -> None:
    [line] = parse_log(f"{stamp(1)} \n", pod="p", container="c")
    assert line.text == "" and line.timestamp is not None


# --- levels ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "level"),
    [
        (json.dumps({"level": "info", "msg": "request"}), "INFO"),
        (json.dumps({"severity": "WARNING", "msg": "slow"}), "WARNING"),
        (json.dumps({"lvl": "err"}), "ERROR"),
        (json.dumps({"levelname": "CRITICAL"}), "CRITICAL"),
        (json.dumps({"level": "fatal"}), "CRITICAL"),
        (json.dumps({"msg": "no level"}), None),
        ('time=2024-05-01 level=warn msg="slow request"', "WARNING"),
        ("INFO:     Application startup complete.", "INFO"),
        ("WARNING:  slow", "WARNING"),
        ("ERROR:    Application startup failed. Exiting.", "ERROR"),
        ("[ERROR] boom", "ERROR"),
        ("Error in prose is not a level", None),
        ("ERRORS are not a level word", None),
        ("{not json", None),
    ],
)
def test_level_of_a_line(text: str, level: str | None) -> None:
    assert level_of(text) == level


def test_a_stack_trace_takes_the_level_of_the_record_before_it() -> None:
    lines = parse_log(
        body((0, "INFO:     Waiting for application startup."),
             (1, json.dumps({"level": "error", "msg": "model failed to load"})),
             (1.1, "Traceback (most recent call last):"),
             (1.2, '  File "/app/main.py", line 41, in lifespan'),
             (2, "INFO:     back")),
        pod="p", container="c",
    )
    assert [line.level for line in lines] == ["INFO", "ERROR", "ERROR", "ERROR", "INFO"]


def test_levels_are_read_only_when_asked_for() -> None:
    text = body((0, json.dumps({"level": "error", "msg": "boom"})), (1, "Traceback (most recent call last):"))
    without = parse_log(text, pod="p", container="c", levels=False)
    assert [line.level for line in without] == [None, None]
    assert [line.text for line in without] == [line.text for line in parse_log(text, pod="p", container="c")]


def test_level_filter_keeps_that_level_and_above_and_drops_unknown_levels() -> None:
    lines = parse_log(
        body((0, json.dumps({"level": "debug", "msg": "a"})), (1, json.dumps({"level": "info", "msg": "b"})),
             (2, json.dumps({"level": "warning", "msg": "c"})), (3, json.dumps({"level": "error", "msg": "d"})),
             (4, json.dumps({"severity": "critical", "msg": "e"}))),
        pod="p", container="c",
    ) + [LogLine(None, "p", "c", "no level at all", None)]
    kept = LogFilter.build(min_level="WARNING").apply(lines)
    assert [json.loads(line.text)["msg"] for line in kept] == ["c", "d", "e"]
    assert LogFilter.build(min_level="all").apply(lines) == lines


def test_unknown_level_is_refused() -> None:
    with pytest.raises(InvalidInput, match="Unknown log level 'LOUD'"):
        LogFilter.build(min_level="LOUD")


# --- text and regex filters --------------------------------------------------------------------------------


def _lines(*texts: str) -> list[LogLine]:
    return [LogLine(T0 + timedelta(seconds=i), "p", "c", text) for i, text in enumerate(texts)]


def test_text_filter_is_literal_and_case_insensitive_by_default() -> None:
    lines = _lines("GET /health 200", "POST /infer 500 (a.b)", "post /infer 200")
    assert [line.text for line in LogFilter.build("POST").apply(lines)] == ["POST /infer 500 (a.b)", "post /infer 200"]
    assert [line.text for line in LogFilter.build("(a.b)").apply(lines)] == ["POST /infer 500 (a.b)"]
    assert [line.text for line in LogFilter.build("POST", ignore_case=False).apply(lines)] == ["POST /infer 500 (a.b)"]


def test_regex_filter() -> None:
    lines = _lines("status=200 latency_ms=4.1", "status=500 latency_ms=180.2", "status=422 latency_ms=9.0")
    kept = LogFilter.build(r"status=(5\d\d|422)", regex=True).apply(lines)
    assert [line.text for line in kept] == ["status=500 latency_ms=180.2", "status=422 latency_ms=9.0"]


def test_filter_matches_the_text_only_not_the_pod_or_timestamp() -> None:
    lines = [LogLine(T0, "wine-quality-abc", "server", "hello")]
    assert LogFilter.build("wine").apply(lines) == []
    assert LogFilter.build("2024").apply(lines) == []


def test_text_and_level_filters_combine() -> None:
    lines = parse_log(body((0, "ERROR: disk full"), (1, "INFO: disk ok"), (2, "ERROR: net down")),
                      pod="p", container="c")
    kept = LogFilter.build("disk", min_level="error").apply(lines)
    assert [line.text for line in kept] == ["ERROR: disk full"]


@pytest.mark.parametrize("pattern", ["(unclosed", "[a-", "*x", "a{2,1}"])
def test_an_invalid_regex_is_refused_with_the_reason(pattern: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        LogFilter.build(pattern, regex=True)
    message = str(caught.value)
    assert message.startswith(f"The filter {pattern!r} is not a valid regular expression: ")
    assert caught.value.title == "Invalid input"


def test_invalid_regex_message_names_the_problem_and_position() -> None:
    with pytest.raises(InvalidInput, match=r"missing \), unterminated subpattern at position 0"):
        validate_regex("(abc")


def test_the_same_text_is_fine_as_plain_text() -> None:
    kept = LogFilter.build("(unclosed", regex=False).apply(_lines("x (unclosed y", "z"))
    assert [line.text for line in kept] == ["x (unclosed y"]


def test_no_filter_keeps_everything() -> None:
    lines = _lines("a", "b")
    flt = LogFilter.build()
    assert not flt.active and flt.apply(lines) == lines


# --- merging -----------------------------------------------------------------------------------------------


def test_merge_orders_by_timestamp_across_pods() -> None:
    a = parse_log(body((0, "a0"), (2, "a2"), (4, "a4")), pod="a", container="c")
    b = parse_log(body((1, "b1"), (3, "b3"), (5, "b5")), pod="b", container="c")
    assert [line.text for line in merge_by_time([a, b])] == ["a0", "b1", "a2", "b3", "a4", "b5"]


def test_merge_is_stable_for_equal_timestamps() -> None:
    a = parse_log(body((1, "a-first"), (1, "a-second")), pod="a", container="c")
    b = parse_log(body((1, "b-first"), (1, "b-second")), pod="b", container="c")
    assert [line.text for line in merge_by_time([a, b])] == ["a-first", "a-second", "b-first", "b-second"]
    assert [line.text for line in merge_by_time([b, a])] == ["b-first", "b-second", "a-first", "a-second"]


def test_a_line_without_timestamp_stays_after_its_predecessor() -> None:
    a = [LogLine(T0 + timedelta(seconds=2), "a", "c", "a2"), LogLine(None, "a", "c", "a2-continued")]
    b = [LogLine(T0 + timedelta(seconds=1), "b", "c", "b1"), LogLine(T0 + timedelta(seconds=3), "b", "c", "b3")]
    assert [line.text for line in merge_by_time([a, b])] == ["b1", "a2", "a2-continued", "b3"]


def test_merge_of_nothing() -> None:
    assert merge_by_time([]) == [] and merge_by_time([[], []]) == []


# --- limits and choices ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "expected"),
                         [(1, 1), (500, 500), (MAX_TAIL_LINES, MAX_TAIL_LINES), ("20", 20), (30.0, 30)])
def test_valid_tail_lines(value: object, expected: int) -> None:
    assert validate_tail_lines(value) == expected


@pytest.mark.parametrize("value", [0, -1, MAX_TAIL_LINES + 1, 2.5, "ten", True, None])
def test_invalid_tail_lines(value: object) -> None:
    with pytest.raises(InvalidInput, match="number of lines"):
        validate_tail_lines(value)


def test_since_choices() -> None:
    assert [since_seconds_of(choice) for choice in ("5m", "15m", "1h", "6h", "24h")] == [300, 900, 3600, 21600, 86400]
    assert since_seconds_of("all") is None
    with pytest.raises(InvalidInput, match="Unknown time range '2d'"):
        since_seconds_of("2d")


# --- rendering ---------------------------------------------------------------------------------------------


def test_render_with_and_without_timestamps_and_pod_prefix() -> None:
    lines = [LogLine(T0 + timedelta(microseconds=5), "pod-a", "c", "hello"), LogLine(None, "pod-a", "c", "cont")]
    assert render_lines(lines) == "2024-05-01T10:00:00.000005Z hello\ncont\n"
    assert render_lines(lines, timestamps=False) == "hello\ncont\n"
    assert render_lines(lines, timestamps=False, pod_prefix=True) == "[pod-a] hello\n[pod-a] cont\n"
    assert render_lines(lines, pod_prefix=True) == "[pod-a] 2024-05-01T10:00:00.000005Z hello\n[pod-a] cont\n"


def test_download_names() -> None:
    name = log_file_name(deployment="wine-quality", pod="wine-quality-1-abc", container="server")
    assert name == "wine-quality-1-abc-server.log"
    assert log_file_name(deployment="wine-quality", pod=None, container=None) == "wine-quality-all-pods.log"

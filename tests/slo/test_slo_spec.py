"""OpenSLO parsing: the examples are valid; every bad spec gets a clear message with its file and field."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from console.domain.slo import LatencyIndicator, RatioIndicator
from console.domain.slo_windows import CalendarMonthWindow, RollingWindow
from console.domain.slo_spec import parse_slo_files
from console.errors import InvalidInput
from console.services.slo import load_slo_directory

from .conftest import AVAILABILITY_SPEC, EXAMPLES, LATENCY_SPEC, as_yaml, parse_documents, spec_with

RATIO = "spec.indicator.spec.ratioMetric"
LATENCY = "spec.indicator.spec.latencyMetric"


def test_examples_are_valid_and_cover_every_demo_service() -> None:
    catalog = load_slo_directory(EXAMPLES)
    assert catalog.problems == ()
    names = {objective.name for objective in catalog.objectives}
    for service in ("iris-classifier", "wine-quality", "diabetes-regressor"):
        assert {f"{service}-availability", f"{service}-latency"} <= names
        kinds = {type(o.indicator) for o in catalog.objectives if o.service == service}
        assert kinds == {RatioIndicator, LatencyIndicator}
    windows = {objective.name: objective.window for objective in catalog.objectives}
    assert windows["iris-classifier-availability"] == RollingWindow(timedelta(days=28))
    assert windows["wine-quality-latency"] == RollingWindow(timedelta(days=30))
    assert windows["diabetes-regressor-availability"] == CalendarMonthWindow("UTC")


def test_valid_specs_become_typed_objectives() -> None:
    catalog = parse_documents(AVAILABILITY_SPEC, LATENCY_SPEC)
    assert catalog.problems == ()
    availability, latency = catalog.objectives
    assert availability.target == 0.999
    assert availability.sla_target == 0.99
    assert availability.source == "slo.yaml (document 1)"
    assert isinstance(latency.indicator, LatencyIndicator)
    assert latency.indicator.threshold_seconds == 0.25
    assert latency.indicator.bucket_bounds_seconds == (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


@pytest.mark.parametrize(("duration", "length"), [("1d", timedelta(days=1)), ("36h", timedelta(hours=36)),
                                                 ("12w", timedelta(weeks=12)), ("90d", timedelta(days=90))])
def test_rolling_windows_from_one_to_ninety_days_are_accepted(duration: str, length: timedelta) -> None:
    document = spec_with(AVAILABILITY_SPEC, **{"spec.timeWindow": [{"duration": duration, "isRolling": True}]})
    (objective,) = parse_documents(document).objectives
    assert objective.window == RollingWindow(length)


def test_a_runbook_url_is_read_from_the_annotations() -> None:
    url = "https://runbooks.example.com/iris-classifier#availability"
    document = spec_with(AVAILABILITY_SPEC, **{"metadata.annotations": {"mlops.console/runbook-url": url}})
    (objective,) = parse_documents(document).objectives
    assert objective.runbook_url == url
    (without,) = parse_documents(AVAILABILITY_SPEC).objectives
    assert without.runbook_url == ""


def test_target_percent_and_duration_threshold_are_accepted() -> None:
    document = spec_with(
        LATENCY_SPEC,
        **{"spec.objectives": [{"targetPercent": 99.5}], f"{LATENCY}.threshold": "250ms"},
    )
    (objective,) = parse_documents(document).objectives
    assert objective.target == pytest.approx(0.995)
    assert objective.indicator.threshold_seconds == 0.25


def test_service_documents_are_skipped_silently() -> None:
    service = {"apiVersion": "openslo/v1", "kind": "Service", "metadata": {"name": "iris"}, "spec": {}}
    catalog = parse_documents(service, AVAILABILITY_SPEC)
    assert catalog.problems == ()
    assert len(catalog.objectives) == 1


def bad(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return spec_with(base, **changes)


# Each: the broken document, the field path that must be named, words the message must contain.
BAD_SPECS = {
    "missing target": (
        bad(AVAILABILITY_SPEC, **{"spec.objectives": [{"displayName": "x"}]}),
        "spec.objectives[0].target",
        "missing",
    ),
    "target above 1": (
        bad(AVAILABILITY_SPEC, **{"spec.objectives": [{"target": 1.5}]}),
        "spec.objectives[0].target",
        "between 0 and 1 (exclusive), got 1.5",
    ),
    "target of exactly 1": (
        bad(AVAILABILITY_SPEC, **{"spec.objectives": [{"target": 1}]}),
        "spec.objectives[0].target",
        "between 0 and 1",
    ),
    "target not a number": (
        bad(AVAILABILITY_SPEC, **{"spec.objectives": [{"target": "high"}]}),
        "spec.objectives[0].target",
        "must be a number",
    ),
    "no objectives": (bad(AVAILABILITY_SPEC, **{"spec.objectives": []}), "spec.objectives", "missing"),
    "unknown window": (
        bad(AVAILABILITY_SPEC, **{"spec.timeWindow": [{"duration": "4x", "isRolling": True}]}),
        "spec.timeWindow[0].duration",
        "unknown window '4x'",
    ),
    "calendar quarter": (
        bad(AVAILABILITY_SPEC, **{"spec.timeWindow": [{"duration": "1Q", "isRolling": False}]}),
        "spec.timeWindow[0].duration",
        "calendar months",
    ),
    "window too short": (
        bad(AVAILABILITY_SPEC, **{"spec.timeWindow": [{"duration": "23h", "isRolling": True}]}),
        "spec.timeWindow[0].duration",
        "a rolling window must be between 1d and 90d (the range its burn-rate alerts are derived for), got '23h'",
    ),
    "window of 0 days": (
        bad(AVAILABILITY_SPEC, **{"spec.timeWindow": [{"duration": "0d", "isRolling": True}]}),
        "spec.timeWindow[0].duration",
        "between 1d and 90d (the range its burn-rate alerts are derived for), got '0d'",
    ),
    "window of 200 days": (
        bad(AVAILABILITY_SPEC, **{"spec.timeWindow": [{"duration": "200d", "isRolling": True}]}),
        "spec.timeWindow[0].duration",
        "between 1d and 90d (the range its burn-rate alerts are derived for), got '200d'",
    ),
    "runbook URL without a scheme": (
        bad(AVAILABILITY_SPEC, **{"metadata.annotations": {"mlops.console/runbook-url": "runbooks/iris"}}),
        "metadata.annotations[mlops.console/runbook-url]",
        "must be an absolute http(s) URL such as https://runbooks.example.com/iris-classifier, got 'runbooks/iris'",
    ),
    "runbook URL with a space": (
        bad(AVAILABILITY_SPEC, **{"metadata.annotations": {"mlops.console/runbook-url": "https://wiki/iris runbook"}}),
        "metadata.annotations[mlops.console/runbook-url]",
        "without spaces or line breaks",
    ),
    "runbook URL of another scheme": (
        bad(AVAILABILITY_SPEC, **{"metadata.annotations": {"mlops.console/runbook-url": "javascript:alert(1)"}}),
        "metadata.annotations[mlops.console/runbook-url]",
        "must be an absolute http(s) URL",
    ),
    "runbook URL that is not text": (
        bad(AVAILABILITY_SPEC, **{"metadata.annotations": {"mlops.console/runbook-url": 42}}),
        "metadata.annotations[mlops.console/runbook-url]",
        "got 42",
    ),
    "missing window": (bad(AVAILABILITY_SPEC, **{"spec.timeWindow": ...}), "spec.timeWindow", "missing"),
    "unknown time zone": (
        bad(
            AVAILABILITY_SPEC,
            **{"spec.timeWindow": [{"duration": "1M", "isRolling": False, "calendar": {"timeZone": "Mars/Base"}}]},
        ),
        "spec.timeWindow[0].calendar.timeZone",
        "unknown time zone 'Mars/Base'",
    ),
    "empty query": (
        bad(AVAILABILITY_SPEC, **{f"{RATIO}.total.metricSource.spec.query": "  "}),
        f"{RATIO}.total.metricSource.spec.query",
        "query is empty",
    ),
    "query that is not a selector": (
        bad(AVAILABILITY_SPEC, **{f"{RATIO}.bad.metricSource.spec.query": "sum(rate(x[5m]))"}),
        f"{RATIO}.bad.metricSource.spec.query",
        "not a metric selector",
    ),
    "unsupported metric source": (
        bad(AVAILABILITY_SPEC, **{f"{RATIO}.total.metricSource.type": "Datadog"}),
        f"{RATIO}.total.metricSource.type",
        "'Datadog' is not supported",
    ),
    "unknown indicator": (
        bad(AVAILABILITY_SPEC, **{"spec.indicator.spec": {"gaugeMetric": {}}}),
        "spec.indicator.spec.gaugeMetric",
        "unknown indicator 'gaugeMetric'",
    ),
    "threshold indicator": (
        bad(AVAILABILITY_SPEC, **{"spec.indicator.spec": {"thresholdMetric": {}}}),
        "spec.indicator.spec.thresholdMetric",
        "use ratioMetric",
    ),
    "indicator by reference": (
        bad(AVAILABILITY_SPEC, **{"spec.indicator": ..., "spec.indicatorRef": "iris"}),
        "spec.indicatorRef",
        "not supported",
    ),
    "both good and bad": (
        bad(AVAILABILITY_SPEC, **{f"{RATIO}.good": AVAILABILITY_SPEC["spec"]["indicator"]["spec"]["ratioMetric"]["bad"]}),
        RATIO,
        "exactly one of good and bad",
    ),
    "latency threshold not a bucket bound": (
        bad(LATENCY_SPEC, **{f"{LATENCY}.threshold": 0.3}),
        f"{LATENCY}.threshold",
        "threshold 0.3s is not a bucket bound",
    ),
    "latency without bucket bounds": (
        bad(LATENCY_SPEC, **{f"{LATENCY}.bucketBounds": ...}),
        f"{LATENCY}.bucketBounds",
        "list the histogram's bucket bounds",
    ),
    "latency bounds out of order": (
        bad(LATENCY_SPEC, **{f"{LATENCY}.bucketBounds": [0.5, 0.25]}),
        f"{LATENCY}.bucketBounds",
        "strictly increasing",
    ),
    "latency query with le": (
        bad(LATENCY_SPEC, **{f"{LATENCY}.histogram.metricSource.spec.query": 'h_bucket{le="0.25"}'}),
        f"{LATENCY}.histogram.metricSource.spec.query",
        "must not match on le",
    ),
    "wrong apiVersion": (bad(AVAILABILITY_SPEC, apiVersion="openslo/v1alpha"), "apiVersion", "'openslo/v1'"),
    "unsupported kind": (bad(AVAILABILITY_SPEC, kind="AlertPolicy"), "kind", "unsupported kind 'AlertPolicy'"),
    "missing name": (bad(AVAILABILITY_SPEC, **{"metadata.name": ...}), "metadata.name", "missing"),
    "missing service": (bad(AVAILABILITY_SPEC, **{"spec.service": ""}), "spec.service", "must not be empty"),
    "timeslices budgeting": (
        bad(AVAILABILITY_SPEC, **{"spec.budgetingMethod": "Timeslices"}),
        "spec.budgetingMethod",
        "'Timeslices' is not supported",
    ),
    "SLA stricter than the objective": (
        bad(AVAILABILITY_SPEC, **{"metadata.annotations": {"mlops.console/sla-target": "0.9999"}}),
        "metadata.annotations[mlops.console/sla-target]",
        "stricter than the objective",
    ),
    "SLA target not a number": (
        bad(AVAILABILITY_SPEC, **{"metadata.annotations": {"mlops.console/sla-target": "most"}}),
        "metadata.annotations[mlops.console/sla-target]",
        "must be a number",
    ),
}


@pytest.mark.parametrize("kind", BAD_SPECS)
def test_bad_spec_gets_a_clear_message_with_file_and_field(kind: str) -> None:
    document, path, words = BAD_SPECS[kind]
    catalog = parse_slo_files({"broken.yaml": as_yaml(document)})
    assert catalog.objectives == ()
    messages = [str(problem) for problem in catalog.problems]
    assert any(m.startswith(f"broken.yaml: {path}: ") and words in m for m in messages), messages


def test_every_problem_of_a_document_is_reported_at_once() -> None:
    document = spec_with(
        AVAILABILITY_SPEC,
        **{
            "spec.objectives": [{"target": 2}],
            "spec.timeWindow": [{"duration": "2y"}],
            f"{RATIO}.total.metricSource.spec.query": "",
            "spec.service": ...,
        },
    )
    problems = parse_documents(document).problems
    assert {problem.path for problem in problems} == {
        "spec.objectives[0].target",
        "spec.timeWindow[0].duration",
        f"{RATIO}.total.metricSource.spec.query",
        "spec.service",
    }


def test_duplicate_names_across_files_keep_the_first() -> None:
    catalog = parse_slo_files({"a.yaml": as_yaml(AVAILABILITY_SPEC), "b.yaml": as_yaml(AVAILABILITY_SPEC)})
    assert [objective.source for objective in catalog.objectives] == ["a.yaml"]
    assert [str(problem) for problem in catalog.problems] == [
        "b.yaml: metadata.name: duplicate SLO name 'iris-availability', already defined in a.yaml; "
        "names must be unique"
    ]


def test_a_bad_file_never_hides_the_good_ones(tmp_path: Path) -> None:
    (tmp_path / "good.yaml").write_text(as_yaml(AVAILABILITY_SPEC, LATENCY_SPEC))
    (tmp_path / "broken.yaml").write_text("apiVersion: openslo/v1\nkind: SLO\nmetadata: [unclosed\n")
    (tmp_path / "wrong.yml").write_text(as_yaml(spec_with(LATENCY_SPEC, **{"metadata.name": "other", f"{LATENCY}.threshold": 3})))
    (tmp_path / "notes.txt").write_text("not a spec")
    (tmp_path / "..data").mkdir()  # a ConfigMap mount's internals
    catalog = load_slo_directory(tmp_path)
    assert {objective.name for objective in catalog.objectives} == {"iris-availability", "iris-latency"}
    messages = [str(problem) for problem in catalog.problems]
    assert len(messages) == 2
    assert messages[0].startswith("broken.yaml: not valid YAML at line 4")
    assert messages[1].startswith("wrong.yml: spec.indicator.spec.latencyMetric.threshold: threshold 3s")
    with pytest.raises(InvalidInput) as raised:
        catalog.raise_for_problems()
    assert raised.value.problems == tuple(messages)
    assert "2 problems" in str(raised.value)


def test_missing_directory_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    catalog = load_slo_directory(tmp_path / "absent")
    assert catalog.objectives == ()
    assert "does not exist" in str(catalog.problems[0])


def test_a_document_that_is_not_a_mapping() -> None:
    catalog = parse_slo_files({"list.yaml": "- just\n- a list\n"})
    assert [str(problem) for problem in catalog.problems] == ["list.yaml: a document must be a mapping, got a list"]

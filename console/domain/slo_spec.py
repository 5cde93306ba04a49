"""OpenSLO v1 documents -> typed objectives, reporting every problem at once.

The console reads ``apiVersion: openslo/v1``, ``kind: SLO`` documents (several per file are fine; documents of
``kind: Service`` are skipped). What it understands:

.. code-block:: yaml

    apiVersion: openslo/v1
    kind: SLO
    metadata:
      name: iris-classifier-availability
      displayName: Iris classifier availability
      annotations:
        mlops.console/sla-target: "0.99"        # optional; the SLA is checked per calendar month
        mlops.console/runbook-url: https://runbooks.example.com/iris-classifier   # optional; alerts link to it
    spec:
      service: iris-classifier
      budgetingMethod: Occurrences              # the only method supported
      timeWindow:
        - duration: 28d                         # rolling: m, h, d or w, from 1d to 90d
          isRolling: true
        # or: {duration: 1M, isRolling: false, calendar: {timeZone: UTC}} for a calendar month
      indicator:
        metadata: {name: iris-classifier-availability}
        spec:
          ratioMetric:                          # good/total or bad/total over Prometheus counters
            counter: true
            bad:                                # or good:
              metricSource:
                type: Prometheus
                spec:
                  query: http_requests_total{namespace="ml-serving",service="iris-classifier",code=~"5.."}
            total:
              metricSource:
                type: Prometheus
                spec:
                  query: http_requests_total{namespace="ml-serving",service="iris-classifier"}
      objectives:
        - target: 0.995                         # or targetPercent: 99.5

Queries are metric selectors, not free PromQL: the objective wraps them in ``rate()`` and ``sum()`` itself,
so one spec gives the same expression in the overview, the recording rules and the alerts.

Latency is a console extension of OpenSLO (OpenSLO v1 has no histogram indicator): ``latencyMetric`` names a
classic histogram (without ``_bucket``), a ``threshold`` (seconds, or a duration such as ``250ms``) and the
histogram's ``bucketBounds``. The threshold must be one of the bounds, because the share of requests under a
threshold between two bounds cannot be read from bucket counters. Prometheus does not tell a spec file what
buckets a histogram has, so the spec declares them and validation checks the threshold against them:

.. code-block:: yaml

          latencyMetric:
            histogram:
              metricSource:
                type: Prometheus
                spec:
                  query: http_request_duration_seconds{namespace="ml-serving",service="iris-classifier"}
            threshold: 0.25
            bucketBounds: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from console.domain.slo import LatencyIndicator, Objective, RatioIndicator, Selector
from console.domain.slo_grammar import parse_duration, parse_selector
from console.domain.slo_windows import CalendarMonthWindow, RollingWindow
from console.domain.web_url import web_url_problem
from console.errors import InvalidInput

API_VERSION = "openslo/v1"
SLA_TARGET_ANNOTATION = "mlops.console/sla-target"
RUNBOOK_URL_ANNOTATION = "mlops.console/runbook-url"
# The range over which the burn-rate alerts are derived (console.domain.slo_alerts): under a day the quick
# page's windows would be shorter than a few scrapes; past 90 days its slowest ticket reads over 9 days of
# samples at every evaluation.
MIN_ROLLING_WINDOW = timedelta(days=1)
MAX_ROLLING_WINDOW = timedelta(days=90)
INDICATOR_KINDS = ("ratioMetric", "latencyMetric")
_IGNORED_KINDS = ("Service",)


@dataclass(frozen=True)
class SpecProblem:
    """One thing wrong with one document: where (file, field path) and what."""

    source: str
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.source}: {self.path}: {self.message}" if self.path else f"{self.source}: {self.message}"


@dataclass(frozen=True)
class SloCatalog:
    """The objectives that parsed, and the problems of those that did not; one bad file hides nothing else."""

    objectives: tuple[Objective, ...]
    problems: tuple[SpecProblem, ...]

    def raise_for_problems(self) -> None:
        """Raise InvalidInput listing every problem, if there is any."""
        if self.problems:
            count = len(self.problems)
            raise InvalidInput(
                f"The SLO specs have {count} problem{'s' if count != 1 else ''}",
                problems=[str(problem) for problem in self.problems],
            )


def parse_slo_files(files: Mapping[str, str] | Iterable[tuple[str, str]]) -> SloCatalog:
    """Parse ``{file name: YAML text}``; names must be unique across all files (the first one wins)."""
    items = files.items() if isinstance(files, Mapping) else files
    objectives: list[Objective] = []
    problems: list[SpecProblem] = []
    first_source: dict[str, str] = {}
    for file_name, text in items:
        file_objectives, file_problems = parse_slo_text(text, source=file_name)
        problems.extend(file_problems)
        for objective in file_objectives:
            if objective.name in first_source:
                problems.append(
                    SpecProblem(
                        objective.source,
                        "metadata.name",
                        f"duplicate SLO name {objective.name!r}, already defined in "
                        f"{first_source[objective.name]}; names must be unique",
                    )
                )
                continue
            first_source[objective.name] = objective.source
            objectives.append(objective)
    return SloCatalog(tuple(objectives), tuple(problems))


def parse_slo_text(text: str, *, source: str) -> tuple[list[Objective], list[SpecProblem]]:
    """Parse every document of one YAML file."""
    try:
        documents = [document for document in yaml.safe_load_all(text) if document is not None]
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        reason = getattr(err, "problem", None) or str(err)
        return [], [SpecProblem(source, "", f"not valid YAML{where}: {reason}")]
    if not documents:
        return [], [SpecProblem(source, "", "the file holds no document")]
    objectives: list[Objective] = []
    problems: list[SpecProblem] = []
    for index, document in enumerate(documents, start=1):
        document_source = source if len(documents) == 1 else f"{source} (document {index})"
        objective, document_problems = parse_slo_document(document, source=document_source)
        problems.extend(document_problems)
        if objective is not None:
            objectives.append(objective)
    return objectives, problems


def parse_slo_document(document: Any, *, source: str) -> tuple[Objective | None, list[SpecProblem]]:
    """Validate one parsed document; an objective only when there is no problem at all."""
    return _DocumentParser(source).parse(document)


# --- the document ------------------------------------------------------------------------------------------

_MISSING = object()


class _DocumentParser:
    """Walks one document, collecting a problem for everything wrong instead of stopping at the first."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[SpecProblem] = []

    def problem(self, path: str, message: str) -> None:
        self.problems.append(SpecProblem(self.source, path, message))

    # Typed field access: each returns None (after recording a problem) when the field is unusable.

    def mapping(self, parent: Mapping[str, Any], key: str, path: str, *, required: bool = True) -> Mapping | None:
        value = parent.get(key, _MISSING)
        if value is _MISSING or value is None:
            if required:
                self.problem(path, "missing")
            return None
        if not isinstance(value, Mapping):
            self.problem(path, f"must be a mapping, got {_kind(value)}")
            return None
        return value

    def text(self, parent: Mapping[str, Any], key: str, path: str, *, required: bool = True) -> str | None:
        value = parent.get(key, _MISSING)
        if value is _MISSING or value is None:
            if required:
                self.problem(path, "missing")
            return None
        if not isinstance(value, str):
            self.problem(path, f"must be a string, got {_kind(value)}")
            return None
        if required and not value.strip():
            self.problem(path, "must not be empty")
            return None
        return value

    def parse(self, document: Any) -> tuple[Objective | None, list[SpecProblem]]:
        if not isinstance(document, Mapping):
            self.problem("", f"a document must be a mapping, got {_kind(document)}")
            return None, self.problems
        api_version = document.get("apiVersion")
        if api_version != API_VERSION:
            self.problem("apiVersion", f"must be {API_VERSION!r}, got {api_version!r}")
        kind = document.get("kind")
        if kind in _IGNORED_KINDS:
            return None, self.problems
        if kind != "SLO":
            self.problem("kind", f"unsupported kind {kind!r}; the console reads kind 'SLO'")
            return None, self.problems

        metadata = self.mapping(document, "metadata", "metadata") or {}
        name = self.text(metadata, "name", "metadata.name")
        display_name = self.text(metadata, "displayName", "metadata.displayName", required=False) or ""
        annotations = self.mapping(metadata, "annotations", "metadata.annotations", required=False) or {}

        spec = self.mapping(document, "spec", "spec")
        if spec is None:
            return None, self.problems
        service = self.text(spec, "service", "spec.service")
        description = self.text(spec, "description", "spec.description", required=False) or ""
        self.budgeting_method(spec)
        window = self.time_window(spec)
        indicator = self.indicator(spec)
        target = self.objective_target(spec)
        sla_target = self.sla_target(annotations, target)
        runbook_url = self.runbook_url(annotations)

        if self.problems:
            return None, self.problems
        assert name is not None and service is not None and target is not None
        assert window is not None and indicator is not None
        return (
            Objective(
                name=name,
                service=service,
                target=target,
                window=window,
                indicator=indicator,
                sla_target=sla_target,
                display_name=display_name,
                description=description,
                runbook_url=runbook_url,
                source=self.source,
            ),
            [],
        )

    def budgeting_method(self, spec: Mapping[str, Any]) -> None:
        method = spec.get("budgetingMethod", "Occurrences")
        if method != "Occurrences":
            self.problem(
                "spec.budgetingMethod",
                f"{method!r} is not supported; the console budgets by 'Occurrences' (bad events over all events)",
            )

    def time_window(self, spec: Mapping[str, Any]) -> RollingWindow | CalendarMonthWindow | None:
        path = "spec.timeWindow"
        windows = spec.get("timeWindow")
        if windows is None:
            self.problem(path, "missing: give one window, e.g. [{duration: 28d, isRolling: true}]")
            return None
        if not isinstance(windows, list) or len(windows) != 1 or not isinstance(windows[0], Mapping):
            self.problem(path, "must be a list of exactly one window, e.g. [{duration: 28d, isRolling: true}]")
            return None
        window = windows[0]
        path = "spec.timeWindow[0]"
        duration = self.text(window, "duration", f"{path}.duration")
        is_rolling = window.get("isRolling", True)
        if not isinstance(is_rolling, bool):
            self.problem(f"{path}.isRolling", f"must be true or false, got {is_rolling!r}")
            return None
        if duration is None:
            return None
        if not is_rolling:
            if duration.strip() != "1M":
                self.problem(
                    f"{path}.duration",
                    f"unknown window {duration!r} for a calendar window; the console supports calendar months "
                    "(duration: 1M, isRolling: false)",
                )
                return None
            calendar = self.mapping(window, "calendar", f"{path}.calendar", required=False) or {}
            zone = self.text(calendar, "timeZone", f"{path}.calendar.timeZone", required=False) or "UTC"
            try:
                ZoneInfo(zone)
            except (ZoneInfoNotFoundError, ValueError):
                self.problem(f"{path}.calendar.timeZone", f"unknown time zone {zone!r}")
                return None
            return CalendarMonthWindow(time_zone=zone)
        try:
            length = parse_duration(duration)
        except ValueError:
            self.problem(
                f"{path}.duration",
                f"unknown window {duration!r}; use a rolling duration such as 28d or 30d, "
                "or duration: 1M with isRolling: false for a calendar month",
            )
            return None
        if not MIN_ROLLING_WINDOW <= length <= MAX_ROLLING_WINDOW:
            self.problem(
                f"{path}.duration",
                f"a rolling window must be between 1d and 90d (the range its burn-rate alerts are derived for), "
                f"got {duration!r}",
            )
            return None
        return RollingWindow(length)

    def indicator(self, spec: Mapping[str, Any]) -> RatioIndicator | LatencyIndicator | None:
        if "indicatorRef" in spec:
            self.problem(
                "spec.indicatorRef", "indicatorRef is not supported; write the indicator inline under spec.indicator"
            )
            return None
        indicator = self.mapping(spec, "indicator", "spec.indicator")
        if indicator is None:
            return None
        body = self.mapping(indicator, "spec", "spec.indicator.spec")
        if body is None:
            return None
        kinds = [key for key in body if key in INDICATOR_KINDS]
        unknown = [key for key in body if key not in INDICATOR_KINDS]
        if unknown:
            self.problem(
                f"spec.indicator.spec.{unknown[0]}",
                f"unknown indicator {unknown[0]!r}; use ratioMetric (good or bad over total counters) or "
                "latencyMetric (requests under a threshold, from a histogram)",
            )
            return None
        if len(kinds) != 1:
            self.problem("spec.indicator.spec", "must hold exactly one indicator: ratioMetric or latencyMetric")
            return None
        path = f"spec.indicator.spec.{kinds[0]}"
        body = self.mapping(body, kinds[0], path)
        if body is None:
            return None
        if kinds[0] == "ratioMetric":
            return self.ratio_metric(body, path)
        return self.latency_metric(body, path)

    def ratio_metric(self, body: Mapping[str, Any], path: str) -> RatioIndicator | None:
        if body.get("counter", True) is not True:
            self.problem(f"{path}.counter", "only counters are supported (counter: true)")
        if "raw" in body:
            self.problem(f"{path}.raw", "raw ratios are not supported; give good or bad, and total, as counters")
        has_good, has_bad = "good" in body, "bad" in body
        if has_good == has_bad:
            self.problem(path, "give exactly one of good and bad, with total")
        good = self.metric_source(body, "good", f"{path}.good") if has_good else None
        bad = self.metric_source(body, "bad", f"{path}.bad") if has_bad else None
        total = self.metric_source(body, "total", f"{path}.total")
        if total is None or (good is None and bad is None) or has_good == has_bad:
            return None
        return RatioIndicator(total=total, good=good, bad=bad)

    def latency_metric(self, body: Mapping[str, Any], path: str) -> LatencyIndicator | None:
        histogram = self.metric_source(body, "histogram", f"{path}.histogram")
        if histogram is not None:
            for suffix in ("_bucket", "_count"):
                if histogram.metric.endswith(suffix):
                    histogram = Selector(histogram.metric.removesuffix(suffix), histogram.matchers)
            if any(matcher.name == "le" for matcher in histogram.matchers):
                self.problem(
                    f"{path}.histogram.metricSource.spec.query",
                    "must not match on le; the console selects the bucket from the threshold",
                )
                histogram = None
        bounds = self.bucket_bounds(body, f"{path}.bucketBounds")
        threshold = self.threshold(body, f"{path}.threshold")
        if threshold is not None and bounds is not None and not any(
            math.isclose(threshold, bound, rel_tol=1e-9) for bound in bounds
        ):
            listed = ", ".join(_seconds(bound) for bound in bounds)
            self.problem(
                f"{path}.threshold",
                f"threshold {_seconds(threshold)}s is not a bucket bound of the histogram (bounds: {listed}); "
                "pick one of them or add that bucket to the histogram",
            )
            return None
        if histogram is None or bounds is None or threshold is None:
            return None
        exact = next(bound for bound in bounds if math.isclose(threshold, bound, rel_tol=1e-9))
        return LatencyIndicator(histogram=histogram, threshold_seconds=exact, bucket_bounds_seconds=bounds)

    def threshold(self, body: Mapping[str, Any], path: str) -> float | None:
        value = body.get("threshold")
        if value is None:
            self.problem(path, "missing: the latency in seconds (0.25) or as a duration (250ms)")
            return None
        if isinstance(value, bool):
            self.problem(path, f"must be seconds or a duration, got {value!r}")
            return None
        if isinstance(value, (int, float)):
            seconds = float(value)
        elif isinstance(value, str):
            try:
                seconds = parse_duration(value).total_seconds()
            except ValueError as err:
                self.problem(path, str(err))
                return None
        else:
            self.problem(path, f"must be seconds or a duration, got {_kind(value)}")
            return None
        if not math.isfinite(seconds) or seconds <= 0:
            self.problem(path, f"must be a positive, finite latency, got {value!r}")
            return None
        return seconds

    def bucket_bounds(self, body: Mapping[str, Any], path: str) -> tuple[float, ...] | None:
        value = body.get("bucketBounds")
        if value is None:
            self.problem(
                path, "missing: list the histogram's bucket bounds in seconds, e.g. [0.05, 0.1, 0.25, 0.5, 1]"
            )
            return None
        if not isinstance(value, list) or not value:
            self.problem(path, "must be a non-empty list of bucket bounds in seconds")
            return None
        bounds: list[float] = []
        for index, bound in enumerate(value):
            if bound in ("+Inf", "Inf", "inf"):
                continue
            if isinstance(bound, bool) or not isinstance(bound, (int, float)) or not bound > 0:
                self.problem(f"{path}[{index}]", f"must be a positive number of seconds, got {bound!r}")
                return None
            bounds.append(float(bound))
        if bounds != sorted(set(bounds)):
            self.problem(path, "bucket bounds must be strictly increasing")
            return None
        return tuple(bounds)

    def metric_source(self, parent: Mapping[str, Any], key: str, path: str) -> Selector | None:
        holder = self.mapping(parent, key, path)
        if holder is None:
            return None
        source = self.mapping(holder, "metricSource", f"{path}.metricSource")
        if source is None:
            return None
        source_type = source.get("type")
        if source_type != "Prometheus":
            self.problem(
                f"{path}.metricSource.type",
                f"metric source type {source_type!r} is not supported; the console reads 'Prometheus'",
            )
            return None
        body = self.mapping(source, "spec", f"{path}.metricSource.spec")
        if body is None:
            return None
        query_path = f"{path}.metricSource.spec.query"
        query = body.get("query")
        if query is None or (isinstance(query, str) and not query.strip()):
            self.problem(
                query_path, 'query is empty; give a metric selector such as http_requests_total{code=~"5.."}'
            )
            return None
        if not isinstance(query, str):
            self.problem(query_path, f"must be a string, got {_kind(query)}")
            return None
        try:
            return parse_selector(query)
        except ValueError as err:
            self.problem(query_path, f"not a metric selector ({err}): {query.strip()!r}")
            return None

    def objective_target(self, spec: Mapping[str, Any]) -> float | None:
        objectives = spec.get("objectives")
        if not isinstance(objectives, list) or not objectives:
            self.problem("spec.objectives", "missing: give one objective with a target, e.g. [{target: 0.995}]")
            return None
        if len(objectives) != 1:
            self.problem("spec.objectives", f"exactly one objective is supported, got {len(objectives)}")
            return None
        objective = objectives[0]
        path = "spec.objectives[0]"
        if not isinstance(objective, Mapping):
            self.problem(path, f"must be a mapping, got {_kind(objective)}")
            return None
        has_target, has_percent = "target" in objective, "targetPercent" in objective
        if has_target and has_percent:
            self.problem(path, "give target or targetPercent, not both")
            return None
        if not has_target and not has_percent:
            self.problem(f"{path}.target", "missing: the fraction of good events to reach, e.g. 0.995")
            return None
        key, scale = ("target", 1.0) if has_target else ("targetPercent", 100.0)
        value = objective[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.problem(f"{path}.{key}", f"must be a number, got {value!r}")
            return None
        if not 0 < value < scale:
            bounds = "0 and 1" if scale == 1 else "0 and 100"
            self.problem(f"{path}.{key}", f"must be between {bounds} (exclusive), got {value!r}")
            return None
        return float(value) / scale

    def sla_target(self, annotations: Mapping[str, Any], target: float | None) -> float | None:
        value = annotations.get(SLA_TARGET_ANNOTATION)
        if value is None:
            return None
        path = f"metadata.annotations[{SLA_TARGET_ANNOTATION}]"
        try:
            sla = float(value)
        except (TypeError, ValueError):
            self.problem(path, f"must be a number such as \"0.99\", got {value!r}")
            return None
        if not 0 < sla < 1:
            self.problem(path, f"must be between 0 and 1 (exclusive), got {value!r}")
            return None
        if target is not None and sla > target:
            self.problem(
                path,
                f"the SLA target {sla!r} is stricter than the objective {target!r}; an SLA promises at most "
                "what the objective aims for",
            )
            return None
        return sla

    def runbook_url(self, annotations: Mapping[str, Any]) -> str:
        """The runbook the alerts link to, when the annotations give a well-formed one; "" otherwise."""
        value = annotations.get(RUNBOOK_URL_ANNOTATION)
        if value is None:
            return ""
        problem = web_url_problem(value, example="https://runbooks.example.com/iris-classifier")
        if problem:
            self.problem(f"metadata.annotations[{RUNBOOK_URL_ANNOTATION}]", problem)
            return ""
        return value


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), type(value).__name__
    )


def _seconds(value: float) -> str:
    return f"{value:g}"

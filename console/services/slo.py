"""SLO use cases: load the specs, show where every SLO stands, chart one, report SLA months, write the rules.

Reads only; no permission check or audit is needed. Every function takes the Prometheus reader and the clock
(``now``) explicitly.

The overview reads the console's recording rules when Prometheus has them: one query returns every recorded
error ratio of every SLO and each SLO's objective series, whose ``windows`` label says that its rules are loaded
and record its current windows - no separate presence check. SLOs without them (rules not deployed, deployed
for fewer SLOs, or written for other windows) are computed from the raw counters with the very same
expressions the rules record. Each SLO records its own windows (they scale with its window), so the raw
queries are batched by position: the n-th window of every SLO in one query, labelled with its SLO.
Calendar-month SLOs always read their month-so-far ratio from the raw counters (a recording rule cannot have a
growing range). So an overview costs 1-2 queries with the rules in place and at most 10 without them, for any
number of SLOs.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Protocol

from console.adapters.prometheus import Sample, Series
from console.domain.access import Actor, Permission
from console.domain.slo import (
    OBJECTIVE_METRIC,
    PERIOD_ERROR_RATIO_METRIC,
    SLI_WINDOW,
    SLO_LABEL,
    WINDOW_LABEL,
    WINDOWS_LABEL,
    Objective,
    error_ratio_metric,
    labelled_with_slo,
    recorded_error_ratios_query,
    union_query,
)
from console.domain.slo_alerts import AlertWindow
from console.domain.slo_promql import promql_duration, promql_string
from console.domain.slo_rules import DEFAULT_INTERVAL, DEFAULT_RESOURCE_NAME, RULE_FORMATS, render_rules
from console.domain.slo_sla import SlaMonth, evaluate_sla_month, sla_query_range
from console.domain.slo_spec import SloCatalog, SpecProblem, parse_slo_files
from console.domain.slo_status import SloStatus, clean_ratio, evaluate_status, sort_by_urgency
from console.domain.slo_windows import RollingWindow
from console.errors import InvalidInput
from console.services.audit import require


class PrometheusReader(Protocol):
    """What the SLO use cases need from Prometheus (``console.adapters.prometheus.PrometheusClient``)."""

    def instant(self, query: str, *, at: datetime | None = None) -> list[Sample]: ...

    def range(self, query: str, *, start: datetime, end: datetime, step: timedelta) -> list[Series]: ...


# --- specs -------------------------------------------------------------------------------------------------


def load_slo_directory(directory: str | Path) -> SloCatalog:
    """Read every ``*.yaml``/``*.yml`` in ``directory`` (a ConfigMap mount works: its hidden entries are skipped).

    A file that does not parse is reported in ``problems``; the objectives of every other file are returned.
    """
    directory = Path(directory)
    if not directory.is_dir():
        return SloCatalog((), (SpecProblem(str(directory), "", "the SLO directory does not exist"),))
    files: list[tuple[str, str]] = []
    problems: list[SpecProblem] = []
    for path in sorted(directory.iterdir()):
        if path.name.startswith(".") or path.suffix not in (".yaml", ".yml") or not path.is_file():
            continue
        try:
            files.append((path.name, path.read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError) as err:
            problems.append(SpecProblem(path.name, "", f"cannot be read: {err}"))
    catalog = parse_slo_files(files)
    return SloCatalog(catalog.objectives, (*problems, *catalog.problems))


def write_rules(
    objectives: Iterable[Objective],
    *,
    console_url: str,
    format: str = "prometheusrule",
    interval: timedelta = DEFAULT_INTERVAL,
    name: str = DEFAULT_RESOURCE_NAME,
    namespace: str | None = None,
) -> str:
    """The recording and alerting rules of ``objectives`` as YAML: a PrometheusRule or a plain rules file.

    ``console_url`` is the console's public address (``CONSOLE_PUBLIC_URL``): every alert links to its SLO's page.
    """
    if format not in RULE_FORMATS:
        raise InvalidInput(f"Unknown rules format {format!r}", problems=[f"use one of: {', '.join(RULE_FORMATS)}"])
    return render_rules(
        objectives, console_url=console_url, format=format, interval=interval, name=name, namespace=namespace
    )


# --- overview ----------------------------------------------------------------------------------------------


def slo_overview(
    prometheus: PrometheusReader,
    actor: Actor,
    objectives: Sequence[Objective],
    *,
    now: datetime,
    use_recording_rules: bool = True,
) -> list[SloStatus]:
    """Every SLO's status at ``now``, most urgent first.

    ``use_recording_rules=False`` computes everything from the raw counters (what a cluster without the rules
    gets); both ways use the same expressions and give the same numbers for the same evaluation time.
    """
    require(actor, Permission.READ)
    _require_aware(now)
    objectives = list(objectives)
    ratios: dict[str, dict[timedelta, float | None]] = {objective.name: {} for objective in objectives}
    period: dict[str, float | None] = {}
    recorded: set[str] = set()
    if use_recording_rules and objectives:
        recorded_ratios, period = _read_recording_rules(prometheus, objectives, now=now)
        ratios.update(recorded_ratios)
        recorded = set(recorded_ratios)
    raw = [objective for objective in objectives if objective.name not in recorded]
    for name, found in _read_raw_windows(prometheus, raw, now=now).items():
        ratios[name].update(found)
    period_from_raw = [objective for objective in objectives if objective.name not in period]
    period.update(
        _query_per_slo(
            prometheus,
            [(objective.name, objective.period_error_ratio_query(now=now)) for objective in period_from_raw],
            at=now,
        )
    )
    return sort_by_urgency(
        evaluate_status(
            objective,
            error_ratios=ratios[objective.name],
            period_error_ratio=period.get(objective.name),
            now=now,
            from_recording_rules=objective.name in recorded,
        )
        for objective in objectives
    )


def _read_recording_rules(
    prometheus: PrometheusReader, objectives: Sequence[Objective], *, now: datetime
) -> tuple[dict[str, dict[timedelta, float | None]], dict[str, float | None]]:
    """Every recorded ratio of every SLO in one query: the SLOs whose rules are current, and the periods.

    Rules are current when the SLO's objective series names the windows of its table. A window without a
    series then had no traffic (its rule returned nothing), which is None as from the raw counters.
    """
    by_name = {objective.name: objective for objective in objectives}
    found: dict[str, dict[timedelta, float | None]] = {name: {} for name in by_name}
    current: set[str] = set()
    period: dict[str, float | None] = {}
    for sample in prometheus.instant(recorded_error_ratios_query(), at=now):
        objective = by_name.get(sample.labels.get(SLO_LABEL, ""))
        if objective is None:
            continue
        metric = sample.labels.get("__name__", "")
        window = objective.recorded_metrics.get(metric)
        if window is not None:
            found[objective.name][window] = sample.value
        elif metric == OBJECTIVE_METRIC:
            if sample.labels.get(WINDOWS_LABEL) == objective.recorded_windows_label:
                current.add(objective.name)
        elif (
            metric == PERIOD_ERROR_RATIO_METRIC
            and objective.is_rolling
            # Rules written for an older window length would give the wrong period.
            and sample.labels.get(WINDOW_LABEL) == objective.window.label
        ):
            period[objective.name] = sample.value
    recorded = {name: {window: found[name].get(window) for window in by_name[name].recorded_windows} for name in current}
    return recorded, {name: value for name, value in period.items() if name in current}


def _read_raw_windows(
    prometheus: PrometheusReader, objectives: Sequence[Objective], *, now: datetime
) -> dict[str, dict[timedelta, float | None]]:
    """Every window of every SLO from the raw counters: the n-th window of each SLO in one query."""
    ratios: dict[str, dict[timedelta, float | None]] = {objective.name: {} for objective in objectives}
    for position in range(max((len(objective.recorded_windows) for objective in objectives), default=0)):
        batch = [objective for objective in objectives if position < len(objective.recorded_windows)]
        values = _query_per_slo(
            prometheus,
            [(objective.name, objective.error_ratio_query(objective.recorded_windows[position])) for objective in batch],
            at=now,
        )
        for objective in batch:
            if objective.name in values:
                ratios[objective.name][objective.recorded_windows[position]] = values[objective.name]
    return ratios


def _query_per_slo(
    prometheus: PrometheusReader, named_queries: Sequence[tuple[str, str]], *, at: datetime
) -> dict[str, float | None]:
    """One query per SLO in a single request: each labelled with its SLO, joined with ``or``.

    The adapter sends the query in a POST body, so its length is not bounded by a URL's.
    """
    if not named_queries:
        return {}
    union = union_query([labelled_with_slo(query, name) for name, query in named_queries])
    return _read_per_slo(prometheus.instant(union, at=at))


def _read_per_slo(samples: Iterable[Sample]) -> dict[str, float | None]:
    return {sample.labels[SLO_LABEL]: clean_ratio(sample.value) for sample in samples if SLO_LABEL in sample.labels}


# --- history -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SloHistory:
    """One SLO over time, for charts. Points without traffic are left out."""

    objective: Objective
    sli: tuple[tuple[datetime, float], ...]  # good fraction over 5 minutes
    # The page alerts of the SLO's table (as of the end of the range), each with the burn rate over its long
    # window: the chart draws each line against its own threshold.
    page_burn_rates: tuple[tuple[AlertWindow, tuple[tuple[datetime, float], ...]], ...]
    from_recording_rules: bool


def slo_history(
    prometheus: PrometheusReader,
    actor: Actor,
    objective: Objective,
    *,
    start: datetime,
    end: datetime,
    step: timedelta,
    use_recording_rules: bool = True,
) -> SloHistory:
    """SLI and page burn rates of one SLO from ``start`` to ``end``: from its recording rules when they exist."""
    require(actor, Permission.READ)
    _require_aware(start)
    _require_aware(end)
    pages = objective.burn_rate_alerts(at=end).pages
    windows = tuple(dict.fromkeys((SLI_WINDOW, *(alert.long_window for alert in pages))))
    by_metric = {error_ratio_metric(window): window for window in windows}
    ratios: dict[timedelta, list[tuple[datetime, float]]] = {}
    if use_recording_rules:
        names = "|".join(by_metric)
        query = "{" + f'__name__=~"{names}",{SLO_LABEL}={promql_string(objective.name)}' + "}"
        for series in prometheus.range(query, start=start, end=end, step=step):
            window = by_metric.get(series.labels.get("__name__", ""))
            if window is not None:
                ratios[window] = list(series.points)
    from_rules = bool(ratios)
    if not from_rules:
        for window in windows:
            result = prometheus.range(objective.error_ratio_query(window), start=start, end=end, step=step)
            ratios[window] = [point for series in result for point in series.points]

    def points(window: timedelta, convert) -> tuple[tuple[datetime, float], ...]:
        return tuple(
            (moment, convert(value)) for moment, value in ratios.get(window, ()) if not math.isnan(value)
        )

    budget = objective.error_budget
    return SloHistory(
        objective=objective,
        sli=points(SLI_WINDOW, lambda ratio: 1 - ratio),
        page_burn_rates=tuple((alert, points(alert.long_window, lambda ratio: ratio / budget)) for alert in pages),
        from_recording_rules=from_rules,
    )


Points = tuple[tuple[datetime, float], ...]


def budget_burn_down(
    prometheus: PrometheusReader, actor: Actor, objective: Objective, *, start: datetime, end: datetime,
    step: timedelta
) -> Points:
    """Error budget remaining over the SLO window as of each step from ``start`` to ``end``, from the raw counters.

    A calendar-month SLO restarts its budget on the 1st; its burn-down is its month so far, one point per step
    of at least 1/48 of the range (each point is its own query over the month so far).
    """
    require(actor, Permission.READ)
    _require_aware(start)
    _require_aware(end)
    if isinstance(objective.window, RollingWindow):
        series = prometheus.range(objective.error_budget_remaining_query(now=end), start=start, end=end, step=step)
        return tuple(point for item in series for point in item.points if not math.isnan(point[1]))
    points = []
    coarse = max(step, (end - start) / 48)
    moment = start
    while moment <= end:
        if (samples := prometheus.instant(objective.error_budget_remaining_query(now=moment), at=moment)):
            if not math.isnan(samples[0].value):
                points.append((moment, samples[0].value))
        moment += coarse
    return tuple(points)


@dataclass(frozen=True)
class SloCharts:
    """An SLO's history, and its budget burn-down still on its way (``budget_remaining()`` waits for it)."""

    history: SloHistory
    _budget_remaining: Future[Points]

    def budget_remaining(self) -> Points:
        """The burn-down, once Prometheus has answered; its errors are raised here."""
        return self._budget_remaining.result()


# Shared by every session: an SLO's burn-down query runs while its history is read and drawn.
_CHART_READS = ThreadPoolExecutor(max_workers=4, thread_name_prefix="slo-charts")


def slo_charts(
    prometheus: PrometheusReader, actor: Actor, objective: Objective, *, start: datetime, end: datetime,
    step: timedelta
) -> SloCharts:
    """What an SLO's charts show: its history and its budget burn-down, queried at once.

    The burn-down is the slower query (the whole SLO window at every step), so it is sent first and read last:
    Prometheus evaluates it while the history (from the recording rules) comes back and its charts are drawn.
    """
    require(actor, Permission.READ)
    remaining = _CHART_READS.submit(budget_burn_down, prometheus, actor, objective, start=start, end=end, step=step)
    return SloCharts(slo_history(prometheus, actor, objective, start=start, end=end, step=step), remaining)


# --- SLA ---------------------------------------------------------------------------------------------------


def sla_report(
    prometheus: PrometheusReader,
    actor: Actor,
    objectives: Iterable[Objective],
    *,
    month: date,
    now: datetime | None = None,
) -> list[SlaMonth]:
    """Every SLO with an SLA target, judged over the calendar month containing ``month`` (up to ``now``).

    Sorted by service, then SLO name. The month's ratio comes from the raw counters (one range per month is
    not something a recording rule keeps), one query for all SLOs of the same time zone.
    """
    require(actor, Permission.READ)
    now = now or datetime.now(timezone.utc)
    _require_aware(now)
    with_sla = [objective for objective in objectives if objective.sla_target is not None]
    by_time: dict[datetime, list[tuple[str, str]]] = {}
    for objective in with_sla:
        query_range = sla_query_range(objective, month, now=now)
        if query_range is None:
            continue
        at, length = query_range
        by_time.setdefault(at, []).append(
            (objective.name, objective.indicator.error_ratio(promql_duration(length)))
        )
    ratios: dict[str, float | None] = {}
    for at, named_queries in by_time.items():
        ratios.update(_query_per_slo(prometheus, named_queries, at=at))
    months = [
        evaluate_sla_month(objective, month, error_ratio=ratios.get(objective.name), now=now)
        for objective in with_sla
    ]
    return sorted(months, key=lambda sla: (sla.service, sla.objective.name))


def _require_aware(moment: datetime) -> None:
    if moment.tzinfo is None:
        raise InvalidInput("Times must be timezone-aware (UTC)")


__all__ = [
    "PrometheusReader",
    "SloHistory",
    "load_slo_directory",
    "sla_report",
    "slo_history",
    "slo_overview",
    "write_rules",
]

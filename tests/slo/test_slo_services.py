"""The SLO use cases against a scripted reader: which queries they send, and how many."""

from __future__ import annotations

import threading
from datetime import date, datetime, timedelta, timezone

import pytest

from console.adapters.prometheus import Sample, Series
from console.domain.access import Actor, Role
from console.domain.slo import LabelMatcher, Objective, RatioIndicator, Selector, error_ratio_metric
from console.domain.slo_alerts import AlertState
from console.domain.slo_promql import promql_duration
from console.domain.slo_windows import CalendarMonthWindow, RollingWindow
from console.errors import InvalidInput
from console.services.slo import budget_burn_down, sla_report, slo_charts, slo_history, slo_overview

VIEWER = Actor("vera", "Vera", Role.VIEWER)

NOW = datetime(2024, 5, 20, 12, 0, tzinfo=timezone.utc)


def objective(index: int, *, calendar: bool = False, sla: float | None = None, days: int = 28) -> Objective:
    service = f"model-{index:02d}"
    total = Selector("http_requests_total", (LabelMatcher("service", "=", service),))
    bad = Selector("http_requests_total", (LabelMatcher("service", "=", service), LabelMatcher("code", "=~", "5..")))
    return Objective(
        name=f"{service}-availability",
        service=service,
        target=0.99,
        window=CalendarMonthWindow() if calendar else RollingWindow(timedelta(days=days)),
        indicator=RatioIndicator(total=total, bad=bad),
        sla_target=sla,
    )


class ScriptedReader:
    """Answers the recorded-ratio query from ``recorded`` and any batched raw query with ``raw_ratio``."""

    def __init__(
        self,
        recorded: dict[str, float],
        *,
        raw_ratio: float = 0.002,
        objectives: list[Objective] = (),
        windows: tuple[timedelta, ...] | None = None,
    ) -> None:
        self.recorded = recorded  # slo name -> error ratio for every window
        self.raw_ratio = raw_ratio
        # The windows the rules record: each SLO's own, else those of a 28-day SLO, or the ``windows`` of rules
        # that another console version wrote.
        own = {o.name: o.recorded_windows for o in objectives}
        self.windows = {name: windows or own.get(name) or objective(0).recorded_windows for name in recorded}
        self.quiet: set[timedelta] = set()  # windows whose rules returned nothing (no traffic in them)
        self.queries: list[tuple[str, datetime | None]] = []

    def instant(self, query: str, *, at: datetime | None = None) -> list[Sample]:
        self.queries.append((query, at))
        if query.startswith("{__name__=~"):
            samples = []
            for name, ratio in self.recorded.items():
                label = ",".join(promql_duration(window) for window in self.windows[name])
                samples.append(Sample({"__name__": "slo:objective:ratio", "slo": name, "windows": label}, 0.99, at or NOW))
                for window in self.windows[name]:
                    if window in self.quiet:
                        continue
                    labels = {"__name__": error_ratio_metric(window), "slo": name, "window": promql_duration(window)}
                    samples.append(Sample(labels, ratio, at or NOW))
                labels = {"__name__": "slo:sli_error:ratio_period", "slo": name, "window": "28d"}
                samples.append(Sample(labels, ratio, at or NOW))
            return samples
        names = [part.split('"slo", "', 1)[1].split('"', 1)[0] for part in query.split("label_replace(")[1:]]
        return [Sample({"slo": name}, self.raw_ratio, at or NOW) for name in names]

    def range(self, query: str, *, start: datetime, end: datetime, step: timedelta) -> list[Series]:
        self.queries.append((query, None))
        return []


def test_fifty_slos_with_recording_rules_take_one_query() -> None:
    objectives = [objective(index) for index in range(50)]
    reader = ScriptedReader({o.name: 0.001 for o in objectives})
    statuses = slo_overview(reader, VIEWER, objectives, now=NOW)
    assert len(reader.queries) == 1
    assert reader.queries[0] == ('{__name__=~"slo:sli_error:ratio_.+|slo:objective:ratio",slo!=""}', NOW)
    assert all(status.from_recording_rules for status in statuses)
    assert statuses[0].error_budget_remaining == pytest.approx(0.9)


def test_calendar_slos_add_one_query_for_the_month_so_far() -> None:
    objectives = [objective(index, calendar=index % 2 == 0) for index in range(50)]
    reader = ScriptedReader({o.name: 0.001 for o in objectives}, objectives=objectives)
    slo_overview(reader, VIEWER, objectives, now=NOW)
    assert len(reader.queries) == 2
    assert "[468h]" in reader.queries[1][0]  # 19.5 days of May so far


def test_without_rules_every_slo_comes_from_raw_counters_one_query_per_window() -> None:
    objectives = [objective(index) for index in range(50)]
    reader = ScriptedReader({})
    statuses = slo_overview(reader, VIEWER, objectives, now=NOW)
    assert not any(status.from_recording_rules for status in statuses)
    assert {status.error_ratio(timedelta(minutes=56)) for status in statuses} == {0.002}
    raw_queries = [query for query, _ in reader.queries[1:]]
    # 8 ranges (the 5m SLI, 6 more alert windows of a 28-day SLO and the whole window), each one query for all 50
    assert len(raw_queries) == 8
    assert all(all(o.name in query for o in objectives) for query in raw_queries)
    assert all(at == NOW for _, at in reader.queries)


def test_slos_missing_from_the_rules_fall_back_to_raw_counters() -> None:
    objectives = [objective(index) for index in range(5)]
    reader = ScriptedReader({objectives[0].name: 0.5})
    statuses = {status.name: status for status in slo_overview(reader, VIEWER, objectives, now=NOW)}
    assert statuses[objectives[0].name].from_recording_rules
    assert statuses[objectives[0].name].alert_state is AlertState.PAGE
    assert not statuses[objectives[1].name].from_recording_rules
    assert len(reader.queries) == 1 + 8
    assert all(objectives[0].name not in query for query, _ in reader.queries[1:])


def test_rules_written_for_other_windows_are_not_read_as_this_slos() -> None:
    """Rules of the 30-day table (an older console) record 1h, 6h, 3d: a 28-day SLO needs 56m, 336m, 4032m."""
    objectives = [objective(0), objective(1, days=30)]
    thirty_day_windows = objective(1, days=30).recorded_windows
    reader = ScriptedReader({o.name: 0.5 for o in objectives}, windows=thirty_day_windows)
    statuses = {status.name: status for status in slo_overview(reader, VIEWER, objectives, now=NOW)}
    assert statuses["model-01-availability"].from_recording_rules
    assert not statuses["model-00-availability"].from_recording_rules
    assert statuses["model-00-availability"].error_ratio(timedelta(minutes=56)) == 0.002  # from the raw counters


def test_a_window_without_traffic_is_no_data_not_missing_rules() -> None:
    """A quiet short window has no recorded series (its rule returned nothing): the SLO's rules are still read."""
    objectives = [objective(0)]
    reader = ScriptedReader({objectives[0].name: 0.001}, objectives=objectives)
    reader.quiet = {timedelta(minutes=5)}
    (status,) = slo_overview(reader, VIEWER, objectives, now=NOW)
    assert status.from_recording_rules and len(reader.queries) == 1
    assert status.error_ratio(timedelta(minutes=5)) is None and status.sli is None
    assert status.error_ratio(timedelta(minutes=56)) == 0.001


def test_slos_of_different_windows_share_each_raw_query_by_position() -> None:
    week, month = objective(0, days=7), objective(1, days=30)
    reader = ScriptedReader({})
    statuses = {status.name: status for status in slo_overview(reader, VIEWER, [week, month], now=NOW)}
    raw_queries = [query for query, _ in reader.queries[1:]]
    # A 7-day SLO records 8 windows and a 30-day one 7: 8 queries and the whole window, not one per distinct window.
    assert len(week.recorded_windows) == 8 and len(month.recorded_windows) == 7
    assert len(raw_queries) == 9
    assert "[2m]" in raw_queries[0] and "[5m]" in raw_queries[0]  # the shortest window of each, side by side
    assert week.name in raw_queries[7] and month.name not in raw_queries[7]
    assert statuses[week.name].error_ratio(timedelta(minutes=14)) == 0.002
    assert statuses[month.name].error_ratio(timedelta(hours=1)) == 0.002


def test_recording_rules_can_be_skipped() -> None:
    objectives = [objective(0)]
    reader = ScriptedReader({objectives[0].name: 0.5})
    (status,) = slo_overview(reader, VIEWER, objectives, now=NOW, use_recording_rules=False)
    assert not status.from_recording_rules
    assert not any(query.startswith("{__name__") for query, _ in reader.queries)


def test_overview_of_nothing_asks_nothing() -> None:
    reader = ScriptedReader({})
    assert slo_overview(reader, VIEWER, [], now=NOW) == []
    assert reader.queries == []


def test_naive_clock_is_refused() -> None:
    with pytest.raises(InvalidInput):
        slo_overview(ScriptedReader({}), VIEWER, [objective(0)], now=datetime(2024, 5, 20))


def test_sla_report_one_query_per_month_and_sorted_by_service() -> None:
    objectives = [objective(2, sla=0.98), objective(1, sla=0.98), objective(3)]
    reader = ScriptedReader({}, raw_ratio=0.03)
    report = sla_report(reader, VIEWER, objectives, month=date(2024, 4, 15), now=NOW)
    assert [row.service for row in report] == ["model-01", "model-02"]
    assert len(reader.queries) == 1
    query, at = reader.queries[0]
    assert "[30d]" in query and at == datetime(2024, 5, 1, tzinfo=timezone.utc)
    assert report[0].breached is True and report[0].complete is True
    assert report[0].downtime_minutes == pytest.approx(0.03 * 30 * 24 * 60)


def test_sla_report_for_a_month_not_begun_asks_nothing() -> None:
    reader = ScriptedReader({})
    (row,) = sla_report(reader, VIEWER, [objective(1, sla=0.98)], month=date(2024, 7, 1), now=NOW)
    assert reader.queries == [] and row.attainment is None


class HistoryReader:
    def __init__(self, recorded: bool) -> None:
        self.recorded = recorded
        self.queries: list[str] = []

    def instant(self, query: str, *, at: datetime | None = None) -> list[Sample]:
        raise AssertionError("history uses range queries")

    def range(self, query: str, *, start: datetime, end: datetime, step: timedelta) -> list[Series]:
        self.queries.append(query)
        points = ((start, 0.01), (start + step, float("nan")), (end, 0.02))
        if query.startswith("{__name__"):
            if not self.recorded:
                return []
            return [
                Series({"__name__": error_ratio_metric(window), "slo": "model-00-availability"}, points)
                for window in (timedelta(minutes=5), timedelta(minutes=56), timedelta(minutes=336))
            ]
        return [Series({}, points)]


@pytest.mark.parametrize("recorded", [True, False])
def test_history_from_rules_or_raw(recorded: bool) -> None:
    reader = HistoryReader(recorded)
    slo = objective(0)
    history = slo_history(reader, VIEWER, slo, start=NOW - timedelta(hours=1), end=NOW, step=timedelta(minutes=30))
    assert history.from_recording_rules is recorded
    # A 28-day SLO's charts: the SLI, and the burn rate over each page alert's long window (56m and 336m).
    assert reader.queries[0] == (
        '{__name__=~"slo:sli_error:ratio_rate5m|slo:sli_error:ratio_rate56m|slo:sli_error:ratio_rate336m",'
        'slo="model-00-availability"}'
    )
    assert len(reader.queries) == (1 if recorded else 4)
    assert [value for _, value in history.sli] == [pytest.approx(0.99), pytest.approx(0.98)]
    (quick, quick_points), (slow, _) = history.page_burn_rates
    assert (quick.name, quick.long_window, slow.long_window) == ("page quick", timedelta(minutes=56), timedelta(hours=5, minutes=36))
    assert [value for _, value in quick_points] == [pytest.approx(1.0), pytest.approx(2.0)]


class MeetingReader(HistoryReader):
    """Answers a range query only once the other one has arrived too: two queries sent one after the other
    never meet, and the barrier's timeout fails the test."""

    def __init__(self) -> None:
        super().__init__(recorded=True)
        self.both_in_flight = threading.Barrier(2, timeout=10)

    def range(self, query: str, *, start: datetime, end: datetime, step: timedelta) -> list[Series]:
        self.both_in_flight.wait()
        return super().range(query, start=start, end=end, step=step)


def test_an_slos_charts_send_their_two_queries_at_once() -> None:
    reader, slo = MeetingReader(), objective(0)
    start, end = NOW - timedelta(hours=1), NOW
    charts = slo_charts(reader, VIEWER, slo, start=start, end=end, step=timedelta(minutes=30))
    remaining = charts.budget_remaining()
    recorded = ('{__name__=~"slo:sli_error:ratio_rate5m|slo:sli_error:ratio_rate56m|slo:sli_error:ratio_rate336m",'
                'slo="model-00-availability"}')
    assert sorted(reader.queries) == sorted([recorded, slo.error_budget_remaining_query(now=end)])
    assert charts.history.from_recording_rules
    assert remaining == ((start, 0.01), (end, 0.02))  # the NaN point left out


class BudgetReader:
    def __init__(self) -> None:
        self.queries: list[tuple[str, datetime | None]] = []

    def instant(self, query: str, *, at: datetime | None = None) -> list[Sample]:
        self.queries.append((query, at))
        return [Sample({}, float("nan") if len(self.queries) == 2 else 0.5, at or NOW)]

    def range(self, query: str, *, start: datetime, end: datetime, step: timedelta) -> list[Series]:
        raise AssertionError("a calendar month's budget is read point by point")


def test_a_calendar_slos_burn_down_is_its_month_so_far_in_at_most_49_points() -> None:
    reader = BudgetReader()
    slo = objective(0, calendar=True)
    start = datetime(2024, 5, 1, tzinfo=timezone.utc)
    points = budget_burn_down(reader, VIEWER, slo, start=start, end=NOW, step=timedelta(minutes=5))
    assert 1 < len(reader.queries) <= 49
    moments = [at for _, at in reader.queries]
    assert moments[0] == start and moments[-1] <= NOW
    assert [moment for moment, _ in points] == moments[:1] + moments[2:]  # the NaN point left out
    assert all(query == slo.error_budget_remaining_query(now=at) for query, at in reader.queries)


def test_burn_down_refuses_a_naive_range() -> None:
    with pytest.raises(InvalidInput):
        budget_burn_down(ScriptedReader({}), VIEWER, objective(0), start=datetime(2024, 5, 1), end=NOW, step=timedelta(hours=1))

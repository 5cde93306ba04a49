"""The Prometheus adapter against a scripted HTTP server on loopback: results, errors, retry, timeout, token.

Every error is checked both ways a query travels: in the URL through prometheus-api-client's ``custom_query``,
and as a form body through the same session when the query is too long for a URL.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from prometheus_api_client.prometheus_connect import PrometheusConnect

from console.adapters.prometheus import URL_QUERY_LIMIT_BYTES, PrometheusClient
from console.errors import BackendUnavailable, Forbidden, InvalidInput, SettingsError
from console.sandbox.processes import free_port

Reply = tuple[int, dict | str]


class ScriptedPrometheus:
    """Answers each request with the next scripted reply (the last one repeats) and remembers the requests."""

    def __init__(self) -> None:
        self.replies: list[Reply | Callable[[], Reply]] = []
        self.requests: list[tuple[str, dict[str, list[str]], dict[str, str]]] = []
        self.methods: list[str] = []
        self.delay_seconds = 0.0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                self.answer(form="")

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                form = self.rfile.read(length).decode() if length else ""
                assert self.headers.get("Content-Type") == "application/x-www-form-urlencoded"
                self.answer(form=form)

            def answer(self, *, form: str) -> None:
                url = urlparse(self.path)
                owner.methods.append(self.command)
                owner.requests.append((url.path, parse_qs(url.query) | parse_qs(form), dict(self.headers)))
                if owner.delay_seconds:
                    time.sleep(owner.delay_seconds)
                reply = owner.replies[min(len(owner.requests), len(owner.replies)) - 1]
                status, body = reply() if callable(reply) else reply
                payload = (json.dumps(body) if isinstance(body, dict) else body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def server() -> Iterator[ScriptedPrometheus]:
    scripted = ScriptedPrometheus()
    yield scripted
    scripted.stop()


# A union of many SLOs' expressions: too long for a URL, so it travels as a form body.
LONG_QUERY = " or ".join(f'label_replace(vector({i}), "slo", "slo-{i:04d}", "", "")' for i in range(100))
QUERIES = {"url": "up", "form": LONG_QUERY}
assert len(LONG_QUERY) > URL_QUERY_LIMIT_BYTES


@pytest.fixture(params=sorted(QUERIES))
def way(request: pytest.FixtureRequest) -> str:
    """Each way a query travels: ``url`` (the library's custom_query) or ``form`` (a POST body)."""
    return request.param


def sent_as(server: ScriptedPrometheus, way: str) -> None:
    assert server.methods == ["GET" if way == "url" else "POST"] * len(server.methods)
    for _, params, headers in server.requests:
        assert params["query"] == [QUERIES[way]]
        if way == "url":
            assert "Content-Length" not in headers or headers["Content-Length"] == "0"


def vector(*series: tuple[dict, str], at: float = 1_700_000_000.0) -> dict:
    result = [{"metric": labels, "value": [at, value]} for labels, value in series]
    return {"status": "success", "data": {"resultType": "vector", "result": result}}


def test_instant_returns_typed_samples(server: ScriptedPrometheus) -> None:
    server.replies = [(200, vector(({"__name__": "up", "job": "a"}, "1"), ({"job": "b"}, "NaN")))]
    client = PrometheusClient(server.url)
    at = datetime(2024, 5, 1, 12, 0, 0, 250_000, tzinfo=timezone.utc)
    samples = client.instant("up", at=at)
    assert samples[0].labels == {"__name__": "up", "job": "a"}
    assert samples[0].value == 1.0
    assert samples[0].timestamp == datetime.fromtimestamp(1_700_000_000, tz=timezone.utc)
    assert samples[1].value != samples[1].value  # NaN stays NaN; the domain reads it as "no traffic"
    path, params, _ = server.requests[0]
    assert path == "/api/v1/query"
    assert params["query"] == ["up"]
    assert params["time"] == [f"{at.timestamp():.3f}"]
    sent_as(server, "url")  # through prometheus-api-client's custom_query: a GET with the query in the URL


def test_the_client_is_prometheus_api_clients_with_its_session() -> None:
    client = PrometheusClient("http://127.0.0.1:9", timeout_seconds=3)
    assert isinstance(client._connect, PrometheusConnect)
    assert client._connect._session is client._session  # the form bodies go through the library's own session
    adapter = client._session.get_adapter("http://127.0.0.1:9/api/v1/query")
    assert adapter.max_retries.total == 1 and adapter.max_retries.status_forcelist == (500, 502, 503, 504)


def test_scalar_result(server: ScriptedPrometheus) -> None:
    server.replies = [(200, {"status": "success", "data": {"resultType": "scalar", "result": [1_700_000_000, "2"]}})]
    (sample,) = PrometheusClient(server.url).instant("1 + 1")
    assert sample.labels == {} and sample.value == 2.0


def test_range_returns_series(server: ScriptedPrometheus) -> None:
    server.replies = [
        (
            200,
            {
                "status": "success",
                "data": {
                    "resultType": "matrix",
                    "result": [{"metric": {"slo": "a"}, "values": [[1_700_000_000, "0.5"], [1_700_000_060, "0.25"]]}],
                },
            },
        )
    ]
    start = datetime(2024, 5, 1, 0, 0, 0, 250_000, tzinfo=timezone.utc)  # a quarter second: the library rounds
    (series,) = PrometheusClient(server.url).range("x", start=start, end=start + timedelta(hours=1), step=timedelta(minutes=1))
    assert series.labels == {"slo": "a"}
    assert [value for _, value in series.points] == [0.5, 0.25]
    _, params, _ = server.requests[0]
    assert params["step"] == ["60"]
    assert params["start"] == [f"{start.timestamp():.3f}"]
    assert params["end"] == [f"{start.timestamp() + 3600:.3f}"]
    assert server.methods == ["GET"]


def test_a_long_range_query_travels_as_a_form_body_with_the_same_parameters(server: ScriptedPrometheus) -> None:
    server.replies = [(200, {"status": "success", "data": {"resultType": "matrix", "result": []}})]
    start = datetime(2024, 5, 1, 0, 0, 0, 250_000, tzinfo=timezone.utc)
    PrometheusClient(server.url).range(LONG_QUERY, start=start, end=start + timedelta(hours=1), step=timedelta(seconds=90))
    _, params, _ = server.requests[0]
    assert server.methods == ["POST"]
    assert params == {"query": [LONG_QUERY], "start": [f"{start.timestamp():.3f}"],
                      "end": [f"{start.timestamp() + 3600:.3f}"], "step": ["90"]}


def test_bad_promql_is_invalid_input_with_prometheus_message(server: ScriptedPrometheus, way: str) -> None:
    server.replies = [(400, {"status": "error", "errorType": "bad_data", "error": "1:5: parse error: unclosed left parenthesis"})]
    with pytest.raises(InvalidInput) as raised:
        PrometheusClient(server.url).instant(QUERIES[way])
    assert raised.value.problems[0] == "1:5: parse error: unclosed left parenthesis"
    assert raised.value.problems[1] == f"query: {QUERIES[way]}"
    assert len(server.requests) == 1  # a 4xx is never retried
    sent_as(server, way)


def test_an_execution_error_is_invalid_input_too(server: ScriptedPrometheus, way: str) -> None:
    server.replies = [(422, {"status": "error", "errorType": "execution", "error": "query processing would load too many samples"})]
    with pytest.raises(InvalidInput) as raised:
        PrometheusClient(server.url).instant(QUERIES[way])
    assert raised.value.problems[0] == "query processing would load too many samples"


def test_one_retry_on_5xx_then_success(server: ScriptedPrometheus, way: str) -> None:
    server.replies = [(503, "overloaded"), (200, vector(({}, "1")))]
    assert PrometheusClient(server.url).instant(QUERIES[way])[0].value == 1.0
    assert len(server.requests) == 2
    sent_as(server, way)


def test_5xx_twice_is_backend_unavailable(server: ScriptedPrometheus, way: str) -> None:
    server.replies = [(500, {"status": "error", "errorType": "internal", "error": "boom"})]
    with pytest.raises(BackendUnavailable) as raised:
        PrometheusClient(server.url).instant(QUERIES[way])
    assert raised.value.backend == "prometheus"
    assert "HTTP 500" in str(raised.value) and "boom" in str(raised.value)
    assert len(server.requests) == 2


def test_slow_prometheus_is_backend_unavailable_within_the_timeout(server: ScriptedPrometheus, way: str) -> None:
    server.replies = [(200, vector(({}, "1")))]
    server.delay_seconds = 3
    started = time.monotonic()
    with pytest.raises(BackendUnavailable) as raised:
        PrometheusClient(server.url, timeout_seconds=0.5).instant(QUERIES[way])
    assert time.monotonic() - started < 2.5  # the timeout, not the 3 s the server would take
    assert "did not answer within 0.5 seconds" in str(raised.value)
    assert len(server.requests) == 1  # a timeout is not retried


def test_prometheus_down_is_backend_unavailable_at_once(way: str) -> None:
    started = time.monotonic()
    with pytest.raises(BackendUnavailable) as raised:
        PrometheusClient(f"http://127.0.0.1:{free_port()}", timeout_seconds=2).instant(QUERIES[way])
    assert time.monotonic() - started < 2  # refused at once, not after the 2 s timeout
    assert "cannot be reached" in str(raised.value)


def test_bearer_token_is_read_for_every_request(server: ScriptedPrometheus, tmp_path: Path, way: str) -> None:
    token = tmp_path / "token"
    token.write_text("first\n")
    server.replies = [(200, vector())]
    client = PrometheusClient(server.url, bearer_token_file=token)
    client.instant(QUERIES[way])
    token.write_text("rotated")
    client.instant(QUERIES[way])
    assert [headers["Authorization"] for _, _, headers in server.requests] == ["Bearer first", "Bearer rotated"]
    sent_as(server, way)


def test_missing_token_file_is_a_settings_error(server: ScriptedPrometheus, tmp_path: Path, way: str) -> None:
    with pytest.raises(SettingsError):
        PrometheusClient(server.url, bearer_token_file=tmp_path / "absent").instant(QUERIES[way])
    assert server.requests == []


def test_refused_token_is_forbidden_and_never_quoted(server: ScriptedPrometheus, tmp_path: Path, way: str) -> None:
    token = tmp_path / "token"
    token.write_text("s3cret-token")
    server.replies = [(403, {"status": "error", "error": "forbidden: cluster-monitoring-view needed"})]
    with pytest.raises(Forbidden) as raised:
        PrometheusClient(server.url, bearer_token_file=token).instant(QUERIES[way])
    assert "HTTP 403" in str(raised.value)
    assert raised.value.problems == ("forbidden: cluster-monitoring-view needed",)
    assert "s3cret-token" not in str(raised.value) + " ".join(raised.value.problems)
    assert len(server.requests) == 1


def test_a_non_prometheus_answer_is_backend_unavailable(server: ScriptedPrometheus, way: str) -> None:
    server.replies = [(200, "<html>login</html>")]
    with pytest.raises(BackendUnavailable) as raised:
        PrometheusClient(server.url).instant(QUERIES[way])
    assert "did not answer like a Prometheus API" in str(raised.value)


def test_a_json_answer_without_data_is_backend_unavailable(server: ScriptedPrometheus, way: str) -> None:
    server.replies = [(200, {"status": "success"})]
    with pytest.raises(BackendUnavailable, match="did not answer like a Prometheus API"):
        PrometheusClient(server.url).instant(QUERIES[way])


def test_ca_bundle_is_used_for_verification(tmp_path: Path) -> None:
    bundle = tmp_path / "ca.crt"
    bundle.write_text("")
    client = PrometheusClient("https://thanos-querier.openshift-monitoring.svc:9091", ca_bundle=bundle)
    assert client._session.verify == str(bundle)
    insecure = PrometheusClient("https://localhost:9091", verify_tls=False)
    assert insecure._session.verify is False


def test_naive_times_are_refused(server: ScriptedPrometheus) -> None:
    with pytest.raises(InvalidInput):
        PrometheusClient(server.url).instant("up", at=datetime(2024, 5, 1))


def test_a_long_query_travels_in_the_body_not_the_url(server: ScriptedPrometheus) -> None:
    server.replies = [(200, vector(({}, "1")))]
    query = " or ".join(f'label_replace(vector({i}), "slo", "slo-{i:04d}", "", "")' for i in range(1_000))
    assert len(query) > 50_000
    PrometheusClient(server.url).instant(query, at=datetime(2024, 5, 1, tzinfo=timezone.utc))
    path, params, headers = server.requests[0]
    assert path == "/api/v1/query" and params["query"] == [query]
    assert params["time"] == [f"{datetime(2024, 5, 1, tzinfo=timezone.utc).timestamp():.3f}"]
    assert int(headers["Content-Length"]) > len(query)
    assert server.methods == ["POST"]


def test_the_url_holds_queries_up_to_its_limit(server: ScriptedPrometheus) -> None:
    server.replies = [(200, vector())]
    client = PrometheusClient(server.url)
    fits = "x" * (URL_QUERY_LIMIT_BYTES - len("query="))
    client.instant(fits)
    client.instant(fits + "x")
    assert server.methods == ["GET", "POST"]

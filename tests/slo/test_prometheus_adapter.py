"""The Prometheus adapter against a scripted HTTP server on loopback: results, errors, retry, timeout, token."""

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

from console.adapters.prometheus import PrometheusClient
from console.errors import BackendUnavailable, Forbidden, InvalidInput, SettingsError
from console.sandbox.processes import free_port

Reply = tuple[int, dict | str]


class ScriptedPrometheus:
    """Answers each request with the next scripted reply (the last one repeats) and remembers the requests."""

    def __init__(self) -> None:
        self.replies: list[Reply | Callable[[], Reply]] = []
        self.requests: list[tuple[str, dict[str, list[str]], dict[str, str]]] = []
        self.delay_seconds = 0.0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                url = urlparse(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                form = self.rfile.read(length).decode() if length else ""
                assert self.headers.get("Content-Type") == "application/x-www-form-urlencoded"
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
    start = datetime(2024, 5, 1, tzinfo=timezone.utc)
    (series,) = PrometheusClient(server.url).range("x", start=start, end=start + timedelta(hours=1), step=timedelta(minutes=1))
    assert series.labels == {"slo": "a"}
    assert [value for _, value in series.points] == [0.5, 0.25]
    _, params, _ = server.requests[0]
    assert params["step"] == ["60"]
    assert params["start"] == [f"{start.timestamp():.3f}"]
    assert params["end"] == [f"{start.timestamp() + 3600:.3f}"]


def test_bad_promql_is_invalid_input_with_prometheus_message(server: ScriptedPrometheus) -> None:
    server.replies = [(400, {"status": "error", "errorType": "bad_data", "error": "1:5: parse error: unclosed left parenthesis"})]
    with pytest.raises(InvalidInput) as raised:
        PrometheusClient(server.url).instant("sum(")
    assert raised.value.problems[0] == "1:5: parse error: unclosed left parenthesis"
    assert len(server.requests) == 1  # a 4xx is never retried


def test_one_retry_on_5xx_then_success(server: ScriptedPrometheus) -> None:
    server.replies = [(503, "overloaded"), (200, vector(({}, "1")))]
    assert PrometheusClient(server.url).instant("up")[0].value == 1.0
    assert len(server.requests) == 2


def test_5xx_twice_is_backend_unavailable(server: ScriptedPrometheus) -> None:
    server.replies = [(500, {"status": "error", "errorType": "internal", "error": "boom"})]
    with pytest.raises(BackendUnavailable) as raised:
        PrometheusClient(server.url).instant("up")
    assert raised.value.backend == "prometheus"
    assert "HTTP 500" in str(raised.value) and "boom" in str(raised.value)
    assert len(server.requests) == 2


def test_slow_prometheus_is_backend_unavailable_within_the_timeout(server: ScriptedPrometheus) -> None:
    server.replies = [(200, vector(({}, "1")))]
    server.delay_seconds = 3
    started = time.monotonic()
    with pytest.raises(BackendUnavailable) as raised:
        PrometheusClient(server.url, timeout_seconds=0.5).instant("up")
    assert time.monotonic() - started < 2.5  # the timeout, not the 3 s the server would take
    assert "did not answer within 0.5 seconds" in str(raised.value)


def test_prometheus_down_is_backend_unavailable_at_once() -> None:
    started = time.monotonic()
    with pytest.raises(BackendUnavailable) as raised:
        PrometheusClient(f"http://127.0.0.1:{free_port()}", timeout_seconds=2).instant("up")
    assert time.monotonic() - started < 2  # refused at once, not after the 2 s timeout
    assert "cannot be reached" in str(raised.value)


def test_bearer_token_is_read_for_every_request(server: ScriptedPrometheus, tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("first\n")
    server.replies = [(200, vector())]
    client = PrometheusClient(server.url, bearer_token_file=token)
    client.instant("up")
    token.write_text("rotated")
    client.instant("up")
    assert [headers["Authorization"] for _, _, headers in server.requests] == ["Bearer first", "Bearer rotated"]


def test_missing_token_file_is_a_settings_error(server: ScriptedPrometheus, tmp_path: Path) -> None:
    with pytest.raises(SettingsError):
        PrometheusClient(server.url, bearer_token_file=tmp_path / "absent").instant("up")


def test_refused_token_is_forbidden(server: ScriptedPrometheus) -> None:
    server.replies = [(403, "forbidden")]
    with pytest.raises(Forbidden):
        PrometheusClient(server.url).instant("up")


def test_a_non_prometheus_answer_is_backend_unavailable(server: ScriptedPrometheus) -> None:
    server.replies = [(200, "<html>login</html>")]
    with pytest.raises(BackendUnavailable) as raised:
        PrometheusClient(server.url).instant("up")
    assert "did not answer like a Prometheus API" in str(raised.value)


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
    PrometheusClient(server.url).instant(query)
    path, params, headers = server.requests[0]
    assert path == "/api/v1/query" and params["query"] == [query]
    assert int(headers["Content-Length"]) > len(query)

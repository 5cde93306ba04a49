"""The MLflow adapter against a real SQLite store and a real ``mlflow server``: reads and error translation."""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from console.adapters.mlflow_registry import MlflowRegistry
from console.errors import BackendUnavailable, InvalidInput, NotFound
from tests.mlflow.conftest import MlflowServer, SeededStore, free_port


@pytest.fixture(params=["sqlite", "http"])
def reader(request: pytest.FixtureRequest, seeded: SeededStore) -> MlflowRegistry:
    """The seeded store, read directly and through a real tracking server."""
    if request.param == "sqlite":
        return MlflowRegistry(seeded.uri)
    server: MlflowServer = request.getfixturevalue("mlflow_server")
    return MlflowRegistry(server.url, timeout_seconds=10)


def _experiment_id(registry: MlflowRegistry, name: str) -> str:
    return next(e.experiment_id for e in registry.list_experiments() if e.name == name)


def test_search_runs_pages_filters_and_orders(reader: MlflowRegistry) -> None:
    experiment_id = _experiment_id(reader, "iris-classification")
    first = reader.search_runs([experiment_id], max_results=8, order_by=["metrics.accuracy DESC"])
    assert len(first.runs) == 8 and first.next_page_token
    accuracies = [r.metrics["accuracy"] for r in first.runs]
    assert accuracies == sorted(accuracies, reverse=True)
    rest = reader.search_runs(
        [experiment_id], max_results=100, order_by=["metrics.accuracy DESC"], page_token=first.next_page_token
    )
    assert len(rest.runs) == 12 and rest.next_page_token is None
    assert not {r.run_id for r in first.runs} & {r.run_id for r in rest.runs}
    filtered = reader.search_runs([experiment_id], filter_string='metrics.accuracy > 0.9 and params.model = "mlp"')
    assert all(r.params["model"] == "mlp" and r.metrics["accuracy"] > 0.9 for r in filtered.runs)


@pytest.mark.parametrize(
    ("filter_string", "order_by", "expected"),
    [
        ("metrics.accuracy >> 0.9", (), "Invalid comparator"),
        ("params.model = mlp", (), "not quoted"),
        ("", ("metrics.accuracy SIDEWAYS",), "order_by"),
    ],
)
def test_invalid_search_is_invalid_input_with_mlflow_reason(
    reader: MlflowRegistry, filter_string: str, order_by: tuple[str, ...], expected: str
) -> None:
    experiment_id = _experiment_id(reader, "iris-classification")
    with pytest.raises(InvalidInput) as caught:
        reader.search_runs([experiment_id], filter_string=filter_string, order_by=order_by)
    assert "not valid MLflow search syntax" in caught.value.message
    assert expected in " ".join(caught.value.problems)
    assert "INVALID_PARAMETER_VALUE" not in str(caught.value)


def test_run_detail_reads(reader: MlflowRegistry) -> None:
    experiment_id = _experiment_id(reader, "diabetes-regression")
    runs = reader.search_runs([experiment_id], max_results=5).runs
    run = reader.get_run(runs[0].run_id)
    assert run == runs[0]
    assert {"r2", "rmse", "mae"} <= set(run.metrics)
    assert [a.path for a in reader.list_artifacts(run.run_id)][:1]
    histories = reader.metric_histories([r.run_id for r in runs], ["r2", "rmse", "missing"])
    assert len(histories) == 15
    for r in runs:
        points = histories[(r.run_id, "r2")].points
        assert len(points) == 15 and points[-1].value == pytest.approx(r.metrics["r2"])
        assert histories[(r.run_id, "missing")].points == ()
    assert reader.metric_history(runs[0].run_id, "rmse").points == histories[(runs[0].run_id, "rmse")].points
    batch = reader.get_runs([r.run_id for r in runs] + ["0" * 32])
    assert [r.run_id for r in batch] == [r.run_id for r in runs]


def test_registry_reads(reader: MlflowRegistry) -> None:
    models = reader.list_registered_models()
    assert [m.name for m in models] == ["diabetes-regressor", "iris-classifier", "wine-quality"]
    iris = reader.get_registered_model("iris-classifier")
    assert iris.aliases == {"champion": 4, "challenger": 5}
    versions = reader.search_model_versions("iris-classifier")
    assert [v.version for v in versions] == [5, 4, 3, 2, 1]
    assert reader.get_model_version("iris-classifier", 4).aliases == ("champion",)
    assert reader.get_model_version_by_alias("iris-classifier", "challenger").version == 5


@pytest.mark.parametrize(
    "call",
    [
        lambda r: r.get_registered_model("no-such-model"),
        lambda r: r.get_model_version("iris-classifier", 99),
        lambda r: r.get_model_version("no-such-model", 1),
        lambda r: r.get_model_version_by_alias("iris-classifier", "nobody-has-this"),
        lambda r: r.get_run("f" * 32),
    ],
    ids=["model", "version", "version-of-missing-model", "alias", "run"],
)
def test_missing_things_are_not_found(reader: MlflowRegistry, call) -> None:
    with pytest.raises(NotFound):
        call(reader)


def test_closed_port_is_unavailable_quickly() -> None:
    port = free_port()  # nothing listens there any more
    registry = MlflowRegistry(f"http://127.0.0.1:{port}", timeout_seconds=5)
    started = time.monotonic()
    with pytest.raises(BackendUnavailable) as caught:
        registry.list_experiments()
    assert time.monotonic() - started < 3
    assert f"127.0.0.1:{port}" in caught.value.message and caught.value.backend == "MLflow"
    assert "cannot be reached" in caught.value.message


def test_slow_server_times_out() -> None:
    with socket.socket() as silent:  # accepts connections (the kernel does) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        registry = MlflowRegistry(url, timeout_seconds=1)
        started = time.monotonic()
        with pytest.raises(BackendUnavailable) as caught:
            registry.get_registered_model("iris-classifier")
        elapsed = time.monotonic() - started
    assert 0.9 <= elapsed < 4
    assert "did not answer within 1 s" in caught.value.message


class _RecordingHandler(BaseHTTPRequestHandler):
    """Answers MLflow's SearchExperiments with an empty page and remembers the Authorization header."""

    seen: list[str | None] = []

    def _answer(self) -> None:
        type(self).seen.append(self.headers.get("Authorization"))
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        body = json.dumps({"experiments": []}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def recording_server() -> Iterator[tuple[str, list[str | None]]]:
    _RecordingHandler.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _RecordingHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", _RecordingHandler.seen
    finally:
        server.shutdown()
        server.server_close()


def test_token_and_basic_auth_are_sent(recording_server: tuple[str, list[str | None]]) -> None:
    url, seen = recording_server
    assert MlflowRegistry(url, token="s3cret-token").list_experiments() == ()
    assert seen[-1] == "Bearer s3cret-token"
    MlflowRegistry(url, username="ml-console", password="pa:ss").list_experiments()
    assert seen[-1] == "Basic " + base64.b64encode(b"ml-console:pa:ss").decode()
    MlflowRegistry(url).list_experiments()
    assert seen[-1] is None, "credentials of an earlier adapter must not leak"


def test_constructor_rejects_bad_settings() -> None:
    with pytest.raises(InvalidInput):
        MlflowRegistry("")
    with pytest.raises(InvalidInput):
        MlflowRegistry("http://127.0.0.1:1", username="only-user")
    with pytest.raises(InvalidInput):
        MlflowRegistry("http://127.0.0.1:1", timeout_seconds=0)

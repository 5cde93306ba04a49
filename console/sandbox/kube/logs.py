"""Synthetic but realistic container logs, a pure function of the pod, the container instance and time.

A model server logs a start-up banner, then request lines (plain text and JSON, with status and latency,
now and then a slow request or a 5xx). A ``broken`` image logs its start-up and dies with a Python stack
trace, so ``previous`` logs of a crash-looping container show why it crashed. Like the kubelet, only the
current log file is kept: lines older than ``RETENTION_SECONDS`` before now have been rotated away.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import errors
from .clock import parse_rfc3339, rfc3339_micro, rfc3339_nano
from .runtime import Instance, Timing, container_timeline, is_broken_image

RETENTION_SECONDS = 4 * 3600


@dataclass(frozen=True)
class LogRequest:
    container: str = ""
    previous: bool = False
    since_seconds: int | None = None
    since_time: str | None = None
    tail_lines: int | None = None
    timestamps: bool = False
    limit_bytes: int | None = None
    follow: bool = False


@dataclass(frozen=True)
class LogSource:
    """One container instance whose log is being read."""

    pod: dict[str, Any]
    container: dict[str, Any]
    instance: Instance
    timing: Timing

    @property
    def running(self) -> bool:
        return self.instance.finished is None

    def lines_between(self, start: float, end: float, *, last: int | None = None) -> list[tuple[float, str]]:
        """Lines with start < time <= end (and within the instance's life); only the ``last`` ones if given."""
        return _lines(self, start, end, last)


def resolve(pod: dict[str, Any], request: LogRequest, started_at: float, now: float, timing: Timing) -> LogSource | None:
    """Pick the container instance to read, with the apiserver's and kubelet's 400 messages."""
    name = pod["metadata"]["name"]
    containers = pod["spec"].get("containers") or []
    container_name = request.container
    if not container_name:
        if len(containers) == 1:
            container_name = containers[0]["name"]
        elif not containers:
            raise errors.bad_request(f"a container name must be specified for pod {name}")
        else:
            names = " ".join(c["name"] for c in containers)
            message = f"a container name must be specified for pod {name}, choose one of: [{names}]"
            init = pod["spec"].get("initContainers") or []
            if init:
                message += f" or one of the init containers: [{' '.join(c['name'] for c in init)}]"
            raise errors.bad_request(message)
    container = next((c for c in containers if c["name"] == container_name), None)
    if container is None:
        raise errors.bad_request(f"container {container_name} is not valid for pod {name}")
    if not pod["spec"].get("nodeName"):
        return None
    timeline = container_timeline(container["name"], container["image"], started_at, now, timing)
    if request.previous:
        if timeline.last_terminated is None:
            raise errors.bad_request(f'previous terminated container "{container_name}" in pod "{name}" not found')
        return LogSource(pod, container, timeline.last_terminated, timing)
    if timeline.current is not None:
        return LogSource(pod, container, timeline.current, timing)
    if timeline.last_terminated is not None:
        return LogSource(pod, container, timeline.last_terminated, timing)
    reason = timeline.waiting_reason or "ContainerCreating"
    raise errors.bad_request(f'container "{container_name}" in pod "{name}" is waiting to start: {reason}')


def render(source: LogSource | None, request: LogRequest, now: float) -> tuple[bytes, float]:
    """The log text for a non-follow request (or the first part of a follow), and the time it reaches."""
    if source is None:
        return b"", now
    start = source.instance.started - 1.0
    if request.since_seconds is not None:
        start = max(start, now - request.since_seconds)
    if request.since_time:
        try:
            start = max(start, parse_rfc3339(request.since_time) - 1e-6)  # float epochs carry ~0.2 us of error
        except ValueError as err:
            raise errors.bad_request(f"parsing time \"{request.since_time}\" as \"2006-01-02T15:04:05Z07:00\": cannot parse") from err
    if request.tail_lines is not None:
        lines = source.lines_between(start, now, last=request.tail_lines) if request.tail_lines > 0 else []
    else:
        lines = source.lines_between(start, now)
    text = format_lines(lines, request.timestamps)
    if request.limit_bytes is not None:
        text = text[: request.limit_bytes]
    return text, now


def format_lines(lines: list[tuple[float, str]], timestamps: bool) -> bytes:
    if timestamps:
        return "".join(f"{rfc3339_nano(ts)} {line}\n" for ts, line in lines).encode()
    return "".join(f"{line}\n" for _, line in lines).encode()


# --- the content ---------------------------------------------------------------------------------------------


def _model_info(pod: dict[str, Any], container: dict[str, Any]) -> tuple[str, str]:
    for env in container.get("env") or []:
        if env.get("name") == "MODEL_URI" and str(env.get("value", "")).startswith("models:/"):
            parts = env["value"][len("models:/"):].split("/")
            if len(parts) == 2:
                return parts[0], parts[1]
    annotations = pod["metadata"].get("annotations") or {}
    return container["name"], str(annotations.get("mlops.console/model-version", "1"))


def _startup(source: LogSource) -> list[tuple[float, str]]:
    model, version = _model_info(source.pod, source.container)
    t0 = source.instance.started
    image = source.container["image"]
    return [
        (t0 + 0.012, f"INFO:     Started server process [{1 + source.instance.index}]"),
        (t0 + 0.013, "INFO:     Waiting for application startup."),
        (t0 + 0.240, json.dumps({"time": rfc3339_micro(t0 + 0.240), "level": "info", "logger": "model_server",
                                 "msg": "loading model", "model_uri": f"models:/{model}/{version}", "image": image})),
        (t0 + 0.610, json.dumps({"time": rfc3339_micro(t0 + 0.610), "level": "info", "logger": "model_server",
                                 "msg": "model loaded", "model": model, "version": version, "load_seconds": 0.37})),
        (t0 + 0.620, "INFO:     Application startup complete."),
        (t0 + 0.621, "INFO:     Uvicorn running on http://0.0.0.0:8080 (Press CTRL+C to quit)"),
    ]


def _crash(source: LogSource, end: float) -> list[tuple[float, str]]:
    model, version = _model_info(source.pod, source.container)
    t0 = source.instance.started
    run = max(end - t0, 0.01)
    loading_at = t0 + 0.1 * run
    lines = [
        (t0 + 0.02 * run, f"INFO:     Started server process [{1 + source.instance.index}]"),
        (t0 + 0.03 * run, "INFO:     Waiting for application startup."),
        (loading_at, json.dumps({"time": rfc3339_micro(loading_at), "level": "info", "logger": "model_server",
                                 "msg": "loading model", "model_uri": f"models:/{model}/{version}",
                                 "image": source.container["image"]})),
    ]
    trace_at = t0 + 0.9 * run
    trace = [
        json.dumps({"time": rfc3339_micro(trace_at), "level": "error", "logger": "model_server",
                    "msg": "model failed to load", "model": model, "version": version}),
        "Traceback (most recent call last):",
        '  File "/app/model_server/main.py", line 41, in lifespan',
        "    app.state.model = load_model(settings.model_uri)",
        '  File "/app/model_server/loader.py", line 88, in load_model',
        "    return _deserialize(path, expected_signature=signature)",
        '  File "/app/model_server/loader.py", line 131, in _deserialize',
        "    raise ModelSignatureError(f\"input schema mismatch: expected {expected} features, got {actual}\")",
        "model_server.loader.ModelSignatureError: input schema mismatch: expected 11 features, got 12",
        "ERROR:    Application startup failed. Exiting.",
    ]
    lines += [(trace_at + i * 0.005 * run, text) for i, text in enumerate(trace)]
    return lines


def _request_lines(source: LogSource) -> Callable[[int, float], str]:
    """The writer of request line ``k`` (at ``ts``) of this container instance; what is fixed is worked out once."""
    model, version = _model_info(source.pod, source.container)
    prefix = f"{source.pod['metadata']['uid']}/{source.container['name']}/{source.instance.index}/"
    path = f"/v2/models/{model}/infer"

    def line(k: int, ts: float) -> str:
        d = hashlib.sha256(f"{prefix}{k}".encode()).digest()  # sha256 of uid/container/instance/k
        client = f"10.128.{d[0] % 4}.{2 + d[1] % 250}:{32768 + int.from_bytes(d[2:4], 'big') % 28000}"
        roll = d[4]
        if roll < 26:
            return f'INFO:     10.128.0.1:{40000 + d[5] * 10} - "GET /v2/health/ready HTTP/1.1" 200 OK'
        status = 200
        latency = 4.0 + (int.from_bytes(d[5:7], "big") % 4000) / 100.0
        if roll > 250:
            status = 500
            latency += 180.0
        elif roll > 244:
            status = 422
        elif roll > 236:
            latency += 240.0 + d[7]
        if status == 500:
            return json.dumps({"time": rfc3339_micro(ts), "level": "error", "logger": "model_server.access",
                               "msg": "prediction failed", "method": "POST", "path": path, "status": 500,
                               "latency_ms": round(latency, 1), "model": model, "model_version": version,
                               "error": "RuntimeError: worker timed out"})
        level = "warning" if latency > 250 else "info"
        if d[8] % 2 == 0:
            return json.dumps({"time": rfc3339_micro(ts), "level": level, "logger": "model_server.access",
                               "msg": "request", "method": "POST", "path": path, "status": status,
                               "latency_ms": round(latency, 1), "model": model, "model_version": version,
                               "client": client})
        phrase = {200: "OK", 422: "Unprocessable Entity"}[status]
        prefix_word = "WARNING: " if level == "warning" else "INFO:    "
        return f'{prefix_word} {client} - "POST {path} HTTP/1.1" {status} {phrase} latency_ms={latency:.1f}'

    return line


def _lines(source: LogSource, start: float, end: float, last: int | None = None) -> list[tuple[float, str]]:
    instance = source.instance
    if instance.finished is not None:
        end = min(end, instance.finished)
    start = max(start, end - RETENTION_SECONDS)
    broken = is_broken_image(source.container["image"])
    fixed = _crash(source, instance.finished or instance.started + source.timing.crash_after_seconds) if broken else _startup(source)
    out = [(ts, text) for ts, text in fixed if start < ts <= end]
    if broken:
        return out[-last:] if last else out
    interval = max(source.timing.log_interval_seconds, 0.05)
    base = instance.started + 1.0
    first_k = max(0, int((start - base) // interval) - 1)
    last_k = int((end - base) // interval) + 1
    if last is not None:
        # Request line k falls in [base + k * interval, base + (k + 0.9) * interval), after every start-up line:
        # the last lines wanted come from the last ``last`` values of k that are not past ``end`` (at most two).
        first_k = max(first_k, last_k - last - 2)
    request_line = _request_lines(source)
    timing_prefix = f"{source.pod['metadata']['uid']}/{source.container['name']}/{instance.index}/t/"
    sha256 = hashlib.sha256
    for k in range(first_k, last_k + 1):
        d = sha256(f"{timing_prefix}{k}".encode()).digest()  # sha256 of uid/container/instance/t/k
        ts = base + (k + (d[0] / 256.0) * 0.9) * interval
        if start < ts <= end:
            out.append((ts, request_line(k, ts)))
    out.sort(key=lambda item: item[0])
    return out[-last:] if last else out

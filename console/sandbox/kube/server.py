"""The HTTP face of the sandbox cluster: kube-apiserver's REST paths, discovery, watch and log streams.

Routing follows the apiserver's URL layout (``/api/v1/namespaces/{ns}/{resource}/{name}/{subresource}``,
``/apis/{group}/{version}/...``), answers errors with ``Status`` bodies, and streams watches and followed
logs as chunked responses, so kubectl and the official Python client work against it unchanged.
"""

from __future__ import annotations

import base64
import copy
import json
import os
import socket
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import yaml

from . import discovery, errors, kinds, logs, managed, media, tables, wire, writes
from . import patch as patching
from .clock import SystemClock, rfc3339
from .controller import Controllers
from .faults import AccessPolicy, Faults
from .openapi import http as openapi_http
from .resources import (
    GROUP_VERSIONS,
    RESOURCE_TYPES,
    SCALE_API_VERSION,
    ResourceType,
    fields_match,
    labels_match,
    lookup,
    parse_field_selector,
    parse_label_selector,
)
from .runtime import Timing
from .store import Store, drop_nulls

SERVER_VERSION = {
    "major": "1",
    "minor": "37",
    "emulationMajor": "1",
    "emulationMinor": "37",
    "minCompatibilityMajor": "1",
    "minCompatibilityMinor": "36",
    "gitVersion": "v1.37.0",
    "gitCommit": "5b1c3c7f2d9c0e2a8b51f0ad8d1b2a6e7c9f3d41",
    "gitTreeState": "clean",
    "buildDate": "2026-08-26T10:12:00Z",
    "goVersion": "go1.25.3",
    "compiler": "gc",
    "platform": "linux/amd64",
}
DEFAULT_USER = "system:serviceaccount:mlops-console:mlops-console"
DEFAULT_TOKEN = "sandbox-token"


class _Drop(Exception):
    """Close the connection without answering (an injected fault)."""


@dataclass
class RecordedResponse:
    method: str
    path: str
    status: int
    content_type: str
    body: bytes
    streamed: bool = False


@dataclass(frozen=True)
class Target:
    """What a request path names."""

    rt: ResourceType | None
    namespace: str = ""
    name: str = ""
    subresource: str = ""
    watch_path: bool = False
    discovery: Any = None


class KubeApiServer:
    """A local Kubernetes API server with a simulated deployment controller, scheduler and kubelet.

    ``pod_ready_seconds`` and friends set how long the simulated node takes; ``clock`` may be a
    ``ManualClock`` (then call ``tick()`` after ``clock.advance``); ``run_controllers=False`` leaves the
    cluster still until ``tick()`` is called.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        clock: Any = None,
        pod_start_seconds: float = 1.0,
        pod_ready_seconds: float = 2.0,
        crash_after_seconds: float = 3.0,
        crash_backoff_seconds: float = 10.0,
        pod_terminate_seconds: float = 1.0,
        log_interval_seconds: float = 5.0,
        run_controllers: bool = True,
        controller_interval_seconds: float = 0.02,
        user: str = DEFAULT_USER,
        token: str = DEFAULT_TOKEN,
        record_responses: bool = False,
        record_events: bool = True,
    ) -> None:
        self.host = host
        self.requested_port = port
        self.clock = clock or SystemClock()
        self.timing = Timing(
            pod_start_seconds=pod_start_seconds,
            pod_ready_seconds=pod_ready_seconds,
            crash_after_seconds=crash_after_seconds,
            crash_backoff_seconds=crash_backoff_seconds,
            crash_backoff_max_seconds=max(crash_backoff_seconds * 30, crash_backoff_seconds),
            pod_terminate_seconds=pod_terminate_seconds,
            log_interval_seconds=log_interval_seconds,
        )
        self.store = Store(self.clock)
        self.controllers = Controllers(self.store, self.timing, record_events=record_events)
        self.run_controllers = run_controllers
        self.controller_interval_seconds = controller_interval_seconds
        self.faults = Faults()
        self.policy = AccessPolicy()
        self.user = user
        self.tokens = {token: user}
        self.token = token
        self.record_responses = record_responses
        self.responses: list[RecordedResponse] = []
        self.requests: deque[tuple[str, str]] = deque(maxlen=10_000)
        self._responses_lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.stopping = False
        self.store.create("namespaces", {"metadata": {"name": "default"}})
        self.store.create("namespaces", {"metadata": {"name": "kube-system"}})
        for crd in kinds.installed_crds(rfc3339(self.clock.now())):
            self.store.seed("customresourcedefinitions", crd)

    # --- lifecycle ------------------------------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("the server is not started")
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> KubeApiServer:
        handler = type("BoundHandler", (_Handler,), {"api": self})
        self._httpd = _HTTPServer((self.host, self.requested_port), handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="kube-apiserver", daemon=True)
        self._thread.start()
        if self.run_controllers:
            self.controllers.start(self.controller_interval_seconds)
        return self

    def stop(self) -> None:
        self.stopping = True
        self.controllers.stop()
        self.store.close()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> KubeApiServer:
        return self.start() if self._httpd is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def tick(self) -> None:
        """Run the controllers until the cluster is quiet (for a manual clock or ``run_controllers=False``)."""
        self.controllers.tick()

    def kubeconfig(self, *, namespace: str = "default", context: str = "sandbox") -> dict[str, Any]:
        return {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "sandbox", "cluster": {"server": self.url}}],
            "users": [{"name": "sandbox-user", "user": {"token": self.token}}],
            "contexts": [
                {"name": context, "context": {"cluster": "sandbox", "user": "sandbox-user", "namespace": namespace}}
            ],
            "current-context": context,
            "preferences": {},
        }

    def write_kubeconfig(self, path: str | os.PathLike[str], *, namespace: str = "default") -> Path:
        """Write a kubeconfig that kubectl and ``kubernetes.config.load_kube_config`` accept."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(yaml.safe_dump(self.kubeconfig(namespace=namespace), sort_keys=False))
        os.chmod(target, 0o600)
        return target

    def write_sandbox_files(self, sandbox_dir: str | os.PathLike[str], *, namespace: str = "ml-serving") -> Path:
        """Write ``<sandbox_dir>/kubeconfig`` and set ``KUBECONFIG`` and ``KUBE_API_URL`` in ``<sandbox_dir>/env``.

        Other lines of the env file (written by the other parts of the sandbox) are kept.
        """
        root = Path(sandbox_dir)
        kubeconfig = self.write_kubeconfig(root / "kubeconfig", namespace=namespace)
        update_env_file(root / "env", {"KUBECONFIG": str(kubeconfig.resolve()), "KUBE_API_URL": self.url})
        return kubeconfig

    def save_state(self, path: str | os.PathLike[str]) -> None:
        """Write every object to a JSON file, so a later server can go on where this one stopped."""
        target = Path(path)
        temporary = target.with_suffix(".tmp")
        temporary.write_text(json.dumps(self.store.snapshot()), encoding="utf-8")
        temporary.replace(target)

    def load_state(self, path: str | os.PathLike[str]) -> None:
        """Load what ``save_state`` wrote into this (empty) server; the controllers take it from there."""
        with self.controllers.held():
            self.store.restore(json.loads(Path(path).read_text(encoding="utf-8")))

    # --- direct access for tests and seeders ---------------------------------------------------------------

    def create(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Create an object as a POST would (defaults, validation, uid, resourceVersion)."""
        rt = _type_of(obj)
        return self.store.create(rt.plural, obj, namespace=obj.get("metadata", {}).get("namespace", ""))

    def seed(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Store an object as given (creationTimestamp, status and annotations kept)."""
        return self.store.seed(_type_of(obj).plural, obj)

    def get(self, resource: str, namespace: str, name: str) -> dict[str, Any] | None:
        return self.store.get(resource, namespace if RESOURCE_TYPES[resource].namespaced else "", name)

    def list(self, resource: str, namespace: str | None = None, label_selector: str | None = None) -> list[dict[str, Any]]:
        items, _ = self.store.list_refs(resource, namespace, parse_label_selector(label_selector))
        return [copy.deepcopy(i) for i in items]

    def recorded(self) -> list[RecordedResponse]:
        with self._responses_lock:
            return list(self.responses)

    def _record(self, response: RecordedResponse) -> None:
        if self.record_responses:
            with self._responses_lock:
                self.responses.append(response)


def update_env_file(path: str | os.PathLike[str], values: dict[str, str]) -> None:
    """Set ``export NAME=value`` lines in a shell env file, replacing lines for the same names."""
    import shlex

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    lines = target.read_text().splitlines() if target.exists() else []
    kept = [line for line in lines if not any(line.startswith(f"export {name}=") for name in values)]
    kept += [f"export {name}={shlex.quote(value)}" for name, value in values.items()]
    target.write_text("\n".join(kept) + "\n")


def _type_of(obj: dict[str, Any]) -> ResourceType:
    for rt in RESOURCE_TYPES.values():
        if rt.kind == obj.get("kind") and rt.api_version == obj.get("apiVersion"):
            return rt
    raise ValueError(f"unsupported object kind {obj.get('apiVersion')}/{obj.get('kind')}")


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False
    request_queue_size = 128

    def handle_error(self, request: Any, client_address: Any) -> None:  # quiet on client disconnects
        pass


def _label_selector_string(selector: dict[str, Any]) -> str:
    parts = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for expr in selector.get("matchExpressions") or []:
        op = expr.get("operator")
        values = ",".join(sorted(expr.get("values") or []))
        if op == "In":
            parts.append(f"{expr['key']} in ({values})")
        elif op == "NotIn":
            parts.append(f"{expr['key']} notin ({values})")
        elif op == "Exists":
            parts.append(expr["key"])
        elif op == "DoesNotExist":
            parts.append(f"!{expr['key']}")
    return ",".join(sorted(parts))


class _Handler(BaseHTTPRequestHandler):
    api: KubeApiServer
    protocol_version = "HTTP/1.1"
    server_version = "kube-apiserver"
    sys_version = ""
    # Headers and body go out in separate writes; with Nagle's algorithm on, a small body waits for the client's
    # delayed ACK of the headers (40 ms on Linux). Go's net/http, and so the real apiserver, sets TCP_NODELAY.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass

    # --- plumbing -------------------------------------------------------------------------------------------

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, body: bytes, content_type: str = "application/json",
              headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Audit-Id", str(uuid.uuid4()))
        if "Cache-Control" not in (headers or {}):
            self.send_header("Cache-Control", "no-cache, private")
        self.send_header("Content-Type", content_type)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        for warning in self._warnings:
            self.send_header("Warning", '299 - ' + json.dumps(warning))
        self.send_header("X-Kubernetes-Pf-Flowschema-Uid", "7a1f0e33-8b3c-4f5e-9d1a-2b6c4d8e0f11")
        self.send_header("X-Kubernetes-Pf-Prioritylevel-Uid", "c2d4e6f8-1a3b-4c5d-8e9f-0a1b2c3d4e5f")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.api._record(RecordedResponse(self.command, self.path, status, content_type, body))
        self.wfile.write(body)

    def _choice(self, obj: Any) -> media.Choice:
        """The response type for this request's Accept header and an answer of ``obj``'s kind."""
        # A custom resource's endpoints have no protobuf serializer, for their errors either.
        protobuf = (not self._custom and isinstance(obj, dict)
                    and wire.can_encode(obj.get("apiVersion"), obj.get("kind")))
        return media.negotiate(self.headers.get("Accept"), protobuf=protobuf)

    def _send_json(self, status: int, obj: Any) -> None:
        """Send an API object in the negotiated media type (JSON, YAML or protobuf)."""
        body, content_type = media.encode(obj, self._choice(obj))
        self._send(status, body, content_type)

    def _send_stored(self, status: int, obj: dict[str, Any]) -> None:
        """A stored object: its cached JSON when JSON is what the client wants."""
        choice = self._choice(obj)
        if choice.media_type == media.JSON:
            self._send(status, self.api.store.encoded(obj))
        else:
            self._send(status, *media.encode(obj, choice))

    def _send_error(self, err: errors.ApiError) -> None:
        status = err.status()
        try:
            choice = self._choice(status)
        except errors.ApiError:
            choice = media.Choice(media.JSON)  # a Status goes out even to a client that accepts nothing we write
        self._send(err.code, *media.encode(status, choice))

    def _start_stream(self, content_type: str) -> None:
        self.send_response(200)
        self.send_header("Audit-Id", str(uuid.uuid4()))
        self.send_header("Cache-Control", "no-cache, private")
        self.send_header("Content-Type", content_type)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self._stream_body: list[bytes] = []

    def _chunk(self, data: bytes) -> None:
        if not data:
            return
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()
        self._stream_body.append(data)

    def _end_stream(self, content_type: str) -> None:
        # Record before the last chunk: a client may act on the response as soon as it has it.
        self.api._record(RecordedResponse(self.command, self.path, 200, content_type, b"".join(self._stream_body), True))
        try:
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except OSError:
            pass

    def _dispatch(self, method: str) -> None:
        body = self._read_body()
        self._warnings: list[str] = []
        self._custom = False
        split = urlsplit(self.path)
        params = {k: v[-1] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        self.api.requests.append((method, self.path))
        try:
            self._route(method, split.path, params, body)
        except _Drop:
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        except errors.ApiError as err:
            self._send_error(err)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception as err:  # an apiserver answers 500 with a Status, never a stack trace
            import traceback

            traceback.print_exc()
            self._send_error(errors.ApiError(500, "InternalError", f"Internal error occurred: {err}",
                                             details={"causes": [{"message": str(err)}]}))

    # --- routing --------------------------------------------------------------------------------------------

    def _authenticate(self, path: str) -> str:
        if path in ("/version", "/healthz", "/livez", "/readyz") or path.startswith("/version/"):
            return "system:anonymous"
        header = self.headers.get("Authorization") or ""
        if not header:
            # kubectl does not send bearer tokens over plain HTTP; the sandbox listens on loopback only.
            return self.api.user
        token = header[7:].strip() if header.lower().startswith("bearer ") else ""
        user = self.api.tokens.get(token)
        if user is None:
            raise errors.ApiError(401, "Unauthorized", "Unauthorized")
        return user

    def _route(self, method: str, path: str, params: dict[str, str], body: bytes) -> None:
        path = path.rstrip("/") or "/"
        user = self._authenticate(path)
        if path in ("/healthz", "/livez", "/readyz"):
            self._send(200, b"ok", "text/plain; charset=utf-8")
            return
        if path == "/version":
            self._send_json(200, SERVER_VERSION)
            return
        if path in ("/api", "/apis") and discovery.wants_aggregated(self.headers.get("Accept")):
            document = json.dumps(discovery.aggregated(legacy=path == "/api"), separators=(",", ":")).encode()
            self._send(200, document, discovery.AGGREGATED)
            return
        if path == "/api":
            self._send_json(200, discovery.api_versions(self.api.host, self.api.port))
            return
        if path == "/apis":
            self._send_json(200, discovery.group_list())
            return
        if path == "/openapi/v2" or path.startswith("/openapi/v3"):
            if method != "GET":
                raise errors.method_not_allowed(method)
            self._send(*openapi_http.serve(path, params, self.headers.get("Accept")))
            return
        parts = [p for p in path.split("/") if p]
        if parts[0] == "api" and len(parts) >= 2:
            group, version, rest = "", parts[1], parts[2:]
        elif parts[0] == "apis" and len(parts) >= 2:
            group = parts[1]
            if len(parts) == 2:
                document = discovery.group(group)
                if document is None:
                    raise errors.ApiError(404, "NotFound", "the server could not find the requested resource", details={})
                self._send_json(200, document)
                return
            version, rest = parts[2], parts[3:]
        else:
            raise errors.ApiError(404, "NotFound", "the server could not find the requested resource", details={})
        if version not in GROUP_VERSIONS.get(group, ()):
            raise errors.ApiError(404, "NotFound", "the server could not find the requested resource", details={})
        if not rest:
            if method != "GET":
                raise errors.method_not_allowed(method)
            self._send_json(200, discovery.resource_list(group, version))
            return
        target = self._parse_target(group, version, rest)
        self._serve(method, target, params, body, user)

    def _parse_target(self, group: str, version: str, rest: list[str]) -> Target:
        not_found = errors.ApiError(404, "NotFound", "the server could not find the requested resource", details={})
        watch_path = False
        if rest[0] == "watch":
            watch_path, rest = True, rest[1:]
            if not rest:
                raise not_found
        namespace = ""
        if rest[0] == "namespaces" and len(rest) >= 3 and not (group == "" and len(rest) == 3 and rest[2] in ("status", "finalize")):
            namespace, rest = rest[1], rest[2:]
        rt = lookup(group, version, rest[0])
        if rt is None:
            raise not_found
        if namespace and not rt.namespaced:
            raise not_found
        name = rest[1] if len(rest) > 1 else ""
        subresource = rest[2] if len(rest) > 2 else ""
        if len(rest) > 3 or (subresource and subresource not in rt.subresources):
            raise not_found
        return Target(rt, namespace, name, subresource, watch_path)

    def _serve(self, method: str, target: Target, params: dict[str, str], body: bytes, user: str) -> None:
        rt = target.rt
        assert rt is not None
        self._custom = rt.custom
        if target.name:
            verb = {"GET": "get", "PUT": "update", "PATCH": "patch", "DELETE": "delete", "POST": "create"}[method]
            if target.watch_path:
                verb = "watch"
        else:
            verb = {"GET": "list", "POST": "create", "DELETE": "deletecollection"}.get(method, "")
            if method == "GET" and (target.watch_path or params.get("watch") in ("true", "1")):
                verb = "watch"
            if not verb:
                raise errors.method_not_allowed(method)
        if method == "POST" and target.name:
            raise errors.method_not_allowed(method)
        if target.subresource == "log" and verb != "get":
            raise errors.method_not_allowed(method)
        namespace = target.namespace
        if rt.namespaced and not namespace and verb not in ("list", "watch"):
            raise errors.ApiError(404, "NotFound", "the server could not find the requested resource", details={})
        # Injected faults, then authorization, in the order a real request meets them.
        for fault in self.api.faults.take(verb, rt.plural, target.subresource, namespace):
            if fault.latency_seconds:
                time.sleep(fault.latency_seconds)
            if fault.drop:
                raise _Drop()
            if fault.status == 403:
                raise self._forbidden(user, verb, target)
            if fault.status is not None:
                raise errors.server_error(fault.status)
        if not self.api.policy.allows(verb, rt.plural, target.subresource, namespace):
            raise self._forbidden(user, verb, target)
        dry_run = params.get("dryRun") == "All"
        if params.get("dryRun") not in (None, "", "All"):
            options = {"create": "CreateOptions", "update": "UpdateOptions", "patch": "PatchOptions"}.get(verb, "DeleteOptions")
            raise errors.invalid(options, "meta.k8s.io", "", [errors.FieldError.not_supported(
                "dryRun", params["dryRun"], ["All"])])
        store = self.api.store
        if target.subresource == "log":
            self._serve_log(target, params)
            return
        if rt.plural == "selfsubjectaccessreviews":
            self._serve_access_review(verb, body, user)
            return
        if verb == "list":
            self._serve_list(rt, namespace, params)
            return
        if verb == "watch":
            self._serve_watch(rt, namespace, params, target.name)
            return
        if verb in ("create", "update", "patch") and not target.subresource == "scale":
            self._serve_write(verb, target, params, body, dry_run)
            return
        if verb == "deletecollection":
            labels = parse_label_selector(params.get("labelSelector"))
            fields = parse_field_selector(rt.plural, params.get("fieldSelector"))
            items, _ = store.list_refs(rt.plural, namespace or None, labels, fields)
            deleted = []
            for item in list(items):
                try:
                    obj, _ = store.delete(rt.plural, namespace, item["metadata"]["name"], dry_run=dry_run)
                    deleted.append({k: v for k, v in obj.items() if k not in ("kind", "apiVersion")})
                except errors.ApiError:
                    pass
            self._send_json(200, {"kind": rt.list_kind, "apiVersion": rt.api_version,
                                  "metadata": {"resourceVersion": str(store.resource_version)}, "items": deleted})
            return
        if target.subresource == "scale":
            self._serve_scale(method, rt, target, params, body, dry_run)
            return
        if verb == "get":
            obj = store.get_ref(rt.plural, namespace, target.name)
            if obj is None:
                raise errors.not_found(rt.plural, rt.group, target.name)
            if self._wants_table(params):
                self._send_json(200, tables.table(rt, [obj], self.api.clock.now(), params))
                return
            self._send_stored(200, obj)
            return
        if verb == "delete":
            options = self._decode_object(body) if body.strip() else {}
            if "propagationPolicy" in params:
                options["propagationPolicy"] = params["propagationPolicy"]
            if "gracePeriodSeconds" in params:
                options["gracePeriodSeconds"] = int(params["gracePeriodSeconds"])
            obj, gone = store.delete(rt.plural, namespace, target.name, options=options, dry_run=dry_run)
            # Pods, Namespaces and Services answer with the deleted object (ReturnDeletedObject), others with a Status.
            if gone and rt.plural not in ("pods", "namespaces", "services"):
                details = {"name": target.name, "kind": rt.plural, "uid": obj["metadata"]["uid"]}
                if rt.group:
                    details = {"name": target.name, "group": rt.group, "kind": rt.plural, "uid": obj["metadata"]["uid"]}
                self._send_json(200, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details})
            else:
                self._send_json(200, obj)
            return
        raise errors.method_not_allowed(method)

    def _forbidden(self, user: str, verb: str, target: Target) -> errors.ApiError:
        rt = target.rt
        assert rt is not None
        return errors.forbidden(
            user=user, verb=verb, resource=rt.plural, subresource=target.subresource, group=rt.group,
            name=target.name, namespace=target.namespace,
        )

    def _serve_write(self, verb: str, target: Target, params: dict[str, str], body: bytes, dry_run: bool) -> None:
        assert target.rt is not None
        request = writes.WriteRequest(
            target.rt, target.namespace, target.name, target.subresource, params, body,
            self.headers.get("Content-Type") or "", self.headers.get("User-Agent") or "", dry_run,
        )
        handler = {"create": writes.create, "update": writes.replace, "patch": writes.patch}[verb]
        result = handler(self.api.store, request)
        self._warnings = result.warnings
        self._send_json(result.status, result.obj)

    def _decode_object(self, body: bytes) -> dict[str, Any]:
        """A DeleteOptions or Scale body in any media type the server reads."""
        value = media.decode_object_body(body, self.headers.get("Content-Type"), protobuf=True).value
        if not isinstance(value, dict):
            raise errors.bad_request("the body of the request was in an unknown format")
        return value

    def _wants_table(self, params: dict[str, str]) -> bool:
        return "as=Table" in (self.headers.get("Accept") or "")

    def _list_choice(self, api_version: str, kind: str) -> media.Choice:
        protobuf = not self._custom and wire.can_encode(api_version, kind)
        return media.negotiate(self.headers.get("Accept"), protobuf=protobuf, table=True)

    def _serve_access_review(self, verb: str, body: bytes, user: str) -> None:
        if verb != "create":
            raise errors.method_not_allowed(self.command)
        review = media.decode_object_body(body, self.headers.get("Content-Type"), protobuf=True).value
        if not isinstance(review, dict):
            raise errors.bad_request("the body of the request was in an unknown format")
        attributes = (review.get("spec") or {}).get("resourceAttributes") or {}
        allowed = self.api.policy.allows(
            attributes.get("verb", ""), attributes.get("resource", ""), attributes.get("subresource", ""),
            attributes.get("namespace", ""),
        )
        status: dict[str, Any] = {"allowed": allowed}
        if allowed:
            status["reason"] = "allowed by the sandbox access policy"
        else:
            status["denied"] = True
        answer = {
            "kind": "SelfSubjectAccessReview",
            "apiVersion": "authorization.k8s.io/v1",
            "metadata": {"creationTimestamp": None},
            "spec": review.get("spec") or {},
            "status": status,
        }
        self._send_json(201, drop_nulls(answer))

    # --- list, watch --------------------------------------------------------------------------------------------

    def _serve_list(self, rt: ResourceType, namespace: str, params: dict[str, str]) -> None:
        store = self.api.store
        labels = parse_label_selector(params.get("labelSelector"))
        fields = parse_field_selector(rt.plural, params.get("fieldSelector"))
        items, rv = store.list_refs(rt.plural, namespace or None, labels, fields)
        meta: dict[str, Any] = {"resourceVersion": str(rv)}
        limit = int(params.get("limit") or 0)
        token = params.get("continue")
        if token:
            try:
                state = json.loads(base64.urlsafe_b64decode(token.encode()))
                after = (state["ns"], state["name"])
                meta["resourceVersion"] = str(state["rv"])
            except (ValueError, KeyError) as err:
                raise errors.bad_request("continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)") from err
            items = [i for i in items if (i["metadata"].get("namespace", ""), i["metadata"]["name"]) > after]
        if limit and len(items) > limit:
            last = items[limit - 1]["metadata"]
            state = {"rv": int(meta["resourceVersion"]), "ns": last.get("namespace", ""), "name": last["name"]}
            meta["continue"] = base64.urlsafe_b64encode(json.dumps(state).encode()).decode()
            meta["remainingItemCount"] = len(items) - limit
            items = items[:limit]
        choice = self._list_choice(rt.api_version, rt.list_kind)
        if choice.table:
            table = tables.table(rt, items, self.api.clock.now(), params)
            table["metadata"] = meta
            self._send_json(200, table)
            return
        if choice.media_type != media.JSON:
            listed = {"kind": rt.list_kind, "apiVersion": rt.api_version, "metadata": meta,
                      "items": [{k: v for k, v in i.items() if k not in ("kind", "apiVersion")} for i in items]}
            self._send(200, *media.encode(listed, choice))
            return
        head = json.dumps({"kind": rt.list_kind, "apiVersion": rt.api_version, "metadata": meta}, separators=(",", ":"))
        encoded = [store.encoded_item(i) for i in items]
        body = head[:-1].encode() + b',"items":[' + b",".join(encoded) + b"]}"
        self._send(200, body)

    def _serve_watch(self, rt: ResourceType, namespace: str, params: dict[str, str], name: str) -> None:
        store = self.api.store
        labels = parse_label_selector(params.get("labelSelector"))
        fields = parse_field_selector(rt.plural, params.get("fieldSelector"))
        if name:
            fields = fields + parse_field_selector(rt.plural, f"metadata.name={name}")
        timeout = float(params.get("timeoutSeconds") or 1800)
        send_initial = params.get("sendInitialEvents") == "true"
        bookmarks = params.get("allowWatchBookmarks") == "true"
        rv_param = params.get("resourceVersion", "")
        if send_initial and params.get("resourceVersionMatch") != "NotOlderThan":
            raise errors.ApiError(422, "Invalid", "ListOptions.meta.k8s.io \"\" is invalid: sendInitialEvents: Forbidden: sendInitialEvents is forbidden for watch unless resourceVersionMatch is set to NotOlderThan",
                                  details={"kind": "ListOptions", "group": "meta.k8s.io", "causes": [{"reason": "FieldValueForbidden", "message": "Forbidden: sendInitialEvents is forbidden for watch unless resourceVersionMatch is set to NotOlderThan", "field": "sendInitialEvents"}]})

        def matches(obj: dict[str, Any] | None) -> bool:
            if obj is None:
                return False
            meta = obj["metadata"]
            if namespace and meta.get("namespace", "") != namespace:
                return False
            return labels_match(labels, meta.get("labels")) and fields_match(rt.plural, fields, obj)

        choice = self._list_choice(rt.api_version, rt.kind)
        as_table = choice.table
        protobuf = choice.media_type == media.PROTOBUF
        content_type = wire.PROTOBUF_WATCH if protobuf else "application/json"

        def encode(obj: dict[str, Any]) -> bytes:
            if as_table:
                return json.dumps(tables.table(rt, [obj], self.api.clock.now(), params), separators=(",", ":")).encode()
            return store.encoded(obj)

        def event(kind: str, obj: dict[str, Any], stored: bool = True) -> bytes:
            """One watch event in the stream's framing: a JSON line, or a length-prefixed protobuf WatchEvent."""
            if protobuf:
                return wire.encode_watch_event(kind, obj)
            body = encode(obj) if stored else json.dumps(obj, separators=(",", ":")).encode()
            return b'{"type":"' + kind.encode() + b'","object":' + body + b"}\n"

        initial: list[dict[str, Any]] = []
        with store.lock:
            current_rv = store.resource_version
            if send_initial or rv_param in ("", "0"):
                initial = [o for o in store.list_refs(rt.plural, namespace or None, labels, fields)[0]]
                start_rv = current_rv
            else:
                try:
                    start_rv = int(rv_param)
                except ValueError as err:
                    raise errors.bad_request(f"invalid resource version: {rv_param}") from err
        self._start_stream(content_type)
        client_gone = False
        try:
            if start_rv > 0 and store.too_old(start_rv):
                status = errors.gone(f"too old resource version: {start_rv} ({current_rv})").status()
                self._chunk(event("ERROR", status, stored=False))
                return
            for obj in initial:
                self._chunk(event("ADDED", obj))
            if send_initial:
                bookmark = {"kind": rt.kind, "apiVersion": rt.api_version,
                            "metadata": {"resourceVersion": str(start_rv), "annotations": {"k8s.io/initial-events-end": "true"}}}
                self._chunk(event("BOOKMARK", bookmark, stored=False))
            deadline = time.monotonic() + timeout
            last_rv = start_rv
            last_bookmark = time.monotonic()
            while not self.api.stopping and time.monotonic() < deadline:
                events, ok = store.events_after(last_rv, min(0.5, max(deadline - time.monotonic(), 0.01)))
                if not ok:
                    status = errors.gone(f"too old resource version: {last_rv} ({store.resource_version})").status()
                    self._chunk(event("ERROR", status, stored=False))
                    return
                for watch_event in events:
                    last_rv = watch_event.rv
                    if watch_event.resource != rt.plural:
                        continue
                    now_match = matches(watch_event.obj)
                    if watch_event.type == "MODIFIED":
                        was_match = matches(watch_event.old)
                        if now_match and was_match:
                            kind = "MODIFIED"
                        elif now_match:
                            kind = "ADDED"
                        elif was_match:
                            kind = "DELETED"
                        else:
                            continue
                    elif now_match:
                        kind = watch_event.type
                    else:
                        continue
                    self._chunk(event(kind, watch_event.obj))
                if bookmarks and time.monotonic() - last_bookmark > 30:
                    last_bookmark = time.monotonic()
                    bookmark = {"kind": rt.kind, "apiVersion": rt.api_version, "metadata": {"resourceVersion": str(last_rv)}}
                    self._chunk(event("BOOKMARK", bookmark, stored=False))
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
            client_gone = True
            return
        finally:
            if not client_gone:
                self._end_stream(content_type)
            else:
                self.api._record(RecordedResponse(self.command, self.path, 200, content_type, b"".join(self._stream_body), True))

    # --- scale -------------------------------------------------------------------------------------------------

    def _scale_of(self, obj: dict[str, Any]) -> dict[str, Any]:
        meta = obj["metadata"]
        return {
            "kind": "Scale",
            "apiVersion": SCALE_API_VERSION,
            "metadata": {
                "name": meta["name"],
                "namespace": meta["namespace"],
                "uid": meta["uid"],
                "resourceVersion": meta["resourceVersion"],
                "creationTimestamp": meta["creationTimestamp"],
            },
            "spec": {"replicas": obj["spec"].get("replicas", 0)},
            "status": {
                "replicas": obj.get("status", {}).get("replicas", 0),
                "selector": _label_selector_string(obj["spec"].get("selector") or {}),
            },
        }

    def _serve_scale(self, method: str, rt: ResourceType, target: Target, params: dict[str, str], body: bytes, dry_run: bool) -> None:
        store = self.api.store
        with store.lock:
            obj = store.get(rt.plural, target.namespace, target.name)
            if obj is None:
                raise errors.not_found(rt.plural, rt.group, target.name)
            scale = self._scale_of(obj)
            if method == "GET":
                self._send_json(200, scale)
                return
            if method == "PUT":
                new_scale = self._decode_object(body)
            elif method == "PATCH":
                content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip()
                patch_body = media.decode_patch_body(body, content_type)
                if patch_body.media_type == media.APPLY_PATCH:
                    # Server-side apply through the scale subresource is not simulated.
                    raise errors.unsupported_media_type(content_type, apply=False)
                new_scale = patching.apply_patch(scale, patch_body.value, content_type, "Scale")
            else:
                raise errors.method_not_allowed(method)
            replicas = (new_scale.get("spec") or {}).get("replicas", 0)
            if not isinstance(replicas, int) or replicas < 0:
                raise errors.invalid("Scale", "autoscaling", target.name, [
                    errors.FieldError.invalid("spec.replicas", replicas, "must be greater than or equal to 0")])
            sent_rv = (new_scale.get("metadata") or {}).get("resourceVersion")
            if sent_rv and sent_rv != obj["metadata"]["resourceVersion"]:
                raise errors.conflict(rt.plural, rt.group, target.name)
            obj["spec"]["replicas"] = replicas
            manager = managed.manager_from(params, self.headers.get("User-Agent"))
            updated = store.update(rt.plural, obj, dry_run=dry_run, manager=manager, tracked_as="scale")
        self._send_json(200, self._scale_of(updated))

    # --- logs --------------------------------------------------------------------------------------------------

    def _serve_log(self, target: Target, params: dict[str, str]) -> None:
        api = self.api
        pod = api.store.get("pods", target.namespace, target.name)
        if pod is None:
            raise errors.not_found("pods", "", target.name)

        def int_param(key: str) -> int | None:
            if key not in params or params[key] == "":
                return None
            try:
                return int(params[key])
            except ValueError as err:
                raise errors.bad_request(f'strconv.ParseInt: parsing "{params[key]}": invalid syntax') from err

        def flag(key: str) -> bool:
            return params.get(key, "false").lower() in ("true", "1")

        request = logs.LogRequest(
            container=params.get("container", ""),
            previous=flag("previous"),
            since_seconds=int_param("sinceSeconds"),
            since_time=params.get("sinceTime") or None,
            tail_lines=int_param("tailLines"),
            timestamps=flag("timestamps"),
            limit_bytes=int_param("limitBytes"),
            follow=flag("follow"),
        )
        problems = []
        if request.since_seconds is not None and request.since_seconds < 1:
            problems.append(errors.FieldError.invalid("sinceSeconds", request.since_seconds, "must be greater than 0"))
        if request.tail_lines is not None and request.tail_lines < 0:
            problems.append(errors.FieldError.invalid("tailLines", request.tail_lines, "must be greater than or equal to 0"))
        if request.limit_bytes is not None and request.limit_bytes < 1:
            problems.append(errors.FieldError.invalid("limitBytes", request.limit_bytes, "must be greater than 0"))
        if request.since_seconds is not None and request.since_time:
            problems.append(errors.FieldError.forbidden("sinceTime", "at most one of `sinceTime` or `sinceSeconds` may be specified"))
        if problems:
            raise errors.invalid("PodLogOptions", "", target.name, problems)
        now = api.clock.now()
        started_at = api.controllers.container_started_at(pod)
        source = logs.resolve(pod, request, started_at, now, api.timing)
        text, reached = logs.render(source, request, now)
        content_type = "text/plain"
        if not request.follow or source is None or not source.running:
            self._send(200, text, content_type)
            return
        self._start_stream(content_type)
        sent = len(text)
        try:
            self._chunk(text)
            while not api.stopping:
                if request.limit_bytes is not None and sent >= request.limit_bytes:
                    break
                time.sleep(0.1)
                now = api.clock.now()
                current = api.store.get_ref("pods", target.namespace, target.name)
                lines = source.lines_between(reached, now)
                reached = now
                chunk = logs.format_lines(lines, request.timestamps)
                if request.limit_bytes is not None:
                    chunk = chunk[: max(request.limit_bytes - sent, 0)]
                sent += len(chunk)
                self._chunk(chunk)
                finished = source.instance.finished is None and (
                    api.controllers.pod_status(pod, now)[0]["containerStatuses"] if current is not None else None
                )
                if current is None or current["metadata"]["uid"] != pod["metadata"]["uid"] or current["metadata"].get("deletionTimestamp"):
                    break
                if not finished:
                    break
                status = next((c for c in finished if c["name"] == source.container["name"]), None)
                if status is None or "running" not in status.get("state", {}) or status.get("restartCount") != source.instance.index:
                    break
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
            self.api._record(RecordedResponse(self.command, self.path, 200, content_type, b"".join(self._stream_body), True))
            return
        self._end_stream(content_type)


def replace_timing(server: KubeApiServer, **changes: float) -> None:
    """Change the simulated node's delays of a running server (for example to slow a rollout down)."""
    server.timing = replace(server.timing, **changes)
    server.controllers.timing = server.timing

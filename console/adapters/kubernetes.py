"""The Kubernetes / OpenShift API, through the official client, limited to the namespace allow-list.

Answers are decoded straight into the typed objects of ``console.domain.kubernetes_objects`` (without the
client's model deserialisation, which costs more than the request on large lists); a list needed for its metadata
only is read for that only. Every request has a timeout and no client-side retry, so a page answers within the
timeout. ``ApiException``, connection errors and answers that are not the API's JSON are translated in
``_translated`` only.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import urllib3
import yaml
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException

from console.adapters import kubernetes_decoding as decoding
from console.domain.kubernetes_objects import Deployment, Event, ObjectList, ObjectMetadata, Pod, ReplicaSet
from console.errors import BackendUnavailable, Conflict, Forbidden, InvalidInput, NotFound

T = TypeVar("T")
JSON_PATCH = "application/json-patch+json"


class KubernetesCluster:
    """One cluster, seen through the console's account, limited to the allowed namespaces."""

    def __init__(
        self,
        *,
        namespaces: tuple[str, ...],
        kubeconfig: Path | None = None,
        in_cluster: bool = False,
        timeout_seconds: float = 10.0,
    ) -> None:
        if not namespaces:
            raise InvalidInput("No namespace is allowed: set CONSOLE_NAMESPACES.")
        configuration = client.Configuration()
        try:
            if in_cluster:
                config.load_incluster_config(client_configuration=configuration)
            else:
                config.load_kube_config(
                    config_file=str(kubeconfig) if kubeconfig else None, client_configuration=configuration
                )
        except (ConfigException, OSError) as err:
            source = "the in-cluster service account" if in_cluster else f"the kubeconfig {kubeconfig or '(default)'}"
            raise BackendUnavailable(f"Cannot load {source}: {err}", backend="Kubernetes") from err
        except (yaml.YAMLError, ValueError, TypeError, KeyError, AttributeError) as err:
            # The client parses the file without checking its shape: a broken kubeconfig raises anything.
            detail = str(err).splitlines()[0] if str(err) else err.__class__.__name__
            raise BackendUnavailable(f"The kubeconfig {kubeconfig or '(default)'} is not a valid kubeconfig "
                                     f"(YAML with clusters, users and contexts): {detail}",
                                     backend="Kubernetes") from err
        configuration.retries = False  # one attempt within the timeout; the operator decides to retry
        self.address = configuration.host
        self.namespaces = tuple(namespaces)
        self.timeout_seconds = timeout_seconds
        self._api_client = client.ApiClient(configuration)
        self._core = client.CoreV1Api(self._api_client)
        self._apps = client.AppsV1Api(self._api_client)
        self._lock = threading.Lock()
        self._calls: dict[str, int] = {}
        # None until the first multi-namespace list tells whether the account may list cluster-wide.
        self._cluster_wide_lists: bool | None = None if len(namespaces) > 1 else False

    # --- bookkeeping ------------------------------------------------------------------------------------

    @property
    def calls(self) -> dict[str, int]:
        """Requests made so far, by verb and resource (for benchmarks and tests)."""
        with self._lock:
            return dict(self._calls)

    def _count(self, key: str) -> None:
        with self._lock:
            self._calls[key] = self._calls.get(key, 0) + 1

    def require_namespace(self, namespace: str) -> None:
        """Refuse a namespace outside the allow-list before any request."""
        if namespace not in self.namespaces:
            allowed = ", ".join(self.namespaces)
            raise Forbidden(f"Namespace {namespace!r} is not managed by this console (allowed: {allowed}).")

    @contextmanager
    def _translated(self, verb: str, resource: str, namespace: str | None, name: str | None = None) -> Iterator[None]:
        self._count(f"{verb} {resource}")
        where = f" in namespace {namespace}" if namespace else " across namespaces"
        what = f"{resource} {namespace}/{name}" if name and namespace else resource
        try:
            yield
        except ApiException as err:
            message = _status_message(err)
            if err.status == 403:
                raise Forbidden(
                    f"The console's Kubernetes account may not {verb} {resource}{where}: {message}"
                ) from err
            if err.status == 404:
                raise NotFound(f"{what[:1].upper() + what[1:]} is gone: it no longer exists{where}.") from err
            if err.status == 409:
                raise Conflict(f"{what} changed since you loaded it - reload.") from err
            if err.status in (400, 422):
                raise InvalidInput(f"Kubernetes refused to {verb} {what}: {message}") from err
            if err.status == 401:
                raise Forbidden(f"The Kubernetes API at {self.address} refused the console's credentials.") from err
            raise BackendUnavailable(
                f"The Kubernetes API at {self.address} failed to {verb} {resource}: {err.status} {message}",
                backend="Kubernetes",
            ) from err
        except ValueError as err:  # a 200 that is not the API's JSON: a proxy's page, a cut body
            detail = str(err)[:120]
            raise BackendUnavailable(
                f"The Kubernetes API at {self.address} answered {verb} {resource}{where} with something that is "
                f"not Kubernetes JSON ({detail}).", backend="Kubernetes"
            ) from err
        except (urllib3.exceptions.HTTPError, OSError) as err:
            reason = "did not answer in time" if _is_timeout(err) else "is not reachable"
            raise BackendUnavailable(
                f"The Kubernetes API at {self.address} {reason} ({verb} {resource}{where}).", backend="Kubernetes",
                # A change that reached the server may still be applied; one that never left was not.
                outcome_unknown=verb in _CHANGING_VERBS and not _never_sent(err),
            ) from err

    def _read(self, call: Callable[..., Any], *args: Any, decode: Callable[[bytes], T], **kwargs: Any) -> T:
        response = call(*args, _preload_content=False, _request_timeout=self.timeout_seconds, **kwargs)
        return decode(response.data)

    # --- lists across the allowed namespaces -------------------------------------------------------------

    def _list(self, resource: str, cluster_wide: Callable[..., Any], namespaced: Callable[..., Any],
              decode: Callable[[bytes], ObjectList[T]], **selectors: Any) -> list[T]:
        """One cluster-wide list filtered to the allow-list when the account may; else one list per namespace.

        An account bound only by namespaced Roles (the least-privilege setup) gets 403 on the cluster-wide list;
        the console remembers that and lists per namespace from then on.
        """
        if self._cluster_wide_lists is not False:
            try:
                with self._translated("list", resource, None):
                    items = self._read(cluster_wide, decode=decode, **selectors).items
                self._cluster_wide_lists = True
                allowed = set(self.namespaces)
                return [item for item in items if item.metadata.namespace in allowed]  # type: ignore[attr-defined]
            except Forbidden:
                if self._cluster_wide_lists:
                    raise
                self._cluster_wide_lists = False
        found: list[T] = []
        for namespace in self.namespaces:
            with self._translated("list", resource, namespace):
                found.extend(self._read(namespaced, namespace, decode=decode, **selectors).items)
        return found

    def list_deployments(self) -> list[Deployment]:
        """Every Deployment of the allowed namespaces."""
        return self._list("deployments", self._apps.list_deployment_for_all_namespaces,
                          self._apps.list_namespaced_deployment, decoding.decode_deployment_list)

    def list_replica_set_metadata(self) -> list[ObjectMetadata]:
        """Every ReplicaSet of the allowed namespaces, its metadata only: enough to find a Deployment's pods
        through their owners. The templates, most of the answer's bytes, are skipped unbuilt."""
        return self._list("replicasets", self._apps.list_replica_set_for_all_namespaces,
                          self._apps.list_namespaced_replica_set, decoding.decode_metadata_list)

    def list_pods(self) -> list[Pod]:
        """Every pod of the allowed namespaces."""
        return self._list("pods", self._core.list_pod_for_all_namespaces, self._core.list_namespaced_pod,
                          decoding.decode_pod_list)

    # --- one namespace ----------------------------------------------------------------------------------

    def get_deployment(self, namespace: str, name: str) -> Deployment:
        """One Deployment (NotFound when it is gone)."""
        self.require_namespace(namespace)
        with self._translated("get", "deployments", namespace, name):
            return self._read(self._apps.read_namespaced_deployment, name, namespace,
                              decode=decoding.decode_deployment)

    def list_namespaced_deployments(self, namespace: str) -> list[Deployment]:
        """The Deployments of one allowed namespace."""
        self.require_namespace(namespace)
        with self._translated("list", "deployments", namespace):
            return list(self._read(self._apps.list_namespaced_deployment, namespace,
                                   decode=decoding.decode_deployment_list).items)

    def list_namespaced_replica_sets(self, namespace: str, *, label_selector: str) -> list[ReplicaSet]:
        """The ReplicaSets of one namespace that match ``label_selector`` (a Deployment's history)."""
        self.require_namespace(namespace)
        with self._translated("list", "replicasets", namespace):
            return list(self._read(self._apps.list_namespaced_replica_set, namespace, label_selector=label_selector,
                                   decode=decoding.decode_replica_set_list).items)

    def list_namespaced_pods(self, namespace: str, *, label_selector: str) -> list[Pod]:
        """The pods of one namespace that match ``label_selector``."""
        self.require_namespace(namespace)
        with self._translated("list", "pods", namespace):
            return list(self._read(self._core.list_namespaced_pod, namespace, label_selector=label_selector,
                                   decode=decoding.decode_pod_list).items)

    def list_events(self, namespace: str, *, involved_names: set[str]) -> list[Event]:
        """Events of the namespace about the named objects (one list; filtered here, not one call per name)."""
        self.require_namespace(namespace)
        with self._translated("list", "events", namespace):
            items = self._read(self._core.list_namespaced_event, namespace, decode=decoding.decode_event_list).items
        return [item for item in items if item.involved_object.name in involved_names]

    def patch_deployment(self, namespace: str, name: str, operations: list[dict[str, Any]]) -> Deployment:
        """Apply a JSON patch (RFC 6902) whose first op tests the resourceVersion the operator saw.

        The apiserver answers any failed JSON patch with the same 422 and no detail, so a failure is told apart
        by reading the object again: a different resourceVersion means the guard failed - a Conflict.
        """
        self.require_namespace(namespace)
        try:
            with self._translated("patch", "deployments", namespace, name):
                return self._read(self._apps.patch_namespaced_deployment, name, namespace, operations,
                                  _content_type=JSON_PATCH, decode=decoding.decode_deployment)
        except InvalidInput:
            guard = operations[0] if operations and operations[0].get("op") == "test" else None
            if guard and guard.get("path") == "/metadata/resourceVersion":
                current = self.get_deployment(namespace, name).metadata.resource_version
                if current != guard["value"]:
                    raise Conflict(f"deployments {namespace}/{name} changed since you loaded it - reload.") from None
            raise

    def read_pod_log(
        self,
        namespace: str,
        pod: str,
        *,
        container: str | None = None,
        tail_lines: int | None = None,
        since_seconds: int | None = None,
        since_time: str | None = None,
        previous: bool = False,
        timestamps: bool = False,
        limit_bytes: int | None = None,
    ) -> str:
        """A pod's log text (``kubectl logs``), at most ``limit_bytes``."""
        self.require_namespace(namespace)
        options: dict[str, Any] = {"previous": previous, "timestamps": timestamps}
        for key, value in (("container", container), ("tail_lines", tail_lines), ("since_seconds", since_seconds),
                           ("limit_bytes", limit_bytes)):
            if value is not None:
                options[key] = value
        if since_time is not None:
            # The generated client has no sinceTime parameter for logs; the API has it.
            options.pop("since_seconds", None)
        with self._translated("get", "pods/log", namespace, pod):
            if since_time is not None:
                return self._log_since_time(namespace, pod, since_time, options)
            response = self._core.read_namespaced_pod_log(
                pod, namespace, _preload_content=False, _request_timeout=self.timeout_seconds, **options
            )
            return response.data.decode("utf-8", errors="replace")

    def _log_since_time(self, namespace: str, pod: str, since_time: str, options: dict[str, Any]) -> str:
        query = [("sinceTime", since_time)]
        names = {"container": "container", "tail_lines": "tailLines", "limit_bytes": "limitBytes",
                 "previous": "previous", "timestamps": "timestamps"}
        for key, value in options.items():
            query.append((names[key], str(value).lower() if isinstance(value, bool) else str(value)))
        response = self._api_client.call_api(
            *self._api_client.param_serialize(
                method="GET",
                resource_path="/api/v1/namespaces/{namespace}/pods/{name}/log",
                path_params={"namespace": namespace, "name": pod},
                query_params=query,
                header_params={"Accept": "text/plain"},
                auth_settings=["BearerToken"],
            ),
            _request_timeout=self.timeout_seconds,
        )
        response.read()
        if not 200 <= response.status <= 299:
            raise ApiException(http_resp=response)
        return response.data.decode("utf-8", errors="replace")

    def close(self) -> None:
        """Close the client's connections."""
        self._api_client.close()


def _status_message(err: ApiException) -> str:
    try:
        return str(json.loads(err.body or "{}").get("message") or err.reason)
    except (ValueError, AttributeError):
        return str(err.reason or err.status)


_CHANGING_VERBS = frozenset({"patch", "create", "update", "delete"})


def _causes(err: BaseException) -> list[BaseException]:
    found: list[BaseException] = []
    seen: BaseException | None = err
    while seen is not None and seen not in found:
        found.append(seen)
        reason = getattr(seen, "reason", None)
        seen = reason if isinstance(reason, BaseException) else seen.__cause__
    return found


def _never_sent(err: BaseException) -> bool:
    """A connection that could not be made (refused, unresolvable, timed out connecting) sent nothing."""
    return any(isinstance(cause, (urllib3.exceptions.NewConnectionError, urllib3.exceptions.ConnectTimeoutError,
                                  ConnectionRefusedError)) for cause in _causes(err))


def _is_timeout(err: BaseException) -> bool:
    for cause in _causes(err):
        # urllib3 derives NewConnectionError (refused, unresolvable) from ConnectTimeoutError; it is no timeout.
        if isinstance(cause, urllib3.exceptions.NewConnectionError):
            return False
        if isinstance(cause, (urllib3.exceptions.TimeoutError, TimeoutError)):
            return True
    return False

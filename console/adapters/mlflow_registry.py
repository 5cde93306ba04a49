"""The console's port to MLflow tracking and the model registry, over ``MlflowClient``.

Works with ``sqlite:///`` (and other SQL) stores and with http(s) tracking servers. Returns the console's
frozen records (``console.domain.mlflow_models``), never MLflow entities, and translates every MLflow,
HTTP and database error into a console error in one place (``_translated_errors``).

Authentication, timeout and retries for http(s) servers: MLflow's REST client (``mlflow.utils.rest_utils.
http_request``) takes the credentials from ``get_default_host_creds``, which reads MLFLOW_TRACKING_TOKEN,
MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD (or ``~/.mlflow/credentials``), and takes the timeout
and retry policy from MLFLOW_HTTP_REQUEST_TIMEOUT, MLFLOW_HTTP_REQUEST_MAX_RETRIES and
MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR, all read from the process environment at every request. MlflowClient
offers no per-client setting for them (its stores are cached per URI and built from those variables), so
constructing an adapter for an http(s) URI writes these variables once, from its arguments: a credential
left as None is removed, so the arguments are the whole truth. One console process therefore talks to one
MLflow server with one identity, which is how the console is deployed; the last adapter built wins.
SQL stores need none of this and leave the environment alone.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime

import requests
import sqlalchemy.exc
from mlflow import MlflowClient
from mlflow.entities import ViewType
from mlflow.exceptions import MlflowException
from mlflow.store.tracking.rest_store import RestStore
from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore
from mlflow.utils.credentials import get_default_host_creds
from mlflow.utils.rest_utils import http_request, verify_rest_response

from console.domain.mlflow_models import (
    ArtifactEntry,
    Experiment,
    MetricHistory,
    MetricPoint,
    ModelVersion,
    RegisteredModel,
    RunPage,
    RunSummary,
)
from console.errors import BackendUnavailable, Conflict, ConsoleError, Forbidden, InvalidInput, NotFound

_BACKEND = "MLflow"
# Server-side limits of MLflow's GetMetricHistoryBulkInterval (mlflow/server/handlers.py).
_BULK_HISTORY_MAX_RUNS = 100
_BULK_HISTORY_MAX_POINTS = 2500
_BULK_HISTORY_ENDPOINT = "/api/2.0/mlflow/metrics/get-history-bulk-interval"
# Run ids per ``run_id IN (...)`` filter: keeps filter strings and SQL statements small.
_RUN_ID_CHUNK = 100

_NOT_FOUND_CODES = {"RESOURCE_DOES_NOT_EXIST", "NOT_FOUND", "ENDPOINT_NOT_FOUND"}
_INVALID_CODES = {"INVALID_PARAMETER_VALUE", "BAD_REQUEST", "MALFORMED_REQUEST", "INVALID_STATE_TRANSITION"}
_CONFLICT_CODES = {"RESOURCE_ALREADY_EXISTS", "INVALID_STATE", "RESOURCE_CONFLICT", "ABORTED", "ALREADY_EXISTS"}
_FORBIDDEN_CODES = {"PERMISSION_DENIED", "UNAUTHENTICATED", "CUSTOMER_UNAUTHORIZED"}


def _time(milliseconds: int | None) -> datetime | None:
    if milliseconds is None or milliseconds == 0:
        return None
    return datetime.fromtimestamp(milliseconds / 1000, tz=UTC)


def _token(token: str | bytes | None) -> str | None:
    """SQL stores hand out page tokens as bytes, REST stores as str; the console keeps str."""
    if not token:
        return None
    return token.decode("ascii") if isinstance(token, bytes) else str(token)


def _is_http(uri: str) -> bool:
    return uri.startswith(("http://", "https://"))


def _without_sql(message: str) -> str:
    """A database error's first line without the statement and parameters SQLAlchemy appends to it."""
    first = message.strip().splitlines()[0] if message.strip() else message
    return first.split("[SQL:", 1)[0].strip()


def _clean_message(err: MlflowException) -> str:
    """MLflow's message without the ``ERROR_CODE: `` prefix that REST errors carry, or the SQL of a store error."""
    message = err.message if isinstance(err.message, str) else str(err)
    code = str(err.error_code or "")
    if code and message.startswith(code + ": "):
        message = message[len(code) + 2 :]
    return _without_sql(message)


def _chain(err: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _quote(value: str) -> str:
    """A string literal for MLflow's search syntax."""
    if "'" not in value:
        return f"'{value}'"
    if '"' not in value:
        return f'"{value}"'
    raise InvalidInput(f"Names with both single and double quotes cannot be searched in MLflow: {value!r}")


def _chunks(items: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class MlflowRegistry:
    """Reads experiments, runs and the model registry; moves aliases and writes version tags.

    Build one per process (the UI caches it as a resource) from explicit settings.
    """

    def __init__(
        self,
        tracking_uri: str,
        *,
        registry_uri: str | None = None,
        token: str | None = None,
        username: str | None = None,
        password: str | None = None,
        timeout_seconds: int = 10,
        max_retries: int = 0,
    ) -> None:
        """Connect to ``tracking_uri`` (``sqlite:///path``, ``postgresql://...``, ``http(s)://host:port``).

        ``token`` is sent as a bearer token; ``username``/``password`` as basic auth (they win over a token,
        as in MLflow). ``timeout_seconds`` bounds each HTTP request (MLflow accepts whole seconds);
        ``max_retries`` retries connection failures and 429/5xx answers with exponential backoff. A
        failure raises BackendUnavailable naming the URI.
        """
        if not tracking_uri:
            raise InvalidInput("The MLflow tracking URI is empty.")
        if timeout_seconds < 1:
            raise InvalidInput(f"The MLflow request timeout must be at least 1 second, got {timeout_seconds}.")
        if max_retries < 0:
            raise InvalidInput(f"The MLflow retry count cannot be negative, got {max_retries}.")
        if (username is None) != (password is None):
            raise InvalidInput("MLflow basic auth needs both a user name and a password.")
        self.tracking_uri = tracking_uri
        self.registry_uri = registry_uri or tracking_uri
        self.timeout_seconds = int(timeout_seconds)
        self.max_retries = int(max_retries)
        self._has_credentials = bool(token or username)
        if _is_http(self.tracking_uri) or _is_http(self.registry_uri):
            _apply_http_settings(
                token=token,
                username=username,
                password=password,
                timeout_seconds=self.timeout_seconds,
                max_retries=self.max_retries,
            )
        with self._translated_errors(f"connecting to MLflow at {self.tracking_uri}"):
            self._client = MlflowClient(tracking_uri=self.tracking_uri, registry_uri=self.registry_uri)

    # ------------------------------------------------------------------ errors

    @contextmanager
    def _translated_errors(self, action: str, *, invalid_message: str | None = None) -> Iterator[None]:
        """Turn whatever MLflow, requests or the database raise during ``action`` into a console error."""
        try:
            yield
        except ConsoleError:
            raise
        except MlflowException as err:
            raise self._translate(err, action, invalid_message=invalid_message) from err
        except requests.exceptions.RequestException as err:
            raise self._unreachable(err, action) from err
        except sqlalchemy.exc.SQLAlchemyError as err:
            raise BackendUnavailable(
                f"The MLflow store at {self.tracking_uri} failed while {action} ({err.__class__.__name__}); "
                "another change may have been written at the same moment: reload and try again.",
                backend=_BACKEND,
                problems=(_without_sql(str(err.orig if getattr(err, "orig", None) else err)),),
            ) from err

    def _unreachable(self, err: BaseException, action: str) -> BackendUnavailable:
        for link in _chain(err):
            # A read timeout without retries reaches us as a ConnectionError around urllib3's ReadTimeoutError.
            if isinstance(link, requests.exceptions.Timeout) or "timed out" in str(link).lower():
                return BackendUnavailable(
                    f"MLflow at {self.tracking_uri} did not answer within {self.timeout_seconds} s "
                    f"while {action}. Try again; if it persists, check the MLflow server.",
                    backend=_BACKEND,
                )
        return BackendUnavailable(
            f"MLflow at {self.tracking_uri} cannot be reached while {action}. Check that the server is "
            "running and the address is right.",
            backend=_BACKEND,
            problems=(str(err).splitlines()[0][:300],),
        )

    def _translate(self, err: MlflowException, action: str, *, invalid_message: str | None) -> ConsoleError:
        for link in _chain(err):
            if isinstance(link, requests.exceptions.RequestException):
                return self._unreachable(link, action)
        message = _clean_message(err)
        if "failed with timeout exception" in message:
            return self._unreachable(requests.exceptions.Timeout(message), action)
        code = str(err.error_code or "")
        if code in _NOT_FOUND_CODES:
            return NotFound(f"Not found in MLflow while {action}: {message}")
        if code in _INVALID_CODES:
            return InvalidInput(invalid_message or f"MLflow refused the request while {action}.", problems=(message,))
        if code in _CONFLICT_CODES:
            return Conflict(f"MLflow refused the change while {action}: {message}")
        if code in _FORBIDDEN_CODES:
            who = "the configured credentials" if self._has_credentials else "no credentials"
            return Forbidden(f"MLflow at {self.tracking_uri} refused access with {who} while {action}: {message}")
        # Anything else (5xx, TEMPORARILY_UNAVAILABLE, INTERNAL_ERROR...) is the backend's failure.
        return BackendUnavailable(
            f"MLflow at {self.tracking_uri} failed while {action}: {message}", backend=_BACKEND
        )

    # ------------------------------------------------------------------ experiments and runs

    def list_experiments(self, *, include_deleted: bool = False) -> tuple[Experiment, ...]:
        """Every experiment (all pages), sorted by name."""
        view = ViewType.ALL if include_deleted else ViewType.ACTIVE_ONLY
        experiments: list[Experiment] = []
        token: str | None = None
        with self._translated_errors("listing experiments"):
            while True:
                page = self._client.search_experiments(view_type=view, max_results=1000, page_token=token)
                experiments.extend(
                    Experiment(
                        experiment_id=str(e.experiment_id),
                        name=e.name,
                        lifecycle_stage=e.lifecycle_stage,
                        artifact_location=e.artifact_location or "",
                        tags=dict(e.tags or {}),
                        creation_time=_time(e.creation_time),
                        last_update_time=_time(e.last_update_time),
                    )
                    for e in page
                )
                token = page.token
                if not token:
                    break
        return tuple(sorted(experiments, key=lambda e: e.name))

    def search_runs(
        self,
        experiment_ids: Sequence[str],
        *,
        filter_string: str = "",
        order_by: Sequence[str] = (),
        max_results: int = 100,
        page_token: str | None = None,
    ) -> RunPage:
        """One page of runs in MLflow's search syntax, e.g. ``metrics.auc > 0.9 and params.model = "xgb"``.

        One round trip per page; pass the returned ``next_page_token`` for the next page.
        """
        if not experiment_ids:
            raise InvalidInput("Pick at least one experiment to search runs in.")
        if max_results < 1:
            raise InvalidInput(f"A page holds at least one run, got max_results={max_results}.")
        with self._translated_errors(
            "searching runs",
            invalid_message=f"The run filter or ordering is not valid MLflow search syntax: {filter_string!r}"
            + (f" ordered by {list(order_by)}" if order_by else ""),
        ):
            page = self._client.search_runs(
                experiment_ids=[str(e) for e in experiment_ids],
                filter_string=filter_string or "",
                run_view_type=ViewType.ACTIVE_ONLY,
                max_results=max_results,
                order_by=list(order_by) or None,
                page_token=page_token or None,
            )
        return RunPage(runs=tuple(_run_summary(run) for run in page), next_page_token=_token(page.token))

    def get_runs(
        self, run_ids: Sequence[str], *, experiment_ids: Sequence[str] | None = None
    ) -> tuple[RunSummary, ...]:
        """Several runs by id in batched searches (one round trip per 100 ids); unknown ids are left out.

        Without ``experiment_ids`` the experiments are listed first (one more round trip).
        """
        unique = list(dict.fromkeys(str(r) for r in run_ids))
        if not unique:
            return ()
        for run_id in unique:
            if not run_id.isalnum():
                raise InvalidInput(f"{run_id!r} is not an MLflow run id.")
        if experiment_ids is None:
            experiment_ids = [e.experiment_id for e in self.list_experiments()]
        if not experiment_ids:
            return ()
        found: dict[str, RunSummary] = {}
        with self._translated_errors("reading runs"):
            for chunk in _chunks(unique, _RUN_ID_CHUNK):
                id_list = ", ".join(f"'{run_id}'" for run_id in chunk)
                page = self._client.search_runs(
                    experiment_ids=list(experiment_ids),
                    filter_string=f"attributes.run_id IN ({id_list})",
                    run_view_type=ViewType.ALL,
                    max_results=len(chunk),
                )
                for run in page:
                    found[run.info.run_id] = _run_summary(run)
        return tuple(found[r] for r in unique if r in found)

    def get_run(self, run_id: str) -> RunSummary:
        """One run with params, latest metrics and tags."""
        with self._translated_errors(f"reading run {run_id}"):
            return _run_summary(self._client.get_run(run_id))

    def list_artifacts(self, run_id: str, *, path: str | None = None) -> tuple[ArtifactEntry, ...]:
        """The artifacts directly under ``path`` (the run's root when None)."""
        with self._translated_errors(f"listing artifacts of run {run_id}"):
            files = self._client.list_artifacts(run_id, path)
        return tuple(ArtifactEntry(path=f.path, is_dir=bool(f.is_dir), file_size_bytes=f.file_size) for f in files)

    def metric_history(self, run_id: str, key: str) -> MetricHistory:
        """Every logged value of one metric of one run, by step."""
        with self._translated_errors(f"reading metric {key!r} of run {run_id}"):
            metrics = self._client.get_metric_history(run_id, key)
        return MetricHistory(run_id=run_id, key=key, points=_points(metrics))

    def metric_histories(
        self,
        run_ids: Sequence[str],
        keys: Sequence[str],
        *,
        max_points_per_run: int = _BULK_HISTORY_MAX_POINTS,
    ) -> dict[tuple[str, str], MetricHistory]:
        """Histories of several metrics for many runs, keyed by ``(run_id, key)``, in bulk requests.

        Uses MLflow's GetMetricHistoryBulkInterval (100 runs per request per metric); more than
        ``max_points_per_run`` steps are sampled down by MLflow, keeping the first and last step. A run without
        the metric gets an empty history.
        """
        unique_runs = list(dict.fromkeys(str(r) for r in run_ids))
        points_per_run = max(1, min(int(max_points_per_run), _BULK_HISTORY_MAX_POINTS))
        collected: dict[tuple[str, str], list[MetricPoint]] = {(r, k): [] for r in unique_runs for k in keys}
        with self._translated_errors("reading metric histories"):
            store = self._tracking_store()
            for key in keys:
                for chunk in _chunks(unique_runs, _BULK_HISTORY_MAX_RUNS):
                    for run_id, point in self._bulk_history(store, list(chunk), key, points_per_run):
                        collected.setdefault((run_id, key), []).append(point)
        return {
            (run_id, key): MetricHistory(
                run_id=run_id, key=key, points=tuple(sorted(points, key=lambda p: (p.step, p.timestamp)))
            )
            for (run_id, key), points in collected.items()
        }

    def _tracking_store(self) -> object:
        # MlflowClient has no public bulk-history call; its store has (SQL) or the server does (REST).
        return self._client._tracking_client.store

    def _bulk_history(
        self, store: object, run_ids: list[str], key: str, max_points: int
    ) -> Iterator[tuple[str, MetricPoint]]:
        if isinstance(store, RestStore):
            response = http_request(
                host_creds=get_default_host_creds(self.tracking_uri),
                endpoint=_BULK_HISTORY_ENDPOINT,
                method="GET",
                params={"run_ids": run_ids, "metric_key": key, "max_results": max_points},
            )
            verify_rest_response(response, _BULK_HISTORY_ENDPOINT)
            for metric in json.loads(response.text or "{}").get("metrics", []):
                yield metric["run_id"], MetricPoint(
                    step=int(metric.get("step", 0)),
                    value=float(metric["value"]),
                    timestamp=_time(int(metric.get("timestamp", 0))) or datetime.fromtimestamp(0, tz=UTC),
                )
        elif isinstance(store, SqlAlchemyStore) or hasattr(store, "get_metric_history_bulk_interval"):
            for metric in store.get_metric_history_bulk_interval(  # type: ignore[attr-defined]
                run_ids=run_ids, metric_key=key, max_results=max_points, start_step=None, end_step=None
            ):
                yield metric.run_id, MetricPoint(
                    step=int(metric.step),
                    value=float(metric.value),
                    timestamp=_time(metric.timestamp) or datetime.fromtimestamp(0, tz=UTC),
                )
        else:  # pragma: no cover - stores without a bulk call
            for run_id in run_ids:
                for point in self.metric_history(run_id, key).points:
                    yield run_id, point

    # ------------------------------------------------------------------ registry reads

    def list_registered_models(self) -> tuple[RegisteredModel, ...]:
        """Every registered model (all pages) with tags and aliases, sorted by name."""
        models: list[RegisteredModel] = []
        token: str | None = None
        with self._translated_errors("listing registered models"):
            while True:
                page = self._client.search_registered_models(max_results=1000, page_token=token)
                models.extend(_registered_model(m) for m in page)
                token = page.token
                if not token:
                    break
        return tuple(sorted(models, key=lambda m: m.name))

    def get_registered_model(self, model: str) -> RegisteredModel:
        """One registered model with its tags and aliases; NotFound when it does not exist."""
        with self._translated_errors(f"reading registered model {model!r}"):
            return _registered_model(self._client.get_registered_model(model))

    def search_model_versions(self, model: str) -> tuple[ModelVersion, ...]:
        """Every version of ``model`` (all pages), newest first. Deleted versions are not returned."""
        versions: list[ModelVersion] = []
        token: str | None = None
        with self._translated_errors(f"listing versions of model {model!r}"):
            while True:
                page = self._client.search_model_versions(
                    filter_string=f"name = {_quote(model)}", max_results=10_000, page_token=token
                )
                versions.extend(_model_version(v) for v in page)
                token = page.token
                if not token:
                    break
        return tuple(sorted(versions, key=lambda v: v.version, reverse=True))

    def get_model_version(self, model: str, version: int | str) -> ModelVersion:
        """One version; NotFound when the model or version does not exist or was deleted."""
        with self._translated_errors(f"reading version {version} of model {model!r}"):
            return _model_version(self._client.get_model_version(model, str(version)))

    def get_model_version_by_alias(self, model: str, alias: str) -> ModelVersion:
        """The version that holds ``alias``; NotFound when no version holds it."""
        try:
            with self._translated_errors(f"reading alias {alias!r} of model {model!r}"):
                return _model_version(self._client.get_model_version_by_alias(model, alias))
        except InvalidInput as err:
            # MLflow answers an unassigned alias with INVALID_PARAMETER_VALUE "... alias x not found".
            if any("not found" in problem for problem in err.problems):
                raise NotFound(f"No version of model {model!r} holds alias {alias!r}.") from err
            raise

    # ------------------------------------------------------------------ registry changes

    def set_alias(self, model: str, alias: str, version: int | str) -> None:
        """Point ``alias`` at ``version`` (moving it from any other version)."""
        with self._translated_errors(
            f"setting alias {alias!r} of model {model!r} to version {version}",
            invalid_message=f"MLflow refused alias {alias!r} for version {version} of model {model!r}.",
        ):
            self._client.set_registered_model_alias(model, alias, str(version))

    def delete_alias(self, model: str, alias: str) -> None:
        """Remove ``alias`` from whichever version holds it."""
        with self._translated_errors(f"removing alias {alias!r} of model {model!r}"):
            self._client.delete_registered_model_alias(model, alias)

    def set_version_tag(self, model: str, version: int | str, key: str, value: str) -> None:
        """Set (or overwrite) one tag of a model version."""
        with self._translated_errors(f"tagging version {version} of model {model!r}"):
            self._client.set_model_version_tag(model, str(version), key, value)

    def delete_version_tag(self, model: str, version: int | str, key: str) -> None:
        """Remove one tag of a model version; NotFound when the version or (on some stores) the tag is absent."""
        with self._translated_errors(f"removing tag {key!r} of version {version} of model {model!r}"):
            self._client.delete_model_version_tag(model, str(version), key)

    def set_model_tag(self, model: str, key: str, value: str) -> None:
        """Set (or overwrite) one tag of a registered model."""
        with self._translated_errors(f"tagging model {model!r}"):
            self._client.set_registered_model_tag(model, key, value)

    def delete_model_tag(self, model: str, key: str) -> None:
        """Remove one tag of a registered model."""
        with self._translated_errors(f"removing tag {key!r} of model {model!r}"):
            self._client.delete_registered_model_tag(model, key)


def _apply_http_settings(
    *, token: str | None, username: str | None, password: str | None, timeout_seconds: int, max_retries: int
) -> None:
    values = {
        "MLFLOW_TRACKING_TOKEN": token,
        "MLFLOW_TRACKING_USERNAME": username,
        "MLFLOW_TRACKING_PASSWORD": password,
        "MLFLOW_HTTP_REQUEST_TIMEOUT": str(timeout_seconds),
        "MLFLOW_HTTP_REQUEST_MAX_RETRIES": str(max_retries),
        "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1" if max_retries else "0",
    }
    for name, value in values.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def _points(metrics: Iterable[object]) -> tuple[MetricPoint, ...]:
    points = (
        MetricPoint(
            step=int(m.step),  # type: ignore[attr-defined]
            value=float(m.value),  # type: ignore[attr-defined]
            timestamp=_time(m.timestamp) or datetime.fromtimestamp(0, tz=UTC),  # type: ignore[attr-defined]
        )
        for m in metrics
    )
    return tuple(sorted(points, key=lambda p: (p.step, p.timestamp)))


def _run_summary(run: object) -> RunSummary:
    info = run.info  # type: ignore[attr-defined]
    data = run.data  # type: ignore[attr-defined]
    return RunSummary(
        run_id=info.run_id,
        run_name=info.run_name or "",
        experiment_id=str(info.experiment_id),
        status=str(info.status),
        start_time=_time(info.start_time),
        end_time=_time(info.end_time),
        user_id=info.user_id or "",
        artifact_uri=info.artifact_uri or "",
        params=dict(data.params),
        metrics={k: float(v) for k, v in data.metrics.items()},
        tags=dict(data.tags),
    )


def _registered_model(model: object) -> RegisteredModel:
    return RegisteredModel(
        name=model.name,  # type: ignore[attr-defined]
        description=model.description or "",  # type: ignore[attr-defined]
        creation_time=_time(model.creation_timestamp),  # type: ignore[attr-defined]
        last_updated_time=_time(model.last_updated_timestamp),  # type: ignore[attr-defined]
        tags=dict(model.tags or {}),  # type: ignore[attr-defined]
        aliases={alias: int(version) for alias, version in (model.aliases or {}).items()},  # type: ignore[attr-defined]
    )


def _model_version(version: object) -> ModelVersion:
    return ModelVersion(
        model=version.name,  # type: ignore[attr-defined]
        version=int(version.version),  # type: ignore[attr-defined]
        status=str(version.status or ""),  # type: ignore[attr-defined]
        stage=str(version.current_stage or "None"),  # type: ignore[attr-defined]
        run_id=version.run_id or "",  # type: ignore[attr-defined]
        source=version.source or "",  # type: ignore[attr-defined]
        description=version.description or "",  # type: ignore[attr-defined]
        creation_time=_time(version.creation_timestamp),  # type: ignore[attr-defined]
        last_updated_time=_time(version.last_updated_timestamp),  # type: ignore[attr-defined]
        tags=dict(version.tags or {}),  # type: ignore[attr-defined]
        aliases=tuple(version.aliases or ()),  # type: ignore[attr-defined]
    )

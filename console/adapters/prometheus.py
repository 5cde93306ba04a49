"""Prometheus (or OpenShift's Thanos Querier) through prometheus-api-client, returning plain typed results.

The adapter stands on the library's ``PrometheusConnect``: it owns the HTTP session (its retry adapter, TLS
verification, the bearer token in its headers, its timeout), and queries go through its ``custom_query`` and
``custom_query_range``. Those keep the query in the URL even with ``method="POST"``, and a union of fifty SLOs'
expressions is tens of kilobytes, more than the routers and proxies in front of a Thanos Querier take in a
URL. So a query whose parameters would not fit in ``URL_QUERY_LIMIT_BYTES`` is POSTed as an
``application/x-www-form-urlencoded`` body (which ``/api/v1/query`` and ``/api/v1/query_range`` both accept)
through that same session, with the same headers and timeout: both ways share the retry policy, the TLS
settings and, below, every error translation.

Every library and HTTP error leaves this module as a console error:

- no answer, refused connection, timeout, 5xx (after one retry), a non-Prometheus answer -> BackendUnavailable
- a query Prometheus rejects (400 bad_data, 422 execution error) -> InvalidInput with Prometheus's own message
- 401/403 -> Forbidden (the console's token is missing, expired or lacks the cluster-monitoring-view role)
- an unreadable bearer-token file -> SettingsError

Messages name the Prometheus URL and its answer, never the token.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import requests
import urllib3
# The submodule, not the package: the package's other modules (data frames, plots) import pandas and
# matplotlib, which the console's first page load should not pay for.
from prometheus_api_client.prometheus_connect import PrometheusConnect
from urllib3.util.retry import Retry

from console.errors import BackendUnavailable, Forbidden, InvalidInput, SettingsError

BACKEND = "prometheus"
_RETRY_ON_STATUS = (500, 502, 503, 504)
# A query string up to this length goes in the URL, as the library sends it; a longer one goes as a form body.
# 4 KiB stays under the smallest request-line limits of the proxies met in front of Prometheus (8 KiB).
URL_QUERY_LIMIT_BYTES = 4096


@dataclass(frozen=True)
class Sample:
    """One series of an instant query: its labels (``__name__`` included when Prometheus kept it) and value."""

    labels: Mapping[str, str]
    value: float
    timestamp: datetime


@dataclass(frozen=True)
class Series:
    """One series of a range query, points in time order."""

    labels: Mapping[str, str]
    points: tuple[tuple[datetime, float], ...] = field(default_factory=tuple)


class _Refused(Exception):
    """A non-200 answer, caught by the session's response hook before the library formats it into text."""

    def __init__(self, status: int, body: str) -> None:
        super().__init__(status)
        self.status = status
        self.body = body


def _refuse_non_200(response: requests.Response, *args: Any, **kwargs: Any) -> requests.Response:
    # The library turns a non-200 answer into an exception whose only content is a formatted message; the hook
    # keeps the status and the body for the translation into console errors, for its calls and ours alike.
    if response.status_code != 200:
        body = response.text.strip()
        response.close()
        raise _Refused(response.status_code, body)
    return response


class PrometheusClient:
    """Read-only access to a Prometheus HTTP API.

    ``bearer_token_file`` is read before every request, because OpenShift rotates projected service-account
    tokens under a running pod. ``ca_bundle`` verifies a private CA (OpenShift's service CA for the Thanos
    Querier). ``timeout_seconds`` bounds connecting and each read; a 5xx answer is retried once, a timeout or a
    refused connection is not (retrying those only doubles the wait of an operator looking at a dead backend).
    """

    def __init__(
        self,
        url: str,
        *,
        bearer_token_file: str | Path | None = None,
        ca_bundle: str | Path | None = None,
        verify_tls: bool = True,
        timeout_seconds: float = 10.0,
    ) -> None:
        self.url = url.rstrip("/")
        self.timeout_seconds = timeout_seconds
        self._bearer_token_file = Path(bearer_token_file) if bearer_token_file else None
        # The session is handed to PrometheusConnect, which mounts its retry adapter on it and sends every call
        # through it. The library's disable_ssl applies only to a session it makes itself; a CA bundle needs
        # this one, so it is always ours, and verification is set here in both cases.
        session = requests.Session()
        session.verify = str(ca_bundle) if (ca_bundle and verify_tls) else verify_tls
        session.hooks["response"].append(_refuse_non_200)
        self._session = session
        self._connect = PrometheusConnect(
            self.url,
            session=session,
            retry=Retry(
                total=1,
                connect=0,
                read=0,
                status=1,
                status_forcelist=_RETRY_ON_STATUS,
                allowed_methods=None,  # GET and POST alike: queries are idempotent
                backoff_factor=0,
                raise_on_status=False,
                respect_retry_after_header=False,
            ),
            timeout=timeout_seconds,
        )

    def close(self) -> None:
        """Close the library's session and its connections."""
        self._connect.close()

    def __enter__(self) -> PrometheusClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def instant(self, query: str, *, at: datetime | None = None) -> list[Sample]:
        """Evaluate ``query`` at ``at`` (default: Prometheus's now)."""
        options = {} if at is None else {"time": _timestamp(at)}
        result = self._query(
            "/api/v1/query", query, options, lambda: self._connect.custom_query(query, params=options)
        )
        if isinstance(result, list) and len(result) == 2 and not isinstance(result[0], dict):
            # A scalar (e.g. "1 + 1") comes back as [timestamp, "value"] instead of a list of series.
            return [Sample(labels={}, value=_float(result[1]), timestamp=_datetime(result[0]))]
        return [
            Sample(
                labels=dict(item.get("metric", {})),
                value=_float(item["value"][1]),
                timestamp=_datetime(item["value"][0]),
            )
            for item in result or ()
        ]

    def range(self, query: str, *, start: datetime, end: datetime, step: timedelta) -> list[Series]:
        """Evaluate ``query`` every ``step`` from ``start`` to ``end``."""
        if step <= timedelta(0):
            raise InvalidInput("The step of a range query must be positive")
        if end < start:
            raise InvalidInput("The end of a range query must not be before its start")
        step_text = f"{step.total_seconds():g}"
        # The library rounds start and end to whole seconds; its params override them with the exact times.
        options = {"start": _timestamp(start), "end": _timestamp(end), "step": step_text}
        result = self._query(
            "/api/v1/query_range",
            query,
            options,
            lambda: self._connect.custom_query_range(
                query, start_time=start, end_time=end, step=step_text, params=options
            ),
        )
        return [
            Series(
                labels=dict(item.get("metric", {})),
                points=tuple((_datetime(point[0]), _float(point[1])) for point in item.get("values", ())),
            )
            for item in result or ()
        ]

    def _query(self, path: str, query: str, options: dict[str, str], through_library: Callable[[], Any]) -> Any:
        """The ``data.result`` of one API call, through the library or as a form body, or a console error."""
        form = {"query": query, **options}
        try:
            self._connect.headers = self._headers()
            if len(urlencode(form)) <= URL_QUERY_LIMIT_BYTES:
                return through_library()
            response = self._session.post(
                self.url + path, data=form, headers=self._connect.headers, timeout=self.timeout_seconds
            )
            return response.json()["data"]["result"]
        except _Refused as refused:
            raise self._refused(refused.status, refused.body, query) from refused
        except (requests.exceptions.JSONDecodeError, KeyError, TypeError) as err:
            # A 200 that is not the Prometheus API (a login page of a proxy, an HTML error page).
            raise BackendUnavailable(
                f"{self.url} did not answer like a Prometheus API", backend=BACKEND, problems=[_short(err)]
            ) from err
        except requests.exceptions.RequestException as err:
            if _is_timeout(err):
                raise BackendUnavailable(
                    f"Prometheus at {self.url} did not answer within {self.timeout_seconds:g} seconds",
                    backend=BACKEND,
                ) from err
            raise self._unreachable(err) from err

    def _unreachable(self, err: requests.exceptions.RequestException) -> BackendUnavailable:
        if isinstance(err, requests.exceptions.SSLError):
            return BackendUnavailable(
                f"Prometheus at {self.url} failed the TLS check; is the CA bundle right?",
                backend=BACKEND,
                problems=[_short(err)],
            )
        return BackendUnavailable(
            f"Prometheus at {self.url} cannot be reached", backend=BACKEND, problems=[_short(err)]
        )

    def _headers(self) -> dict[str, str] | None:
        if self._bearer_token_file is None:
            return None
        try:
            token = self._bearer_token_file.read_text(encoding="utf-8").strip()
        except OSError as err:
            raise SettingsError(
                f"Cannot read the Prometheus bearer token file {self._bearer_token_file}",
                problems=[err.strerror or str(err)],
            ) from err
        if not token:
            raise SettingsError(f"The Prometheus bearer token file {self._bearer_token_file} is empty")
        return {"Authorization": f"Bearer {token}"}

    def _refused(self, status: int, body: str, query: str) -> Exception:
        detail = _prometheus_error(body)
        if status in (400, 422):
            return InvalidInput(
                "Prometheus rejected the query", problems=[detail or body or f"HTTP {status}", f"query: {query}"]
            )
        if status in (401, 403):
            return Forbidden(
                f"Prometheus at {self.url} refused the console's credentials (HTTP {status})",
                problems=[detail] if detail else (),
            )
        return BackendUnavailable(
            f"Prometheus at {self.url} failed (HTTP {status})", backend=BACKEND, problems=[detail or _short(body)]
        )


def _is_timeout(err: BaseException) -> bool:
    # With a retry policy installed, urllib3 wraps a read timeout in MaxRetryError and requests reports it as
    # a ConnectionError; the timeout is further down the chain of reasons.
    timeouts = (requests.exceptions.Timeout, urllib3.exceptions.TimeoutError, TimeoutError)
    current: object = err
    for _depth in range(5):
        # A refused connection (NewConnectionError) is, for historical reasons, a subclass of urllib3's timeout.
        if isinstance(current, urllib3.exceptions.NewConnectionError):
            return False
        if isinstance(current, timeouts):
            return True
        if not isinstance(current, BaseException):
            return False
        reason = getattr(current, "reason", None)
        current = reason if reason is not None else (current.args[0] if current.args else None)
    return False


def _prometheus_error(body: str) -> str:
    try:
        payload = json.loads(body)
    except ValueError:
        return ""
    if isinstance(payload, dict) and payload.get("error"):
        return str(payload["error"])
    return ""


def _timestamp(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise InvalidInput("Query times must be timezone-aware")
    return f"{moment.timestamp():.3f}"


def _datetime(value: Any) -> datetime:
    return datetime.fromtimestamp(float(value), tz=timezone.utc)


def _float(value: Any) -> float:
    number = float(value)
    return math.nan if math.isnan(number) else number


def _short(err: BaseException | str) -> str:
    text = str(err)
    return text if len(text) <= 300 else text[:297] + "..."

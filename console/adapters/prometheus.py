"""Prometheus (or OpenShift's Thanos Querier) over its HTTP API, returning plain typed results.

Queries are POSTed as ``application/x-www-form-urlencoded`` bodies, which both ``/api/v1/query`` and
``/api/v1/query_range`` accept: a union of fifty SLOs' expressions is tens of kilobytes, more than routers and
proxies in front of a Thanos Querier take in a URL. (prometheus-api-client keeps the query in the URL even with
``method="POST"``, so the adapter makes the request itself on a ``requests`` session.)

Every library and HTTP error leaves this module as a console error:

- no answer, refused connection, timeout, 5xx (after one retry), a non-Prometheus answer -> BackendUnavailable
- a query Prometheus rejects (400 bad_data, 422 execution error) -> InvalidInput with Prometheus's own message
- 401/403 -> Forbidden (the console's token is missing, expired or lacks the cluster-monitoring-view role)
- an unreadable bearer-token file -> SettingsError
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from console.errors import BackendUnavailable, Forbidden, InvalidInput, SettingsError

BACKEND = "prometheus"
_RETRY_ON_STATUS = (500, 502, 503, 504)


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
        self._session = session = requests.Session()
        session.verify = str(ca_bundle) if (ca_bundle and verify_tls) else verify_tls
        retry = Retry(
            total=1,
            connect=0,
            read=0,
            status=1,
            status_forcelist=_RETRY_ON_STATUS,
            allowed_methods=None,  # queries are POSTs, and idempotent
            backoff_factor=0,
            raise_on_status=False,
            respect_retry_after_header=False,
        )
        session.mount(self.url, HTTPAdapter(max_retries=retry))

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> PrometheusClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def instant(self, query: str, *, at: datetime | None = None) -> list[Sample]:
        """Evaluate ``query`` at ``at`` (default: Prometheus's now)."""
        form = {"query": query} if at is None else {"query": query, "time": _timestamp(at)}
        result = self._post("/api/v1/query", form)
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
        form = {"query": query, "start": _timestamp(start), "end": _timestamp(end), "step": f"{step.total_seconds():g}"}
        result = self._post("/api/v1/query_range", form)
        return [
            Series(
                labels=dict(item.get("metric", {})),
                points=tuple((_datetime(point[0]), _float(point[1])) for point in item.get("values", ())),
            )
            for item in result or ()
        ]

    def _post(self, path: str, form: dict[str, str]) -> Any:
        """The ``data.result`` of one API call, or a console error."""
        try:
            response = self._session.post(
                self.url + path, data=form, headers=self._headers(), timeout=self.timeout_seconds
            )
        except requests.exceptions.RequestException as err:
            if _is_timeout(err):
                raise BackendUnavailable(
                    f"Prometheus at {self.url} did not answer within {self.timeout_seconds:g} seconds",
                    backend=BACKEND,
                ) from err
            raise self._unreachable(err) from err
        if response.status_code != 200:
            raise self._refused(response, form["query"])
        try:
            return response.json()["data"]["result"]
        except (ValueError, KeyError, TypeError) as err:
            # A 200 that is not the Prometheus API (a login page of a proxy, an HTML error page).
            raise BackendUnavailable(
                f"{self.url} did not answer like a Prometheus API", backend=BACKEND, problems=[_short(err)]
            ) from err

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

    def _headers(self) -> dict[str, str]:
        if self._bearer_token_file is None:
            return {}
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

    def _refused(self, response: requests.Response, query: str) -> Exception:
        status, body = response.status_code, response.text.strip()
        detail = _prometheus_error(body)
        if status in (400, 422):
            return InvalidInput("Prometheus rejected the query", problems=[detail or body or f"HTTP {status}", f"query: {query}"])
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


def _short(err: BaseException) -> str:
    text = str(err)
    return text if len(text) <= 300 else text[:297] + "..."

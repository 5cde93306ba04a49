"""The console's web server around Streamlit: what every HTTP request passes before Streamlit sees it.

``server.py`` at the repository root serves ``app.py`` through ``st.App`` with this middleware
(``streamlit run server.py``). Streamlit answers ``/_stcore/metrics`` to anyone, without signing in: session
counts and cache sizes that are the operator's business, so the endpoint answers 404 unless
``CONSOLE_METRICS_ENABLED=true``.
"""

from __future__ import annotations

from typing import Any

from starlette.middleware import Middleware
from starlette.responses import PlainTextResponse

from console.config import metrics_endpoint_enabled

METRICS_PATH = "/_stcore/metrics"


class MetricsOffUnlessEnabled:
    """ASGI middleware: Streamlit's metrics endpoint is off unless the setting turns it on."""

    def __init__(self, app: Any, *, enabled: bool | None = None) -> None:
        self.app = app
        self.enabled = metrics_endpoint_enabled() if enabled is None else enabled

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if (not self.enabled and scope.get("type") == "http"
                and scope.get("path", "").rstrip("/").endswith(METRICS_PATH)):
            await PlainTextResponse("Not found: metrics are off (CONSOLE_METRICS_ENABLED).", status_code=404)(
                scope, receive, send)
            return
        await self.app(scope, receive, send)


MIDDLEWARE = [Middleware(MetricsOffUnlessEnabled)]

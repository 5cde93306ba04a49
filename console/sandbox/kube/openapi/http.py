"""Serving the OpenAPI documents as kube-openapi's handlers do: ETags, hashed immutable v3 URLs, 406, 301."""

from __future__ import annotations

import email.utils
import time
from typing import Any

from .. import errors
from . import etag, v2_document, v3_discovery, v3_documents

JSON = "application/json"
V2_PROTOBUF = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
V3_PROTOBUF = "application/com.github.proto-openapi.spec.v3.v1.0+protobuf"


def _accepts_json(accept: str | None) -> bool:
    for clause in (accept or "*/*").split(","):
        media = clause.split(";")[0].strip().lower()
        if media in (JSON, "application/*", "*/*"):
            return True
    return False


def serve(path: str, params: dict[str, str], accept: str | None) -> tuple[int, bytes, str, dict[str, str]]:
    """(status, body, content type, headers) for ``/openapi/v2``, ``/openapi/v3`` and ``/openapi/v3/<gv>``."""
    if path == "/openapi/v2":
        return _document(v2_document(), accept, V2_PROTOBUF)
    if path == "/openapi/v3":
        body = v3_discovery()
        return 200, body, JSON, {"Etag": f'"{etag(body)}"'}
    name = path[len("/openapi/v3/"):]
    documents = v3_documents()
    if name not in documents:
        raise errors.ApiError(404, "NotFound", "the server could not find the requested resource", details={})
    status, body, content_type, headers = _document(documents[name], accept, V3_PROTOBUF)
    if status != 200:
        return status, body, content_type, headers
    current = etag(body)
    wanted = params.get("hash")
    if wanted and wanted != current:
        # The document changed since the client read the discovery: send it to the current URL.
        return 301, b"", "text/html; charset=utf-8", {"Location": f"/openapi/v3/{name}?hash={current}"}
    if wanted:
        headers["Cache-Control"] = "public, immutable"
        headers["Expires"] = email.utils.formatdate(time.time() + 365 * 24 * 3600, usegmt=True)
    headers["Vary"] = "Accept"
    return status, body, content_type, headers


def _document(body: bytes, accept: str | None, protobuf: str) -> tuple[int, bytes, str, dict[str, Any]]:
    # The sandbox writes these documents as JSON only; a client that takes nothing else gets 406, as from a
    # kube-openapi handler asked for a type it does not produce.
    if not _accepts_json(accept):
        return 406, b"", "text/plain; charset=utf-8", {}
    return 200, body, JSON, {"Etag": f'"{etag(body)}"'}

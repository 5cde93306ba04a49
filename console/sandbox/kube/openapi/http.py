"""Serving the OpenAPI documents as kube-openapi's handlers do: ETags, hashed immutable v3 URLs, 406, 301."""

from __future__ import annotations

import email.utils
import time
from typing import Any

from .. import errors
from . import etag, v2_document, v2_protobuf, v3_discovery, v3_documents

JSON = "application/json"
# kube-openapi answers both spellings of the v2 protobuf type with the newer one.
V2_PROTOBUF_TYPES = ("application/com.github.proto-openapi.spec.v2@v1.0+protobuf",
                     "application/com.github.proto-openapi.spec.v2.v1.0+protobuf")
V2_PROTOBUF = V2_PROTOBUF_TYPES[1]


def _first_acceptable(accept: str | None, protobuf: bool) -> str | None:
    """The first clause of Accept the document can be written in (JSON, or v2 protobuf where ``protobuf``)."""
    for clause in (accept or "*/*").split(","):
        media = clause.split(";")[0].strip().lower()
        if media in (JSON, "application/*", "*/*"):
            return JSON
        if protobuf and media in V2_PROTOBUF_TYPES:
            return V2_PROTOBUF
    return None


def serve(path: str, params: dict[str, str], accept: str | None) -> tuple[int, bytes, str, dict[str, str]]:
    """(status, body, content type, headers) for ``/openapi/v2``, ``/openapi/v3`` and ``/openapi/v3/<gv>``."""
    if path == "/openapi/v2":
        if _first_acceptable(accept, protobuf=True) == V2_PROTOBUF:
            body = v2_protobuf()
            return 200, body, V2_PROTOBUF, {"Etag": f'"{etag(body)}"', "Vary": "Accept"}
        return _document(v2_document(), accept)
    if path == "/openapi/v3":
        body = v3_discovery()
        return 200, body, JSON, {"Etag": f'"{etag(body)}"'}
    name = path[len("/openapi/v3/"):]
    documents = v3_documents()
    if name not in documents:
        raise errors.ApiError(404, "NotFound", "the server could not find the requested resource", details={})
    status, body, content_type, headers = _document(documents[name], accept)
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


def _document(body: bytes, accept: str | None) -> tuple[int, bytes, str, dict[str, Any]]:
    # The v3 documents are JSON only here; a client that takes nothing else gets 406, as from a kube-openapi
    # handler asked for a type it does not produce.
    if _first_acceptable(accept, protobuf=False) is None:
        return 406, b"", "text/plain; charset=utf-8", {}
    return 200, body, JSON, {"Etag": f'"{etag(body)}"'}

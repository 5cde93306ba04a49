"""API errors as a real kube-apiserver reports them: ``Status`` bodies with the same reasons, codes and messages."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An error that the HTTP layer turns into a ``Status`` body with ``code``."""

    def __init__(
        self,
        code: int,
        reason: str,
        message: str,
        *,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details

    def status(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
        }
        if self.details:
            body["details"] = self.details
        body["code"] = self.code
        return body


def qualified(resource: str, group: str) -> str:
    """``deployments.apps`` for grouped resources, ``pods`` for the core group."""
    return f"{resource}.{group}" if group else resource


def _details(name: str, group: str, kind: str, **extra: Any) -> dict[str, Any]:
    details: dict[str, Any] = {}
    if name:
        details["name"] = name
    if group:
        details["group"] = group
    if kind:
        details["kind"] = kind
    details.update({k: v for k, v in extra.items() if v})
    return details


def not_found(resource: str, group: str, name: str) -> ApiError:
    return ApiError(
        404,
        "NotFound",
        f'{qualified(resource, group)} "{name}" not found',
        details=_details(name, group, resource),
    )


def already_exists(resource: str, group: str, name: str) -> ApiError:
    return ApiError(
        409,
        "AlreadyExists",
        f'{qualified(resource, group)} "{name}" already exists',
        details=_details(name, group, resource),
    )


def conflict(resource: str, group: str, name: str, why: str | None = None) -> ApiError:
    why = why or "the object has been modified; please apply your changes to the latest version and try again"
    return ApiError(
        409,
        "Conflict",
        f'Operation cannot be fulfilled on {qualified(resource, group)} "{name}": {why}',
        details=_details(name, group, resource),
    )


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def method_not_allowed(verb: str) -> ApiError:
    return ApiError(
        405,
        "MethodNotAllowed",
        "the server does not allow this method on the requested resource",
        details={},
    )


def unsupported_media_type(content_type: str, *, custom: bool = False, apply: bool = True) -> ApiError:
    """415 for a patch type the resource does not take (custom resources take no strategic merge patch)."""
    accepted = ["application/json-patch+json", "application/merge-patch+json"]
    if apply:
        accepted.append("application/apply-patch+yaml")
    if not custom:
        accepted.insert(2, "application/strategic-merge-patch+json")
    return ApiError(415, "UnsupportedMediaType",
                    "the body of the request was in an unknown format - accepted media types include: "
                    + ", ".join(accepted), details={})


def gone(message: str) -> ApiError:
    return ApiError(410, "Expired", message)


def json_patch_failed() -> ApiError:
    # errors.NewGenericServerResponse(422, ...) keeps the patch library's text out of the message.
    return ApiError(422, "Invalid", "the server rejected our request due to an error in our request")


class FieldError:
    """One entry of a validation ErrorList (``field.Invalid``, ``field.Required``, ...)."""

    def __init__(self, kind: str, path: str, detail: str = "", value: Any = None, has_value: bool = False):
        self.kind = kind
        self.path = path
        self.detail = detail
        self.value = value
        self.has_value = has_value

    @classmethod
    def invalid(cls, path: str, value: Any, detail: str) -> FieldError:
        return cls("FieldValueInvalid", path, detail, value, True)

    @classmethod
    def required(cls, path: str, detail: str = "") -> FieldError:
        return cls("FieldValueRequired", path, detail)

    @classmethod
    def forbidden(cls, path: str, detail: str) -> FieldError:
        return cls("FieldValueForbidden", path, detail)

    @classmethod
    def not_supported(cls, path: str, value: Any, valid: list[str]) -> FieldError:
        quoted = ", ".join(f'"{v}"' for v in valid)
        return cls("FieldValueNotSupported", path, f"supported values: {quoted}", value, True)

    def body(self) -> str:
        label = {
            "FieldValueInvalid": "Invalid value",
            "FieldValueRequired": "Required value",
            "FieldValueForbidden": "Forbidden",
            "FieldValueNotSupported": "Unsupported value",
            "FieldValueDuplicate": "Duplicate value",
        }[self.kind]
        text = label
        if self.has_value:
            text += f": {_go_value(self.value)}"
        if self.detail:
            text += f": {self.detail}"
        return text


def _go_value(value: Any) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, dict):
        inner = ", ".join(f'"{k}":"{v}"' for k, v in sorted(value.items()))
        return "map[string]string{" + inner + "}"
    return str(value)


def invalid(kind: str, group: str, name: str, errors: list[FieldError]) -> ApiError:
    qualified_kind = f"{kind}.{group}" if group else kind
    messages = [f"{e.path}: {e.body()}" for e in errors]
    if len(messages) == 1:
        joined = messages[0]
    else:
        joined = "[" + ", ".join(messages) + "]"
    causes = [{"reason": e.kind, "message": e.body(), "field": e.path} for e in errors]
    return ApiError(
        422,
        "Invalid",
        f'{qualified_kind} "{name}" is invalid: {joined}',
        details=_details(name, group, kind, causes=causes),
    )


def forbidden(
    *,
    user: str,
    verb: str,
    resource: str,
    subresource: str,
    group: str,
    name: str,
    namespace: str,
) -> ApiError:
    subject = qualified(resource, group)
    if name:
        subject += f' "{name}"'
    full_resource = f"{resource}/{subresource}" if subresource else resource
    scope = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
    message = (
        f'{subject} is forbidden: User "{user}" cannot {verb} resource "{full_resource}" '
        f'in API group "{group}" {scope}'
    )
    return ApiError(403, "Forbidden", message, details=_details(name, group, resource))


def server_error(code: int, message: str | None = None) -> ApiError:
    reasons = {
        500: ("InternalError", "an error on the server (\"unknown\") has prevented the request from succeeding"),
        503: ("ServiceUnavailable", "the server is currently unable to handle the request"),
        504: ("Timeout", "the server was unable to return a response in the time allotted, but may still be processing the request"),
        429: ("TooManyRequests", "the server has received too many requests and has asked us to try again later"),
    }
    reason, default = reasons.get(code, ("InternalError", f"the server responded with the status code {code}"))
    details = {"retryAfterSeconds": 1} if code in (429, 503) else {"causes": [{"message": message or default}]}
    if code == 500:
        details = {"causes": [{"reason": "UnexpectedServerResponse", "message": message or "injected fault"}]}
    return ApiError(code, reason, message or default, details=details)

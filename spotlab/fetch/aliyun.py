"""Alibaba Cloud plumbing shared by the ECS and EAS sources: SDK config, raw bodies, errors.

Both SDKs sit on ``alibabacloud-tea-openapi``: the same config (region, credentials from
the default chain, the test endpoint), the same exceptions, the same ``call_api`` that
every typed call goes through.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alibabacloud_credentials.exceptions import CredentialException
from alibabacloud_tea_openapi.exceptions import AlibabaCloudException, ThrottlingException
from alibabacloud_tea_openapi.utils_models import Config
from darabonba.exceptions import RetryError, UnretryableException

from spotlab.fetch.core import Context, Failure
from spotlab.fetch.credentials import NoCredentials, alibaba_credentials

#: milliseconds, as the SDK takes them
CONNECT_TIMEOUT_MS = 5_000
READ_TIMEOUT_MS = 30_000

#: error codes that say the credentials themselves were refused (not a missing permission)
_BAD_CREDENTIALS = (
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "IncompleteSignature",
    "InvalidSecurityToken",
)
_DENIED = ("Forbidden", "NoPermission", "NotAuthorized", "AccessDenied")


class RawBody:
    """Keeps the JSON body of the last response as the SDK received it (mixed into an SDK
    client: ``call_api`` is the one method every typed call goes through)."""

    last_body: Any = None

    def call_api(self, params: Any, request: Any, runtime: Any) -> dict[str, Any]:
        out: dict[str, Any] = super().call_api(params, request, runtime)  # type: ignore[misc]
        self.last_body = out.get("body")
        return out


def sdk_config(ctx: Context) -> Config:
    """The SDK config: the region, credentials from the standard chain, and the test
    endpoint when one is set."""
    try:
        credential = alibaba_credentials(ctx.profile)
    except NoCredentials as exc:
        raise Failure("no-credentials", "", code=str(exc) or None) from None
    config = Config(
        credential=credential,
        region_id=ctx.region,
        connect_timeout=CONNECT_TIMEOUT_MS,
        read_timeout=READ_TIMEOUT_MS,
    )
    if ctx.endpoint is not None:
        config.endpoint = ctx.endpoint.host
        config.protocol = ctx.endpoint.scheme
    return config


def classify(exc: BaseException) -> Failure:
    """An exception of an Alibaba Cloud SDK call as a :class:`Failure`."""
    if isinstance(exc, CredentialException):
        return Failure("no-credentials", "")
    if isinstance(exc, AlibabaCloudException):
        code = str(exc.code or "")
        status = exc.status_code or 0
        text = _short(getattr(exc, "message", "") or "")
        if isinstance(exc, ThrottlingException) or code.startswith("Throttling") or status == 429:
            after = exc.retry_after / 1000 if isinstance(exc.retry_after, int | float) else None
            return Failure("throttled", text, code, after)
        if code.startswith(_BAD_CREDENTIALS):
            return Failure("denied", f"the credentials were refused: {text}", code)
        if status == 403 or code.startswith(_DENIED):
            return Failure("denied", text, code)
        if status >= 500 or code in ("ServiceUnavailable", "InternalError"):
            return Failure("server", text, code)
        return Failure("bad-request", text, code)
    if isinstance(exc, UnretryableException):
        inner = exc.inner_exception
        if isinstance(inner, RetryError):
            return Failure("network", _short(str(inner.message)))
        if isinstance(inner, RuntimeError) and "json" in str(inner).lower():
            return Failure("truncated", "the response body is not complete JSON")
        return Failure("bad-response", f"{type(inner).__name__}: {_short(str(inner))}")
    # the SDK's models failing on a body of another shape (a list where an object was)
    if isinstance(exc, AttributeError | TypeError | KeyError | ValueError):
        return Failure(
            "bad-response", f"the SDK could not read the response ({type(exc).__name__})"
        )
    raise exc


def _short(text: str, n: int = 200) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[: n - 1] + "…"


def sdk_call(client: RawBody, fn: Any, *args: Any) -> Any:
    """Call one typed SDK method; return the raw body of its response."""
    client.last_body = None
    try:
        fn(*args)
    except Exception as exc:  # classified: every SDK failure becomes a Failure or re-raises
        raise classify(exc) from None
    if not isinstance(client.last_body, dict):
        raise Failure("bad-response", "the response body is not a JSON object")
    return client.last_body


def expect_list(body: Any, *keys: str) -> list[Any]:
    node = body
    path = "$"
    for key in keys:
        if not isinstance(node, dict) or key not in node:
            raise Failure("bad-response", f"the response lacks {path}.{key}")
        node = node[key]
        path += f".{key}"
    if not isinstance(node, list):
        raise Failure("bad-response", f"{path} is not a list")
    return node


def run_time(run: Path) -> str:
    """The fetch time of a run folder (``20251201T080000Z``) as ISO 8601."""
    stamp = run.name.split("-", 1)[0]
    return f"{stamp[0:4]}-{stamp[4:6]}-{stamp[6:8]}T{stamp[9:11]}:{stamp[11:13]}:{stamp[13:15]}Z"

"""The vendors' REST APIs over `requests`: one client that only ever raises AdapterError.

Postmark, SendGrid and Mailgun are reached through `VendorHttp`; Amazon SES goes through boto3
(`diagnostics.vendors.ses`) and maps botocore's errors the same way.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from typing import Any

import requests
import requests.auth

from diagnostics.vendors.base import DEFAULT_TIMEOUT, AdapterError
from diagnostics.vendors.common import error_for_answer

USER_AGENT = "deliverytickets-vendor-adapter/1"


class HeaderAuth(requests.auth.AuthBase):
    """Credentials sent as one request header (a token, or "Bearer <key>")."""

    def __init__(self, *, header: str, value: str) -> None:
        self.header = header
        self.value = value

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers[self.header] = self.value
        return request


class VendorHttp:
    """One vendor's REST API over `requests`, mapping every failure to an AdapterError."""

    def __init__(
        self,
        *,
        label: str,
        base_url: str,
        timeout: float = DEFAULT_TIMEOUT,
        headers: Mapping[str, str] | None = None,
        auth: tuple[str, str] | requests.auth.AuthBase | None = None,
        credentials_hint: str = "",
        session: requests.Session | None = None,
    ) -> None:
        self.label = label
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.credentials_hint = credentials_hint
        self._session = session or requests.Session()
        self._session.headers.update({"Accept": "application/json", "User-Agent": USER_AGENT})
        self._session.headers.update(dict(headers or {}))
        # Explicit auth on every request: with none, requests would take a ~/.netrc entry for
        # the host and overwrite our Authorization header with it.
        self._session.auth = auth

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        accept: Collection[int] = (),
    ) -> requests.Response:
        """The response when it is 2xx or its status is in `accept`; AdapterError otherwise."""
        url = f"{self.base_url}{path}"
        try:
            response = self._session.request(
                method, url, params=params, json=json, timeout=self.timeout
            )
        except requests.Timeout as error:
            raise AdapterError(
                f"{self.label} did not answer within {self.timeout:g} s", transient=True
            ) from error
        except requests.ConnectionError as error:
            raise AdapterError(
                f"could not connect to {self.label} at {self.base_url} ({_root_cause(error)})",
                transient=True,
            ) from error
        except requests.RequestException as error:
            raise AdapterError(
                f"the request to {self.label} failed ({type(error).__name__}: {error})",
                transient=True,
            ) from error
        if 200 <= response.status_code < 300 or response.status_code in accept:
            return response
        raise self.error_for(response)

    def json(self, response: requests.Response) -> Any:
        """The response body as JSON; AdapterError when it is not JSON."""
        try:
            return response.json()
        except ValueError as error:
            raise AdapterError(
                f"{self.label} answered HTTP {response.status_code} with a body that is not "
                f"JSON: {response.text[:120]!r}",
                transient=response.status_code >= 500,
            ) from error

    def error_for(self, response: requests.Response) -> AdapterError:
        """The AdapterError that an unwanted HTTP status stands for."""
        status = response.status_code
        said = vendor_message(response)
        return error_for_answer(
            label=self.label,
            status=status,
            detail=f"HTTP {status}: {said}" if said else f"HTTP {status}",
            headers=response.headers,
            credentials_hint=self.credentials_hint,
        )


def vendor_message(response: requests.Response) -> str:
    """The vendor's own error text from a response (Postmark, SendGrid, Mailgun, AWS shapes)."""
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:200]
    parts: list[str] = []
    if isinstance(body, dict):
        if "ErrorCode" in body:
            parts.append(f"ErrorCode {body['ErrorCode']}")
        for key in ("Message", "message", "error"):
            if isinstance(body.get(key), str) and body[key]:
                parts.append(body[key])
                break
        errors = body.get("errors")
        if isinstance(errors, list):
            parts.extend(
                str(e.get("message")) for e in errors if isinstance(e, dict) and e.get("message")
            )
    return ": ".join(parts)[:200]


def _root_cause(error: requests.ConnectionError) -> str:
    # requests wraps urllib3's MaxRetryError, whose `reason` carries the socket's own words.
    reason = error.args[0] if error.args else error
    text = str(getattr(reason, "reason", reason))
    errno = re.search(r"\[Errno[^\]]*\][^'\")]*", text)
    return errno.group(0).strip() if errno else text[:200]

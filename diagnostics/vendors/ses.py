"""Amazon SES (API v2): the account-level suppression list of one region, through boto3.

Look-up is GetSuppressedDestination (NotFoundException means not suppressed); reactivation is
DeleteSuppressedDestination. SES matches the address exactly, case included, and keeps one
entry per address: its reason (BOUNCE or COMPLAINT) and when it was last updated.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    CredentialRetrievalError,
    HTTPClientError,
    NoCredentialsError,
    PartialCredentialsError,
    ReadTimeoutError,
)
from botocore.exceptions import ConnectionError as BotoConnectionError

from diagnostics.types import BounceClass
from diagnostics.vendors.base import (
    DEFAULT_TIMEOUT,
    AdapterError,
    DeliveryEvent,
    SuppressionFinding,
    SuppressionListing,
    SuppressionPage,
)
from diagnostics.vendors.common import (
    SuppressionRecord,
    as_utc,
    confirm_reactivated,
    error_for_answer,
    events_from_records,
    finding_from_records,
    guarded,
    guarded_pages,
    trimmed_address,
)

# ListSuppressedDestinations takes at most 1,000 a page.
LIST_PAGE = 1000

_REASONS = {
    "BOUNCE": ("bounce", "hard bounce", BounceClass.HARD.value),
    "COMPLAINT": ("complaint", "spam complaint", BounceClass.COMPLAINT.value),
}

# Error codes AWS uses when it does not accept who we are or what we may do.
_CREDENTIAL_CODES = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "ExpiredToken",
        "ExpiredTokenException",
        "IncompleteSignature",
        "InvalidClientTokenId",
        "InvalidSignatureException",
        "MissingAuthenticationToken",
        "SignatureDoesNotMatch",
        "UnrecognizedClientException",
    }
)
_THROTTLING_CODES = frozenset(
    {"TooManyRequestsException", "Throttling", "ThrottlingException", "LimitExceededException"}
)

_CREDENTIALS_HINT = (
    "the AWS credentials boto3 finds (environment, shared files or an instance role) need "
    "ses:GetSuppressedDestination and ses:DeleteSuppressedDestination in SES_REGION"
)


class SesAdapter:
    """The SES v2 account suppression list in one region (SES_REGION)."""

    name = "ses"
    label = "Amazon SES"
    can_lookup = True
    can_reactivate = True

    def __init__(
        self,
        *,
        region: str = "",
        endpoint_url: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        session: boto3.session.Session | None = None,
    ) -> None:
        self.region = region
        self.endpoint_url = endpoint_url or None
        self.timeout = timeout
        self._session = session
        self._client: Any = None  # built on first use: building it loads the service model
        self._before: dict[str, SuppressionRecord] = {}

    @guarded
    def lookup(self, address: str) -> SuppressionFinding:
        """Suppressed when SES lists this exact address in the region's suppression list."""
        address = trimmed_address(address)
        return self._finding(address, self._record(address))

    @guarded
    def reactivate(self, address: str) -> SuppressionFinding:
        """Delete the address from the suppression list, then look it up again to confirm."""
        address = trimmed_address(address)
        record = self._record(address)
        if record is None:
            return self._finding(address, None)
        self._before[address] = record
        self._call("delete_suppressed_destination", missing_ok=True, EmailAddress=address)
        after = self._finding(address, self._record(address))
        return confirm_reactivated(
            label=self.label, after=after, hint="ask AWS support why the deletion did not take"
        )

    @guarded
    def events_since(self, address: str, since: datetime) -> list[DeliveryEvent]:
        """The suppression entry as one event when it was last updated at or after `since`."""
        address = trimmed_address(address)
        # After a reactivation the entry is gone: what reactivate() saw is all SES had to say.
        record = self._record(address) or self._before.get(address)
        return events_from_records([record] if record else [], since=since, source=self.name)

    @guarded_pages
    def suppressions(self, cursor: dict[str, Any] | None = None) -> Iterator[SuppressionPage]:
        """The region's whole suppression list (ListSuppressedDestinations, by NextToken)."""
        token = (cursor or {}).get("next_token")
        while True:
            params: dict[str, Any] = {"PageSize": LIST_PAGE}
            if token:
                params["NextToken"] = token
            answer = self._call("list_suppressed_destinations", **params)
            token = answer.get("NextToken") or None
            entries = []
            for summary in answer.get("SuppressedDestinationSummaries") or []:
                kind, words, _ = _REASONS.get(
                    str(summary.get("Reason")), ("bounce", str(summary.get("Reason") or ""), "")
                )
                updated = summary.get("LastUpdateTime")
                entries.append(
                    SuppressionListing(
                        address=str(summary.get("EmailAddress", "")).strip(),
                        list_name=str(summary.get("Reason") or "suppressed"),
                        kind=kind,
                        reason=words,
                        suppressed_at=as_utc(updated) if isinstance(updated, datetime) else None,
                    )
                )
            yield SuppressionPage(entries=entries, cursor={"next_token": token} if token else None)
            if not token:
                return

    # -- SES v2 ----------------------------------------------------------------------------

    def _record(self, address: str) -> SuppressionRecord | None:
        answer = self._call("get_suppressed_destination", missing_ok=True, EmailAddress=address)
        if answer is None:
            return None
        entry = answer["SuppressedDestination"]
        kind, words, bounce_class = _REASONS.get(
            str(entry.get("Reason")), ("bounce", str(entry.get("Reason") or "suppressed"), "")
        )
        attributes = entry.get("Attributes") or {}
        ids = ", ".join(
            f"{label} {attributes[key]}"
            for key, label in (("MessageId", "message"), ("FeedbackId", "feedback"))
            if attributes.get(key)
        )
        updated = entry.get("LastUpdateTime")
        return SuppressionRecord(
            address=str(entry.get("EmailAddress") or address),
            kind=kind,
            listed_at=as_utc(updated) if isinstance(updated, datetime) else None,
            reason=f"{words} ({ids})" if ids else words,
            bounce_class=bounce_class,
            list_name="account suppression list",
        )

    def _finding(self, address: str, record: SuppressionRecord | None) -> SuppressionFinding:
        return finding_from_records([record] if record else [], address=address, source=self.name)

    def _sesv2(self) -> Any:
        if self._client is None:
            session = self._session or boto3.session.Session()
            region = self.region or session.region_name
            if not region:
                raise AdapterError(
                    "no AWS region for Amazon SES: set SES_REGION (each region keeps its own "
                    "suppression list)",
                    transient=False,
                )
            self._client = session.client(
                "sesv2",
                region_name=region,
                endpoint_url=self.endpoint_url,
                config=Config(
                    connect_timeout=self.timeout,
                    read_timeout=self.timeout,
                    # One attempt: callers decide about retrying from AdapterError.transient.
                    retries={"total_max_attempts": 1, "mode": "standard"},
                ),
            )
        return self._client

    def _call(self, operation: str, *, missing_ok: bool = False, **params: Any) -> Any:
        client = self._sesv2()
        try:
            return getattr(client, operation)(**params)
        except ClientError as error:
            if missing_ok and _code(error) == "NotFoundException":
                return None
            raise self._error_for(error) from error
        except (NoCredentialsError, PartialCredentialsError, CredentialRetrievalError) as error:
            raise AdapterError(
                f"no usable AWS credentials for Amazon SES ({error}); {_CREDENTIALS_HINT}",
                transient=False,
            ) from error
        except (ConnectTimeoutError, ReadTimeoutError) as error:
            raise AdapterError(
                f"Amazon SES did not answer within {self.timeout:g} s", transient=True
            ) from error
        except (BotoConnectionError, HTTPClientError) as error:
            where = self.endpoint_url or f"its {client.meta.region_name} endpoint"
            raise AdapterError(
                f"could not connect to Amazon SES at {where} ({error})", transient=True
            ) from error
        except BotoCoreError as error:
            raise AdapterError(
                f"Amazon SES could not be asked ({error})", transient=False
            ) from error

    def _error_for(self, error: ClientError) -> AdapterError:
        code = _code(error)
        meta = error.response.get("ResponseMetadata", {})
        status = int(meta.get("HTTPStatusCode") or 0)
        message = str(error.response.get("Error", {}).get("Message") or "")
        said = f"{code}: {message}" if message else code
        headers = {k.title(): v for k, v in (meta.get("HTTPHeaders") or {}).items()}
        return error_for_answer(
            label=self.label,
            status=status,
            detail=f"HTTP {status}, {said}",
            headers=headers,
            credentials_hint=_CREDENTIALS_HINT,
            refused_credentials=code in _CREDENTIAL_CODES,
            throttled=code in _THROTTLING_CODES,
        )


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code") or "")

"""What the helpdesk's own evidence says: a confirmed probe, a reactivation, a probe gone quiet.

These findings follow what happened to our mail after the ticket was filed, so they speak
with the weight of an observation, not of an inference from DNS.
"""

from __future__ import annotations

from datetime import datetime

from diagnostics.types import Outcome, Owner
from diagnostics.verdict.advice import (
    PROBE_HOURS,
    SPAM_FILTER_DUTY,
    Finding,
    gateway_guidance,
    join,
)
from diagnostics.verdict.evidence import Evidence


def _day(value: datetime | None) -> str:
    return f"{value:%Y-%m-%d}" if value else "an unknown date"


def delivered(ev: Evidence) -> Finding:
    confirmed = ev.delivery_time("confirmed_at")
    earlier = [
        what
        for what, present in (
            ("the vendor's deactivation", ev.suppression() == "suppressed"),
            ("earlier bounces", bool(ev.failed("bounces") or ev.blocked_by_filter())),
            ("what DNS suggested", bool(ev.failed("mx", "smtp_rcpt") or ev.by_check.get("typo"))),
        )
        if present
    ]
    return Finding(
        "high",
        join(
            f"Mail reaches {ev.address}: the recipient confirmed a delivery probe on "
            f"{_day(confirmed)}.",
            f"That is newer and stronger than {' and '.join(earlier)}." if earlier else "",
            "State admin: confirm with the user that notifications arrive, then close the ticket.",
        ),
        Owner.STATE,
    )


def probe_lost(ev: Evidence) -> Finding:
    sent = ev.delivery_time("probe_sent_at")
    reactivated = ev.delivery_time("reactivated_at")
    since = (
        f"after the vendor reactivated the address on {_day(reactivated)}"
        if reactivated and sent and sent >= reactivated
        else "while the vendor did not suppress the address"
    )
    return Finding(
        "medium",
        join(
            f"A delivery probe sent on {_day(sent)}, {since}, is still unconfirmed after "
            f"{PROBE_HOURS} hours, and nothing bounced: the vendor sends to {ev.address}, so our "
            "mail most likely sits in the spam filter's quarantine or the user's junk folder.",
            gateway_guidance(ev),
            SPAM_FILTER_DUTY,
            content_warning(ev),
            "Then send a new probe; ask the user to look in the junk folder as well.",
        ),
    )


def content_warning(ev: Evidence) -> str:
    """When SpamAssassin scores our own mail high, say our content itself may be filtered."""
    content = ev.first("content")
    if content is None or content.outcome not in (Outcome.WARN, Outcome.FAIL):
        return ""
    worst = next(
        (m for m in content.details.get("messages", []) if m["name"] == content.details["worst"]),
        {"rules": []},
    )
    rules = [r["rule"] for r in sorted(worst["rules"], key=lambda r: -r["score"]) if r["score"] > 0]
    return (
        f"Our content may be filtered too: SpamAssassin scores our '{content.details['worst']}' "
        f"message {content.details['score']:g} (spam from {content.details['threshold']:g}"
        + (f"; rules {', '.join(rules[:3])}" if rules else "")
        + "). National office: see the content check on Sender health and fix the template."
    )


def reactivated(ev: Evidence) -> Finding:
    when = ev.delivery_time("reactivated_at")
    sent = ev.delivery_time("probe_sent_at")
    pending = sent is not None and when is not None and sent >= when
    return Finding(
        "medium",
        join(
            f"The vendor reactivated {ev.address} on {_day(when)} and nothing has bounced since, "
            "so it is no longer suppressed.",
            f"A delivery probe sent on {_day(sent)} waits for the recipient's click; give it "
            f"{PROBE_HOURS} hours, then look in the spam filter's quarantine if it stays "
            "unconfirmed."
            if pending
            else "Send a delivery probe from the ticket now: when the user clicks its link, "
            f"delivery is proven; if it stays unconfirmed after {PROBE_HOURS} hours, look in "
            "the spam filter's quarantine.",
        ),
    )

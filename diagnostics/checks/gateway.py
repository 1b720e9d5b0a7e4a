"""Which filtering gateway receives the domain's mail, and what its admins do to let ours in.

The product is read from MX host names only (no connection to the gateway). The guidance is
a starting point for the state's mail administrators, in our words, not the vendor's manual.
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from diagnostics.checks.common import Stopwatch, lookup_error_details, normalize_domain
from diagnostics.checks.mx import mx_hosts
from diagnostics.resolver import AnswerStatus, DnsResolver
from diagnostics.types import CheckResult, Outcome


@dataclass(frozen=True)
class Gateway:
    key: str
    name: str
    patterns: tuple[str, ...]
    release: str
    allowlist: str

    def matches(self, host: str) -> bool:
        return any(fnmatchcase(host, pattern) for pattern in self.patterns)


GATEWAYS: tuple[Gateway, ...] = (
    Gateway(
        key="microsoft365",
        name="Microsoft 365 / Exchange Online Protection",
        patterns=("*.mail.protection.outlook.com", "*.mx.microsoft"),
        release=(
            "A Microsoft 365 admin opens the quarantine page in the Microsoft Defender portal, "
            "searches for messages from our sender address, reviews and releases them. Users "
            "can only release their own messages if the quarantine policy lets them."
        ),
        allowlist=(
            "Add our sending domain or IP addresses to the Tenant Allow/Block List, or create a "
            "mail flow rule that trusts our mail only when it passes SPF, DKIM or DMARC, so "
            "forged mail in our name stays blocked. Also check that users have not put us on "
            "their personal blocked senders list."
        ),
    ),
    Gateway(
        key="google",
        name="Google Workspace",
        patterns=(
            "aspmx.l.google.com",
            "alt*.aspmx.l.google.com",
            "smtp.google.com",
            "*.googlemail.com",
            "aspmx*.googlemail.com",
        ),
        release=(
            "Messages marked as spam sit in each user's Spam folder; the user opens it and "
            "marks our message 'Not spam'. Messages held by an admin quarantine are released "
            "by a Workspace admin from the Admin quarantine page in the Admin console."
        ),
        allowlist=(
            "In the Admin console spam settings, add our sending domain to an approved senders "
            "list and keep 'require sender authentication' on, or add our IP addresses to the "
            "email allowlist in the Gmail settings."
        ),
    ),
    Gateway(
        key="proofpoint",
        name="Proofpoint Email Protection",
        patterns=("*.pphosted.com",),
        release=(
            "The Proofpoint administrator finds our message in the quarantine folders of the "
            "admin console (searching by sender or message log) and releases it; users can "
            "release spam-quarantined mail from their daily digest if the policy allows."
        ),
        allowlist=(
            "Add our sending domain or IP addresses to the organisation's safe sender list, "
            "ideally in a rule that also requires our mail to pass authentication."
        ),
    ),
    Gateway(
        key="proofpoint_essentials",
        name="Proofpoint Essentials",
        patterns=("*.ppe-hosted.com",),
        release=(
            "An administrator opens the quarantine in the Proofpoint Essentials console, "
            "filters by our sender and releases the message; users can release from their "
            "quarantine digest."
        ),
        allowlist=(
            "Add our sending domain or address to the company-wide sender list as a safe "
            "sender in the Essentials console."
        ),
    ),
    Gateway(
        key="mimecast",
        name="Mimecast Email Security",
        patterns=("*.mimecast.com", "*.mimecast.co.za", "*.mimecast-offshore.com"),
        release=(
            "A Mimecast administrator finds the message in the held messages queue "
            "(Message Center) by sender and releases it; users can release their own held "
            "mail from the digest or the personal portal when allowed."
        ),
        allowlist=(
            "Add our sending domain or IP addresses to a permitted senders policy, scoped to "
            "our authenticated mail, so spam scanning no longer holds it."
        ),
    ),
    Gateway(
        key="cisco",
        name="Cisco Secure Email (IronPort)",
        patterns=("*.iphmx.com",),
        release=(
            "An administrator opens the spam quarantine (or the policy quarantine that caught "
            "it) in the Secure Email console, searches by sender and releases the message."
        ),
        allowlist=(
            "Add our sending IP addresses or domain to a sender group with a trusted mail flow "
            "policy (for example the allowed list in the Host Access Table)."
        ),
    ),
    Gateway(
        key="barracuda",
        name="Barracuda Email Protection",
        patterns=("*.ess.barracudanetworks.com", "*.ess.barracuda.com"),
        release=(
            "An administrator opens the message log in Barracuda Email Gateway Defense, finds "
            "our quarantined or blocked message by sender and delivers it; users can deliver "
            "their own from the quarantine digest."
        ),
        allowlist=(
            "Add our sending domain or IP addresses to the sender allow policy (the IP allow "
            "list or the sender policies list) for the recipient domain."
        ),
    ),
    Gateway(
        key="broadcom",
        name="Broadcom (Symantec) Email Security.cloud",
        patterns=("*.messagelabs.com",),
        release=(
            "An administrator releases our message from the spam quarantine in the "
            "Email Security.cloud portal, or the user releases it from the quarantine "
            "notification."
        ),
        allowlist=(
            "Add our sending domain or IP addresses to the approved senders list of the "
            "anti-spam settings in the portal."
        ),
    ),
    Gateway(
        key="trendmicro",
        name="Trend Micro Email Security",
        patterns=("*.tmes.trendmicro.com", "*.tmes.trendmicro.eu", "*.tmes-anz.trendmicro.com"),
        release=(
            "An administrator opens the quarantine in the Trend Micro Email Security console, "
            "queries by our sender and delivers the message; end users can use the end-user "
            "quarantine digest if enabled."
        ),
        allowlist=(
            "Add our sending domain or IP addresses to the approved senders list (sender "
            "filtering) for the recipient domain."
        ),
    ),
    Gateway(
        key="sophos",
        name="Sophos Email",
        patterns=("*.hydra.sophos.com",),
        release=(
            "An administrator opens the quarantine in Sophos Central, finds our message by "
            "sender and releases it; users can release their own from the quarantine digest "
            "or the self-service portal."
        ),
        allowlist=(
            "Add our sending domain or address to the allowed senders list in the Sophos "
            "Central email settings (globally, or for the affected mailboxes)."
        ),
    ),
    Gateway(
        key="forcepoint",
        name="Forcepoint Email Security",
        patterns=("*.mailcontrol.com",),
        release=(
            "An administrator searches the message report or quarantine in the Forcepoint "
            "cloud portal by our sender and releases the held message."
        ),
        allowlist=(
            "Add our sending domain or IP addresses to the allowed senders list of the "
            "anti-spam policy in the Forcepoint portal."
        ),
    ),
    Gateway(
        key="appriver",
        name="AppRiver / Zix Secure Email Gateway",
        patterns=("*.arsmtp.com",),
        release=(
            "An administrator (or the user) opens the quarantine in the Zix/AppRiver admin "
            "portal, finds our message and releases it, or releases it from the daily "
            "quarantine report."
        ),
        allowlist=(
            "Add our sending domain or address to the domain-wide allowed senders (safe list) "
            "in the spam filter settings."
        ),
    ),
    Gateway(
        key="spamexperts",
        name="SpamExperts (N-able Mail Assure)",
        patterns=("*.spamexperts.com", "*.spamexperts.eu", "*.spamexperts.net"),
        release=(
            "The domain administrator opens the spam quarantine in the SpamExperts / Mail "
            "Assure control panel, searches by our sender and releases the message (with an "
            "option to train it as not spam)."
        ),
        allowlist=(
            "Add our sending domain or address to the sender allow list for the recipient "
            "domain in the control panel."
        ),
    ),
)


def identify_gateway(host: str) -> Gateway | None:
    """The gateway product whose MX naming pattern `host` follows, if any."""
    host = normalize_domain(host)
    return next((g for g in GATEWAYS if g.matches(host)), None)


def check_gateway(
    domain: str, *, resolver: DnsResolver, mx_result: CheckResult | None = None
) -> CheckResult:
    """Pass naming the product and its release/allow-list steps (product None when unknown)."""
    clock = Stopwatch()
    domain = normalize_domain(domain)
    if mx_result is not None and mx_result.details.get("mx") is not None:
        hosts = mx_hosts(mx_result)
        lookup_failed = mx_result.details.get("reason") == "lookup_error"
        failure = mx_result.summary
    else:
        answer = resolver.query(domain, "MX")
        lookup_failed = answer.failed
        failure = answer.reason
        hosts = []
        if answer.status is AnswerStatus.RECORDS:
            ranked = sorted((r.preference, r.exchange.to_text()) for r in answer.rdata)
            hosts = [normalize_domain(h) for _, h in ranked if normalize_domain(h)]
        if answer.failed:
            return clock.result(
                "gateway",
                domain,
                Outcome.INCONCLUSIVE,
                f"Could not read the MX records of {domain}: {failure}.",
                {**lookup_error_details(answer), "product": None, "mx_hosts": []},
            )
    if lookup_failed:
        return clock.result(
            "gateway",
            domain,
            Outcome.INCONCLUSIVE,
            f"The MX lookup for {domain} failed, so its gateway is unknown.",
            {"reason": "lookup_error", "product": None, "mx_hosts": hosts},
        )
    matches = [(host, identify_gateway(host)) for host in hosts]
    found = [(host, g) for host, g in matches if g is not None]
    details: dict[str, Any] = {
        "mx_hosts": hosts,
        "product": None,
        "product_name": None,
        "release": None,
        "allowlist": None,
        "products": list(dict.fromkeys(g.key for _, g in found)),
    }
    if not hosts:
        details["reason"] = "no_mx_hosts"
        return clock.result(
            "gateway",
            domain,
            Outcome.PASS,
            f"{domain} has no MX hosts, so there is no gateway to identify.",
            details,
        )
    if not found:
        details["reason"] = "unknown_gateway"
        return clock.result(
            "gateway",
            domain,
            Outcome.PASS,
            f"No known filtering gateway in front of {domain}; ask its mail administrators "
            "which filter they run.",
            details,
        )
    # Mail goes to the most preferred host first, so that host's product decides.
    host, gateway = found[0]
    details.update(
        reason="identified",
        product=gateway.key,
        product_name=gateway.name,
        matched_host=host,
        release=gateway.release,
        allowlist=gateway.allowlist,
    )
    return clock.result(
        "gateway",
        domain,
        Outcome.PASS,
        f"{domain} receives mail through {gateway.name} ({host}).",
        details,
    )

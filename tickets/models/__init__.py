"""Organisations, people, tickets and what happens to them.

Models hold data and constraints only; every change goes through `tickets.services`.
"""

from tickets.models.audits import (
    AuditChunk,
    AuditEntry,
    AuditStateTicket,
    AuditStatus,
    ChunkStatus,
    SuppressionAudit,
)
from tickets.models.desk import AuditLogEntry, CannedReply, SavedFilter
from tickets.models.diagnosis import (
    ACTIVE_RUN_STATUSES,
    AddressVerdict,
    CheckRecord,
    DiagnosticRun,
    RunStatus,
    VendorCall,
    VendorCallAction,
)
from tickets.models.inbound import InboundMessage, InboundOutcome, InboundTrust
from tickets.models.notifications import (
    MailDelivery,
    Notification,
    NotificationKind,
    NotificationPreference,
    NotificationStatus,
    RelayStatus,
)
from tickets.models.organisations import (
    MailDomain,
    Organisation,
    OrganisationKind,
    User,
)
from tickets.models.tickets import (
    INTERNAL_KINDS,
    OPEN_STATUSES,
    SUBJECT_MAX,
    AddressStatus,
    AffectedAddress,
    Attachment,
    AttachmentKind,
    Cause,
    DeliveryProbe,
    EventKind,
    Status,
    Symptom,
    Ticket,
    TicketEvent,
    attachment_path,
)

__all__ = [
    "AuditChunk",
    "AuditEntry",
    "AuditStateTicket",
    "AuditStatus",
    "ChunkStatus",
    "SuppressionAudit",
    "AuditLogEntry",
    "CannedReply",
    "INTERNAL_KINDS",
    "SUBJECT_MAX",
    "SavedFilter",
    "ACTIVE_RUN_STATUSES",
    "AddressStatus",
    "AddressVerdict",
    "AffectedAddress",
    "Attachment",
    "AttachmentKind",
    "Cause",
    "CheckRecord",
    "DeliveryProbe",
    "DiagnosticRun",
    "EventKind",
    "MailDelivery",
    "InboundMessage",
    "InboundOutcome",
    "InboundTrust",
    "MailDomain",
    "Notification",
    "NotificationKind",
    "NotificationPreference",
    "NotificationStatus",
    "RelayStatus",
    "OPEN_STATUSES",
    "Organisation",
    "OrganisationKind",
    "RunStatus",
    "Status",
    "Symptom",
    "Ticket",
    "TicketEvent",
    "User",
    "VendorCall",
    "VendorCallAction",
    "attachment_path",
]

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
from tickets.models.diagnosis import (
    ACTIVE_RUN_STATUSES,
    AddressVerdict,
    CheckRecord,
    DiagnosticRun,
    RunStatus,
    VendorCall,
    VendorCallAction,
)
from tickets.models.organisations import (
    MailDomain,
    Organisation,
    OrganisationKind,
    User,
)
from tickets.models.tickets import (
    OPEN_STATUSES,
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
    "MailDomain",
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

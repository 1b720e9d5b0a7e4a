"""What the services refuse, in words for the person acting."""

from __future__ import annotations


class WorkflowError(Exception):
    """A request the workflow refuses; the message is meant for the person acting."""


class StaleTicket(WorkflowError):
    def __init__(self, ticket):
        self.ticket = ticket
        super().__init__(
            f"{ticket.number} changed while you were looking at it (it is now "
            f"“{ticket.get_status_display()}”). Reload the page to see what changed; "
            "what you typed is kept below."
        )


class TransitionNotAllowed(WorkflowError):
    """The action does not exist, is not for this role, or not from this status."""


class GuardFailed(WorkflowError):
    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__(" ".join(problems))

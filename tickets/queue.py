"""Background work is sent from here: by task name, once the transaction commits.

It imports nothing of `tickets`, so no service ever imports the tasks module (the shape of
Zulip's `queue_event_on_commit`). A broker that is down when the transaction commits does not
undo the committed work: the failure is logged (`robust=True`) and the timers catch up.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import current_app
from django.db import transaction

logger = logging.getLogger(__name__)


def send_task(name: str, *args: Any, countdown: float | None = None) -> None:
    """Send the task called `name` with plain JSON arguments now (eager under local settings)."""
    # The registry, not `send_task`: it honours `task_always_eager` for the in-process mode.
    if name not in current_app.tasks:
        # Autodiscovery imports each app's tasks module on this signal (a worker does it at start).
        current_app.loader.import_default_modules()
    current_app.tasks[name].apply_async(args=args, countdown=countdown)


def queue_task_on_commit(name: str, *args: Any) -> None:
    """Send the task once the current transaction commits (at once when there is none)."""
    transaction.on_commit(lambda: send_task(name, *args), robust=True)

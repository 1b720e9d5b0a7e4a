"""Template context shared by every page: the user's role and what it may do site-wide."""

from django.http import HttpRequest

from tickets.roles import Role, role_of
from tickets.workflow import FILE_ROLES


def role(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    user_role = role_of(user) if user is not None and user.is_authenticated else None
    return {
        "user_role": user_role,
        "can_file": user_role in FILE_ROLES,
        "can_see_sender_health": user_role is not None,
        "can_check_sender": user_role == Role.NATIONAL_STAFF,
        # The national office's own tools: moderation, the suppression audit, the admin.
        "is_national": user_role == Role.NATIONAL_STAFF,
    }

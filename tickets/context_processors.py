"""Template context shared by every page."""

from django.http import HttpRequest

from tickets.roles import role_of


def role(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    return {"user_role": role_of(user) if user is not None and user.is_authenticated else None}

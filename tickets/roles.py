"""The three roles, as Django groups."""

from django.db import models


class Role(models.TextChoices):
    STATE_ADMIN = "state_admin", "State admin"
    NATIONAL_STAFF = "national_staff", "National office staff"
    VENDOR_LIAISON = "vendor_liaison", "Vendor liaison"


def role_of(user) -> Role | None:
    """The user's role: the first of the three groups it belongs to, or None."""
    if user is None or not user.is_authenticated:
        return None
    names = getattr(user, "_role_group_names", None)
    if names is None:
        names = set(user.groups.values_list("name", flat=True))
        user._role_group_names = names
    for role in Role:
        if role.value in names:
            return role
    return None

from django import template

from tickets.selectors.mail import relays_status

register = template.Library()


@register.simple_tag
def outbound_relays() -> dict:
    """The relays' last success and failure, for the Sender health page."""
    return relays_status()

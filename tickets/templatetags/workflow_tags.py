from django import template

from tickets.workflow import TRANSITIONS

register = template.Library()


@register.filter
def transition_label(name: str) -> str:
    """The label a person saw on the button for this transition."""
    if name == "file":
        return "Filed"
    transition = TRANSITIONS.get(name)
    return transition.label if transition else name

"""The API's refusals in its OpenAPI schema: one shape per kind of "no", named once.

Every operation lists the answers it can give (`answers(...)`), so a client generated from the
schema, and the schemathesis run in CI (tests/tickets/test_api_schema.py), know them all.
"""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers

from tickets.models import Status


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="What went wrong, in words for a person.")


class ConflictSerializer(ErrorSerializer):
    status = serializers.ChoiceField(choices=Status.choices, help_text="The ticket's status now.")
    version = serializers.IntegerField(
        help_text="The ticket's version now: reload, then act on it."
    )


class BadRequestSerializer(serializers.Serializer):
    """A 400: the input's problems by field, or the workflow's refusal (schema below)."""


class BadRequestSchema(OpenApiSerializerExtension):
    target_class = BadRequestSerializer

    def get_name(self, auto_schema, direction):
        return "BadRequest"

    def map_serializer(self, auto_schema, direction):
        messages = {"type": "array", "items": {"type": "string"}}
        return {
            "type": "object",
            "description": "Either the messages for each field that is wrong (keyed by the "
            "field's name, `non_field_errors` for the whole body), or a `detail` saying why "
            "the workflow refuses, with `problems` listing what a transition still needs.",
            "properties": {
                "detail": {"type": "string"},
                "problems": {**messages, "description": "What is missing, one per item."},
            },
            "additionalProperties": messages,
        }


DESCRIPTIONS = {
    400: "The input is invalid, or the workflow refuses it.",
    401: "No valid token or session (`WWW-Authenticate: Token`).",
    403: "Your role may not do this (or a session's write came without its CSRF token).",
    404: "No such ticket, address, transition or page, or it is out of your reach.",
    409: "The ticket changed since the `version` you sent: reload it and try again.",
    415: "The body is not JSON, a form or multipart (its `Content-Type` says so, or none).",
    429: "Too many requests; `Retry-After` says how many seconds to wait.",
    503: "The database is briefly unavailable; try again after `Retry-After` seconds.",
}
SHAPES = {
    400: BadRequestSerializer,
    401: ErrorSerializer,
    403: ErrorSerializer,
    404: ErrorSerializer,
    409: ConflictSerializer,
    415: ErrorSerializer,
    429: ErrorSerializer,
    503: ErrorSerializer,
}
# Every operation needs a login, counts against the caller's rate, and reads the database
# (deliverytickets.middleware answers 503 while it is down).
ALWAYS = (401, 429, 503)

RESPONSE_HEADERS = [
    OpenApiParameter(
        "WWW-Authenticate",
        OpenApiTypes.STR,
        OpenApiParameter.HEADER,
        response=[401],
        description="`Token`: how to authenticate.",
    ),
    OpenApiParameter(
        "Retry-After",
        OpenApiTypes.INT,
        OpenApiParameter.HEADER,
        response=[429, 503],
        description="Seconds to wait before trying again.",
    ),
]


def answers(success: dict, *refusals: int) -> dict:
    """The responses of one operation: `success`, its refusals, and those of ALWAYS."""
    responses = dict(success)
    for code in sorted({*refusals, *ALWAYS}):
        responses[code] = OpenApiResponse(SHAPES[code], description=DESCRIPTIONS[code])
    return responses

"""Refusals as HTTP answers, mapped here once: the same words the pages show."""

from django.core.exceptions import PermissionDenied
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from tickets import services


def exception_handler(exc, context):
    if isinstance(exc, services.StaleTicket):
        return Response(
            {"detail": str(exc), "status": exc.ticket.status, "version": exc.ticket.version},
            status=status.HTTP_409_CONFLICT,
        )
    if isinstance(exc, services.GuardFailed):
        return Response(
            {"detail": "The transition's conditions are not met.", "problems": exc.problems},
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, services.TransitionNotAllowed):
        return Response({"detail": str(exc)}, status=status.HTTP_403_FORBIDDEN)
    if isinstance(exc, services.WorkflowError):
        return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, PermissionDenied):
        detail = str(exc) or "Your role may not do this."
        return Response({"detail": detail}, status=status.HTTP_403_FORBIDDEN)
    return drf_exception_handler(exc, context)

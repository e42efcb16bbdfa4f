"""Attribute the changes of each request by a logged-in user to that user."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponseBase

from auditing.context import audit_context
from growthcompass.rls import rls_context


class AuditContextMiddleware:
    """Wrap a request by an authenticated user in ``audit_context(user, path, method)`` and ``rls_context(user)``.

    The row-level-security scope follows the user (administrator, office,
    teacher); an anonymous request has none, so it reads no domain row.

    Goes after ``AuthenticationMiddleware``. Anonymous requests run without a
    context (their changes, e.g. the login's ``last_login`` update, record a
    NULL user). The context ends with the view: content produced later by a
    streaming response is not attributed.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return self.get_response(request)
        with audit_context(user=user.pk, path=request.path, method=request.method), rls_context(user=user):
            return self.get_response(request)

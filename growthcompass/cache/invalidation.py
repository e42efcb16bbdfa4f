"""Invalidation from ORM writes, on commit, for immediacy.

The triggers see every write path, but their NOTIFY reaches the listener a
few milliseconds after the commit. ORM ``save()`` and ``delete()`` (and the
per-object deletes of ``queryset.delete()``) also invalidate in a
``transaction.on_commit`` callback, which runs before the committing call
returns: the writer's next read, in any process, already misses. A rolled-back
transaction discards its callbacks, so it invalidates nothing.

Writes that send no signals (``bulk_create``, ``bulk_update``,
``queryset.update()``, raw SQL, psql) rely on the listener alone.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from django.contrib.auth import get_user_model
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models import Model
from django.db.models.signals import post_delete, post_save

from growthcompass.cache import families
from growthcompass.cache.messages import EVERYTHING, Invalidation
from growthcompass.cache.store import get_store
from growthcompass.cache.transactions import note_uncommitted_write

# The auth_user columns cached entries show; a save of others (last_login) changes nothing cached.
USER_FIELDS = frozenset({"username", "first_name", "last_name", "email"})


def invalidate(invalidation: Mapping[str, frozenset[int] | None]) -> bool:
    """Invalidate now, e.g. ``invalidate({"student": frozenset({42})})``; False if Redis was unreachable."""
    return get_store().invalidate(invalidation)


def invalidate_on_commit(invalidation: Invalidation, *, using: str | None = None) -> None:
    """Invalidate when the current transaction commits (now, outside a transaction)."""
    alias = using or DEFAULT_DB_ALIAS
    if not invalidation:
        return
    if connections[alias].in_atomic_block:
        note_uncommitted_write(invalidation, using=alias)
    transaction.on_commit(functools.partial(invalidate, invalidation), using=alias, robust=True)


def _ids(*values: Any) -> frozenset[int]:
    return frozenset(int(v) for v in values if v is not None)


def _student_changed(sender: type[Model], instance: Model, using: str, **kwargs: Any) -> None:
    invalidate_on_commit({families.STUDENT: _ids(instance.pk)}, using=using)


def _guardian_changed(sender: type[Model], instance: Any, using: str, **kwargs: Any) -> None:
    invalidate_on_commit({families.STUDENT_GUARDIANS: _ids(instance.student_id)}, using=using)


def _enrollment_changed(sender: type[Model], instance: Any, using: str, **kwargs: Any) -> None:
    invalidate_on_commit(
        {
            families.STUDENT_ENROLLMENTS: _ids(instance.student_id),
            families.COURSE_ROSTER: _ids(instance.course_id),
        },
        using=using,
    )


def _course_changed(sender: type[Model], instance: Any, using: str, **kwargs: Any) -> None:
    invalidate_on_commit(
        {families.COURSE: _ids(instance.pk), families.COURSES_ACTIVE: _ids(families.COURSES_ACTIVE_ID)},
        using=using,
    )


def _term_changed(sender: type[Model], instance: Any, using: str, created: bool = False, **kwargs: Any) -> None:
    if created:
        return  # no course can name a term that did not exist
    from courses.models import Course

    course_ids = Course.objects.using(using).filter(term_id=instance.pk).values_list("pk", flat=True)
    invalidate_on_commit({families.COURSE: _ids(*course_ids)}, using=using)


def _user_changed(
    sender: type[Model],
    instance: Any,
    using: str,
    created: bool = False,
    update_fields: frozenset[str] | None = None,
    **kwargs: Any,
) -> None:
    if update_fields is not None and not (USER_FIELDS & set(update_fields)):
        return  # e.g. a login's last_login
    if created:
        # No course names a new user as its teacher yet; spare the lookup.
        invalidate_on_commit({families.STUDENT: _ids(instance.pk)}, using=using)
        return
    from courses.models import Course

    taught = Course.objects.using(using).filter(teacher_id=instance.pk).values_list("pk", flat=True)
    invalidate_on_commit({families.STUDENT: _ids(instance.pk), families.COURSE: _ids(*taught)}, using=using)


def _view_refreshed(sender: type[Model], instance: Any, using: str, created: bool = False, **kwargs: Any) -> None:
    if created and instance.view_name == "student_metrics_mv" and instance.succeeded:
        invalidate_on_commit({families.STUDENT_METRICS: None}, using=using)


def connect_signals() -> None:
    """Connected from ``CacheConfig.ready()``."""
    from courses.models import Course, Enrollment, Term
    from students.models import Guardian, Student, ViewRefresh

    receivers: list[tuple[Any, type[Model]]] = [
        (_student_changed, Student),
        (_guardian_changed, Guardian),
        (_enrollment_changed, Enrollment),
        (_course_changed, Course),
        (_term_changed, Term),
        (_user_changed, get_user_model()),
    ]
    for receiver, model in receivers:
        uid = f"growthcompass.cache.{receiver.__name__}.{model._meta.label}"
        post_save.connect(receiver, sender=model, dispatch_uid=f"{uid}.save")
        post_delete.connect(receiver, sender=model, dispatch_uid=f"{uid}.delete")
    post_save.connect(_view_refreshed, sender=ViewRefresh, dispatch_uid="growthcompass.cache._view_refreshed")


__all__ = ["EVERYTHING", "invalidate", "invalidate_on_commit"]

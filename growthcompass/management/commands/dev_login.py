"""Create (or refresh) the development staff login and print how to use it."""

from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import models

from growthcompass.command_arguments import text


class Command(BaseCommand):
    help = (
        "Create or refresh the development staff login (superuser). The password is generated once, "
        "kept in .devdata/staff-password, and printed with the admin URL; an account that already has it "
        "keeps it (so a restart does not log the browser out). An existing user who is not staff is not "
        "promoted unless --promote. Refused in production."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", type=text(150), default="staff", help="Login name (default: staff).")
        parser.add_argument("--url", type=text(), default="http://127.0.0.1:8000/admin/", help="Admin URL to print.")
        parser.add_argument(
            "--promote", action="store_true", help="Make an existing non-staff user of that name a superuser."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.DJANGO_ENV == "production":
            raise CommandError("dev_login creates a known superuser and is refused when DJANGO_ENV=production.")
        user_model = get_user_model()
        username = self._valid_username(options["username"])
        user = user_model._default_manager.filter(**{user_model.USERNAME_FIELD: username}).first()
        if user is not None and not user.is_staff and not options["promote"]:
            raise CommandError(
                f"User {username!r} exists and is not staff; pass --promote to make it a superuser, "
                "or choose another --username."
            )
        password = self._development_password()
        created = user is None
        if user is None:
            user = user_model(**{user_model.USERNAME_FIELD: username})
        changed = not (user.is_staff and user.is_superuser and user.is_active)
        user.is_staff = user.is_superuser = user.is_active = True
        # Setting the same password again would change its hash and log out every session.
        if created or not user.check_password(password):
            user.set_password(password)
            changed = True
        if changed:
            user.save()
        verb = "Created" if created else ("Refreshed" if changed else "Kept")
        self.stdout.write(self.style.SUCCESS(f"{verb} staff login."))
        self.stdout.write(f"  Admin:    {options['url']}")
        self.stdout.write(f"  Username: {user.get_username()}")
        self.stdout.write(f"  Password: {password}")

    def _valid_username(self, username: str) -> str:
        """The username as ``createsuperuser`` would accept it (the model field's validators and length)."""
        user_model = get_user_model()
        field = user_model._meta.get_field(user_model.USERNAME_FIELD)
        if not isinstance(field, models.Field):
            raise CommandError(f"{user_model.__name__}.{user_model.USERNAME_FIELD} is not a model field.")
        try:
            return str(field.clean(username, None))
        except ValidationError as exc:
            raise CommandError(f"--username {username[:40]!r}: {' '.join(exc.messages)}") from None

    def _development_password(self) -> str:
        password_file = settings.DEVDATA_DIR / "staff-password"
        if password_file.exists():
            return password_file.read_text(encoding="utf-8").strip()
        password = secrets.token_urlsafe(12)
        password_file.parent.mkdir(parents=True, exist_ok=True)
        password_file.write_text(password + "\n", encoding="utf-8")
        password_file.chmod(0o600)
        return password

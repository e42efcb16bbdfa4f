"""Create (or refresh) the development staff login and print how to use it."""

from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = (
        "Create or refresh the development staff login (superuser). The password is generated once, "
        "kept in .devdata/staff-password, and printed with the admin URL. Refused in production."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", default="staff", help="Login name (default: staff).")
        parser.add_argument("--url", default="http://127.0.0.1:8000/admin/", help="Admin URL to print.")

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.DJANGO_ENV == "production":
            raise CommandError("dev_login creates a known superuser and is refused when DJANGO_ENV=production.")
        password_file = settings.DEVDATA_DIR / "staff-password"
        password_file.parent.mkdir(parents=True, exist_ok=True)
        if password_file.exists():
            password = password_file.read_text(encoding="utf-8").strip()
        else:
            password = secrets.token_urlsafe(12)
            password_file.write_text(password + "\n", encoding="utf-8")
            password_file.chmod(0o600)
        user_model = get_user_model()
        user, created = user_model.objects.get_or_create(
            username=options["username"], defaults={"is_staff": True, "is_superuser": True}
        )
        user.is_staff = True
        user.is_superuser = True
        user.is_active = True
        user.set_password(password)
        user.save()
        verb = "Created" if created else "Refreshed"
        self.stdout.write(self.style.SUCCESS(f"{verb} staff login."))
        self.stdout.write(f"  Admin:    {options['url']}")
        self.stdout.write(f"  Username: {user.get_username()}")
        self.stdout.write(f"  Password: {password}")

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "growthcompass.settings")
application = get_asgi_application()

# A server invalidates the cache from the database's NOTIFYs itself when
# CACHE_LISTENER_IN_PROCESS is on (development); ``runserver`` loads this module too.
from growthcompass.cache import start_server_listener  # noqa: E402 - needs the apps loaded above

start_server_listener()

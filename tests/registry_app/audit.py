from __future__ import annotations

from tests.registry_app.models import Widget

AUDITED_MODELS = (Widget,)

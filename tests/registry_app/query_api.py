from __future__ import annotations

from growthcompass.db.tables import register_table
from tests.registry_app.models import Widget

# ``secret`` is not listed, so the API cannot read it.
register_table("registry_widgets", Widget, ("id", "name"))

from __future__ import annotations

from collections.abc import Sequence

from growthcompass.cache import Family, PickleCodec, WrittenBy, register
from tests.registry_app.models import Widget


def _load_names(ids: Sequence[int]) -> dict[int, str]:
    return dict(Widget.objects.using("default").filter(pk__in=ids).values_list("pk", "name"))


WIDGET_NAME: Family[str] = register(
    Family("registry_widget", ttl_s=60, load_many=_load_names, codec=PickleCodec()),
    written_by=[WrittenBy(Widget, columns=("name",))],
    keyed_by="widget",
)

"""``/api/``: the table index and ``/api/<table>/`` rows (see ``growthcompass.api.views``)."""

from __future__ import annotations

from django.urls import path

from growthcompass.api import views

app_name = "api"

urlpatterns = [
    path("", views.table_index, name="tables"),
    path("<str:table>/", views.table_rows, name="rows"),
]

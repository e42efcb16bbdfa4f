from __future__ import annotations

from growthcompass.health import CheckResult, register
from tests.registry_app.models import Widget


@register("registry_widgets")
def widgets_check() -> CheckResult:
    """Fails while any widget is named "broken": a check whose outcome a test can steer."""
    broken = Widget.objects.filter(name="broken").count()
    if broken:
        return CheckResult("registry_widgets", False, f"{broken} broken widget(s)")
    return CheckResult("registry_widgets", True, f"{Widget.objects.count()} widget(s)")

"""The ``redis`` health check: is Redis connected, how fast does it answer, is invalidation running."""

from __future__ import annotations

from growthcompass.cache import get_store
from growthcompass.health import CheckResult, register

__all__ = ["redis_check"]


@register("redis")
def redis_check() -> CheckResult:
    store = get_store()
    state = store.ping()
    if not state["connected"]:
        return CheckResult(
            name="redis",
            ok=False,
            detail=f"not connected ({state.get('error', 'no answer')}); cached reads fall through to PostgreSQL",
            data={**state, "pending_invalidations": store.pending_invalidations},
        )
    listeners = store.live_listeners()
    data = {
        **state,
        "listeners": listeners,
        "pending_invalidations": store.pending_invalidations,
        "local_tier_ready": None if store.local is None else store.local.ready,
    }
    detail = (
        f"connected, ping {state['ping_ms']:.2f} ms, {state['used_memory_human']} used, "
        f"{len(listeners)} invalidation listener(s)"
    )
    return CheckResult(name="redis", ok=True, detail=detail, data=data)

"""The ``redis`` and ``cache_listener`` health checks: is Redis connected and fast, is invalidation running.

Both only look: neither starts a listener nor a server (``make run`` and
``devservers start`` do that), so a failure is reported as found.
"""

from __future__ import annotations

from growthcompass.cache import get_store
from growthcompass.cache.config import listener_required
from growthcompass.health import CheckResult, register

__all__ = ["listener_check", "redis_check"]


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


@register("cache_listener")
def listener_check() -> CheckResult:
    """Fails when no invalidation listener has a fresh heartbeat and the deployment relies on one.

    Without a listener, writes that bypass the ORM (raw SQL, psql, bulk
    statements) reach no cache entry until its TTL runs out.
    """
    required = listener_required()
    store = get_store()
    if not store.ping()["connected"]:
        return CheckResult(
            name="cache_listener", ok=not required, detail="Redis unreachable: no listener heartbeat can be read"
        )
    listeners = store.live_listeners()
    data = {"listeners": listeners, "required": required}
    if listeners:
        return CheckResult(
            name="cache_listener", ok=True, detail=f"{len(listeners)} invalidation listener(s) alive", data=data
        )
    if not required:
        return CheckResult(
            name="cache_listener", ok=True, detail="no invalidation listener (not required here)", data=data
        )
    return CheckResult(
        name="cache_listener",
        ok=False,
        detail="no invalidation listener alive: raw-SQL writes stay cached until the TTL "
        "(run manage.py cache_listener as a supervised service, or CACHE_LISTENER_IN_PROCESS=1 in the server)",
        data=data,
    )

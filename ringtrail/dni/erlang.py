"""Pool sizing with Erlang B (DESIGN.md §4).

A number pool is a loss system: each visitor session holds a number while it is active plus the hold
time; a visitor who arrives when every number is held gets the fallback number. The share of such
visitors is ErlangB(N, A) with offered load A = new sessions per minute * (mean active minutes + hold
minutes).
"""

from __future__ import annotations

MAX_POOL_SIZE = 100_000


def offered_load(sessions_per_minute: float, mean_active_minutes: float, hold_minutes: float) -> float:
    return max(sessions_per_minute, 0.0) * (max(mean_active_minutes, 0.0) + max(hold_minutes, 0.0))


def erlang_b(servers: int, load: float) -> float:
    """Blocking probability; the recurrence B(n) = A·B(n-1) / (n + A·B(n-1)) is stable for any size."""
    if load <= 0:
        return 0.0
    blocking = 1.0
    for n in range(1, servers + 1):
        blocking = load * blocking / (n + load * blocking)
    return blocking


def pool_size_for(load: float, target_fallback_rate: float) -> int:
    """The smallest pool whose fallback rate is at most the target."""
    if load <= 0:
        return 0
    blocking, servers = 1.0, 0
    while blocking > target_fallback_rate and servers < MAX_POOL_SIZE:
        servers += 1
        blocking = load * blocking / (servers + load * blocking)
    return servers

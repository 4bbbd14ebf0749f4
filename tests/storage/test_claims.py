"""One claim per (team, channel, ts): the guarantee behind "one reply per message"."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from bot.storage import LocalClaims


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_first_claim_wins() -> None:
    claims = LocalClaims()
    assert claims.claim("T1", "C1", "1.0")
    assert not claims.claim("T1", "C1", "1.0")
    assert claims.claim("T1", "C1", "2.0")
    assert claims.claim("T1", "C2", "1.0")
    assert claims.claim("T2", "C1", "1.0")


def test_claims_expire_after_the_ttl() -> None:
    clock = Clock()
    claims = LocalClaims(ttl=60, clock=clock)
    assert claims.claim("T1", "C1", "1.0")
    clock.now = 59.9
    assert not claims.claim("T1", "C1", "1.0")
    clock.now = 60.0
    assert claims.claim("T1", "C1", "1.0")
    assert len(claims) == 1


def test_memory_is_bounded_oldest_first() -> None:
    claims = LocalClaims(max_keys=3)
    for ts in ("1", "2", "3", "4"):
        assert claims.claim("T", "C", ts)
    assert len(claims) == 3
    assert claims.claim("T", "C", "1")  # evicted, so claimable again
    assert not claims.claim("T", "C", "4")


def test_concurrent_claims_grant_each_key_once() -> None:
    claims = LocalClaims()
    start = threading.Barrier(8)

    def claim_all(_: int) -> int:
        start.wait()
        return sum(claims.claim("T", "C", str(n)) for n in range(2000))

    with ThreadPoolExecutor(8) as pool:
        assert sum(pool.map(claim_all, range(8))) == 2000


@pytest.mark.parametrize("kwargs", [{"ttl": 0}, {"max_keys": 0}])
def test_rejects_nonsense_limits(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        LocalClaims(**kwargs)  # type: ignore[arg-type]

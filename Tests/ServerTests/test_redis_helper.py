"""The tests' redis-server helper notices a server that exits instead of waiting out its deadline, says why in
redis-server's own words, and starts again on a fresh port."""
import time

import pytest

import conftest
from conftest import Redis, RedisDidNotStart


def test_a_taken_port_is_reported_and_retried_on_a_fresh_one(monkeypatch):
    holder = Redis()
    offered = []
    real_free_port = conftest.free_port

    def ports():
        offered.append(holder.port if not offered else real_free_port())
        return offered[-1]

    monkeypatch.setattr(conftest, "free_port", ports)
    redis = Redis()
    try:
        assert len(offered) == 2
        assert redis.port == offered[1] != holder.port
        assert redis.cli("PING") == "PONG"
    finally:
        redis.kill()
        holder.kill()


def test_a_port_that_stays_taken_fails_fast_with_every_reason(monkeypatch):
    holder = Redis()
    monkeypatch.setattr(conftest, "free_port", lambda: holder.port)
    started = time.monotonic()
    try:
        with pytest.raises(RedisDidNotStart) as failure:
            Redis()
    finally:
        holder.kill()
    assert time.monotonic() - started < 20, "the exit was noticed, not waited out"
    assert "did not start in 3 attempts" in str(failure.value)
    assert "Address already in use" in str(failure.value)


def test_a_killed_server_starts_again_on_its_port():
    redis = Redis()
    port = redis.port
    redis.kill()
    redis.start()
    try:
        assert redis.port == port
        assert redis.cli("PING") == "PONG"
    finally:
        redis.kill()

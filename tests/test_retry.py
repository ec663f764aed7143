"""The one retry policy and loop (spectrex.retry) that the engine's back-ends and the HTTP client share."""

import asyncio

import pytest

from spectrex import retry
from spectrex.errors import RetryableError


def test_retry_after_is_read_once_from_headers_numbers_and_errors():
    class Resp:
        headers = {"retry-after": "2.5"}

    class HTTPError(Exception):
        response = Resp()

    assert retry.retry_after("3") == 3.0 and retry.retry_after(HTTPError()) == 2.5
    assert retry.retry_after(RetryableError("slow down", retry_after=4)) == 4.0
    for unasked in (None, "", "Wed, 21 Oct 2015 07:28:00 GMT", "-1", "inf", ValueError("x")):
        assert retry.retry_after(unasked) is None


def test_a_server_wait_is_capped_without_a_deadline_and_whole_with_one():
    assert retry.RetryPolicy(max_delay=4.0, jitter=False).delay(0, 60.0) == 4.0
    assert retry.RetryPolicy(max_delay=4.0, jitter=False, deadline=100.0).delay(0, 60.0) == 60.0


def test_the_loop_retries_transient_failures_only_and_counts_them():
    seen, retried = [], []

    def flaky(tries):
        seen.append(tries.retries)
        if len(seen) < 3:
            raise TimeoutError("slow")
        return "ok"

    policy = retry.RetryPolicy(max_retries=5, base_delay=0.0)
    assert retry.call(flaky, policy, on_retry=lambda: retried.append(1)) == "ok"
    assert seen == [0, 1, 2] and len(retried) == 2
    with pytest.raises(KeyError):  # not transient: final at once
        retry.call(lambda _: {}["x"], policy, on_retry=lambda: retried.append(1))
    assert len(retried) == 2


def test_retries_end_at_max_retries_or_the_deadline():
    calls = []

    def down(_):
        calls.append(1)
        raise ConnectionError("refused")

    with pytest.raises(ConnectionError):
        retry.call(down, retry.RetryPolicy(max_retries=3, base_delay=0.0))
    assert len(calls) == 4
    slept = []

    def busy(_):
        raise RetryableError("busy", retry_after=50)

    with pytest.raises(RetryableError):  # the server's 50 s would pass the 10 s deadline: final, no wait
        retry.call(busy, retry.RetryPolicy(deadline=10.0), sleep=slept.append)
    assert slept == []


def test_the_async_loop_is_the_same_loop():
    tries = []

    async def flaky(t):
        tries.append(t.retries)
        if len(tries) < 2:
            raise RetryableError("busy")
        return 7

    assert asyncio.run(retry.acall(flaky, retry.RetryPolicy(base_delay=0.0))) == 7 and tries == [0, 1]

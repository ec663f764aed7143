"""Fault injection: a server failing 30 % of requests in six ways gives exactly the fault-free result (defaults)."""

import time

import numpy as np
import pytest

pytest.importorskip("httpx")

from openai_mimic import FAULTS, MimicServer  # noqa: E402

from spectrex import explain_text  # noqa: E402
from spectrex.engine import QueryEngine  # noqa: E402
from spectrex.errors import SpectrexError  # noqa: E402
from spectrex.models._http import AUTO_FACTOR, AUTO_FIRST, AUTO_FLOOR, JSONClient, RequestPolicy  # noqa: E402
from spectrex.models.openai import OpenAICompletionsScorer  # noqa: E402

TEXT = "a good and great film today"
TEMPLATE = "Review: {text}\nSentiment:"
#: a seed whose 30 % faults include each kind, one "slow" among them (each slow one costs the auto
#: timeout's 10 s floor of wall time), after the first answer, for 110 to 175 successful requests
SEED = 283181
#: the slow fault outlasts the auto timeout's floor (the mimic answers in milliseconds otherwise)
SLOW_S = AUTO_FLOOR + 2


def _explain(url, backend):
    """The scorer and the engine at every default setting but the back-end."""
    scorer = OpenAICompletionsScorer(url, target=" positive", contrast=" negative", template=TEMPLATE)
    try:
        return explain_text(TEXT, scorer, engine=QueryEngine(backend=backend)), scorer.client
    finally:
        scorer.close()


@pytest.fixture(scope="module")
def clean():
    with MimicServer("llama") as url:
        return _explain(url, "local")[0]


@pytest.mark.parametrize("backend", ["local", "threads", "async"])
def test_thirty_percent_faults_at_default_settings_give_exactly_the_fault_free_result(clean, backend):
    srv = MimicServer("llama", fault_rate=0.3, seed=SEED, slow_s=SLOW_S)
    with srv as url:
        faulty, client = _explain(url, backend)
    assert all(srv.faults[k] >= 1 for k in FAULTS), srv.faults  # every kind of fault happened …
    assert sum(srv.faults.values()) >= 0.2 * len(srv.requests)  # … on about 30 % of the requests
    assert client.timeouts >= srv.faults["slow"] >= 1  # the slow answer outlasted the auto timeout
    np.testing.assert_array_equal(faulty.transform.coefs, clean.transform.coefs)
    assert faulty.metadata["full_value"] == clean.metadata["full_value"]
    assert faulty.metadata.get("faithfulness") == clean.metadata.get("faithfulness")  # none for exact runs
    assert faulty.metadata["queries_dropped"] == 0


def test_the_auto_timeout_follows_the_slowest_answer():
    auto = RequestPolicy()
    assert auto.timeout is None
    assert auto.attempt_timeout(None) == AUTO_FIRST == 60  # before the first answer
    assert auto.attempt_timeout(0.05) == AUTO_FLOOR == 10  # a fast server: the floor
    assert auto.attempt_timeout(2.5) == AUTO_FACTOR * 2.5 == 25
    assert auto.attempt_timeout(30.0) == 60  # capped
    # each retry of a request that timed out doubles it, past the cap: a server slow for real is answered
    assert [auto.attempt_timeout(0.05, k) for k in range(4)] == [10, 20, 40, 80]
    assert auto.attempt_timeout(None, 1) == 120
    fixed = RequestPolicy(timeout=5)
    assert fixed.attempt_timeout(None) == fixed.attempt_timeout(100.0, 3) == 5  # an explicit timeout is fixed


def test_the_client_learns_the_slowest_model_answer():
    policy = RequestPolicy(base_delay=0.0)
    with MimicServer("llama", delay_s=0.3) as url:
        client = JSONClient(url, policy)
        try:
            assert client.slowest is None
            client.request("GET", "/v1/models")
            assert client.slowest is None  # a listing says nothing about the model's speed
            client.request("POST", "/v1/completions", {"prompt": "a b", "max_tokens": 1})
            assert 0.3 <= client.slowest < 5
            assert policy.attempt_timeout(client.slowest) == AUTO_FLOOR
        finally:
            client.close()


def test_a_server_that_dies_mid_run_ends_with_a_clear_error_within_the_deadline(tmp_path):
    srv = MimicServer("llama")
    with srv as url:
        scorer = OpenAICompletionsScorer(url, target=" positive", template=TEMPLATE, timeout=1.0, deadline=2)
        scorer.probe()
        srv.down = True
        t0 = time.monotonic()
        with pytest.raises(SpectrexError, match=r"HTTP 503, after \d+ attempt\(s\).*deadline 2 s.*running"):
            explain_text(TEXT, scorer, method="exact", holdout=0, engine=QueryEngine(cache=tmp_path / "c.db"))
        elapsed = time.monotonic() - t0
    assert elapsed < 2 + 2 * 1.0  # the full-text call gives up at its deadline


def test_retry_after_is_honoured_whole():
    policy = RequestPolicy(base_delay=0.01, max_delay=5.0)
    assert all(0.005 <= policy.delay(0, None) <= 0.01 for _ in range(50))  # jitter in [0.5, 1] of the base
    # the server's wait is not cut to max_delay (a wait past the deadline fails the request at once instead)
    assert policy.delay(0, 3.0) == 3.0 and policy.delay(0, 60.0) == 60.0
    assert 0.04 <= policy.delay(3, None) <= 0.08  # exponential


@pytest.mark.parametrize(
    ("kw", "message"),
    [({"timeout": 0}, "timeout"), ({"deadline": -1}, "deadline"), ({"max_retries": -1}, "max_retries")],
)
def test_policy_settings_are_checked(kw, message):
    with pytest.raises(ValueError, match=message):
        RequestPolicy(**kw)

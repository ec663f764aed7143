"""Fault injection: a server failing 30 % of requests in six ways gives exactly the fault-free result."""

import time

import numpy as np
import pytest

pytest.importorskip("httpx")

from openai_mimic import FAULTS, MimicServer  # noqa: E402

from spectrex import explain_text  # noqa: E402
from spectrex.engine import QueryEngine  # noqa: E402
from spectrex.errors import SpectrexError  # noqa: E402
from spectrex.models._http import RequestPolicy  # noqa: E402
from spectrex.models.openai import OpenAICompletionsScorer  # noqa: E402

TEXT = "a good and great film today"
TEMPLATE = "Review: {text}\nSentiment:"
#: the one setting that is not the default: the "slower than the timeout" fault must outlast it
TIMEOUT = 1.0


def _explain(url, backend, **settings):
    settings = {"timeout": TIMEOUT, **settings}
    scorer = OpenAICompletionsScorer(url, target=" positive", contrast=" negative", template=TEMPLATE, **settings)
    try:
        return explain_text(TEXT, scorer, method="exact", holdout=8, engine=QueryEngine(backend=backend))
    finally:
        scorer.close()


@pytest.fixture(scope="module")
def clean():
    with MimicServer("llama") as url:
        return _explain(url, "local")


@pytest.mark.parametrize("backend", ["local", "threads", "async"])
def test_thirty_percent_faults_give_exactly_the_fault_free_result(clean, backend):
    srv = MimicServer("llama", fault_rate=0.3, seed=3, slow_s=TIMEOUT + 0.5)
    with srv as url:
        faulty = _explain(url, backend)
    assert all(srv.faults[k] >= 1 for k in FAULTS), srv.faults  # every kind of fault happened …
    assert sum(srv.faults.values()) >= 0.2 * len(srv.requests)  # … on about 30 % of the requests
    np.testing.assert_array_equal(faulty.transform.coefs, clean.transform.coefs)
    assert faulty.metadata["full_value"] == clean.metadata["full_value"]
    assert faulty.metadata.get("faithfulness") == clean.metadata.get("faithfulness")  # none for exact runs
    assert faulty.metadata["queries_dropped"] == 0


@pytest.mark.parametrize("backend", ["local", "threads", "async"])
def test_faults_at_every_default_setting(clean, backend):
    """The five faults that need no timeout, with the scorer and engine at their defaults (60 s timeout)."""
    kinds = tuple(k for k in FAULTS if k != "slow")
    srv = MimicServer("llama", fault_rate=0.3, seed=4, kinds=kinds)
    with srv as url:
        scorer = OpenAICompletionsScorer(url, target=" positive", contrast=" negative", template=TEMPLATE)
        try:
            faulty = explain_text(TEXT, scorer, method="exact", engine=QueryEngine(backend=backend))
        finally:
            scorer.close()
    assert all(srv.faults[k] >= 1 for k in kinds), srv.faults
    np.testing.assert_array_equal(faulty.transform.coefs, clean.transform.coefs)


def test_a_server_that_dies_mid_run_ends_with_a_clear_error_within_the_deadline(tmp_path):
    srv = MimicServer("llama")
    with srv as url:
        scorer = OpenAICompletionsScorer(url, target=" positive", template=TEMPLATE, timeout=TIMEOUT, deadline=2)
        scorer.probe()
        srv.down = True
        t0 = time.monotonic()
        with pytest.raises(SpectrexError, match=r"HTTP 503, after \d+ attempt\(s\).*deadline 2 s.*running"):
            explain_text(TEXT, scorer, method="exact", holdout=0, engine=QueryEngine(cache=tmp_path / "c.db"))
        elapsed = time.monotonic() - t0
    assert elapsed < 2 + 2 * TIMEOUT  # the full-text call gives up at its deadline


def test_retry_after_is_honoured_and_capped():
    policy = RequestPolicy(base_delay=0.01, max_delay=5.0)
    assert all(0.005 <= policy.delay(0, None) <= 0.01 for _ in range(50))  # jitter in [0.5, 1] of the base
    assert policy.delay(0, 3.0) == 3.0 and policy.delay(0, 60.0) == 5.0
    assert 0.04 <= policy.delay(3, None) <= 0.08  # exponential


@pytest.mark.parametrize(
    ("kw", "message"),
    [({"timeout": 0}, "timeout"), ({"deadline": -1}, "deadline"), ({"max_retries": -1}, "max_retries")],
)
def test_policy_settings_are_checked(kw, message):
    with pytest.raises(ValueError, match=message):
        RequestPolicy(**kw)

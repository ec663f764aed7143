"""Workflows over :func:`spectrex.explain`: a text explained end to end, and the held-out faithfulness check.

:func:`explain_text` does text → parts → value function → explanation → held-out faithfulness;
:func:`holdout_faithfulness` is that last step, shared with the image dataset runs.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Sequence

import numpy as np

from .api import explain
from .bounds import check_design
from .design.uniform import holdout_masks
from .engine import QueryEngine
from .interactions import Interactions
from .models import DEFAULT_MODEL, load_model, make_parts
from .models.base import TextScorer, TextValueFunction


def holdout_faithfulness(result: Interactions, value_fn, engine: QueryEngine, holdout: int, random_state) -> None:
    """Query ``holdout`` fresh uniform masks through ``engine`` and record the held-out R² in ``result``.

    Sets ``metadata["faithfulness"]`` (the one R² of a result's metadata: :meth:`Interactions.faithfulness`),
    ``metadata["holdout_queries"]`` and ``metadata["timings"]["holdout_s"]``. Exact results are skipped:
    they reproduce every mask, so their R² is 1 by construction.
    """
    meta = result.metadata
    if holdout <= 0 or meta.get("method") == "exact":
        return
    check_holdout(result.n, holdout)
    masks = holdout_masks(result.n, holdout, random_state)
    query = engine.bind(value_fn, result.n)
    t1 = time.perf_counter()
    try:
        y = query(masks)
    finally:
        query.close()  # ends its progress bar before the result is printed
    meta["faithfulness"] = r2 = result.faithfulness((masks, y))
    meta["holdout_queries"] = int(holdout)
    if r2 is not None and r2 <= 0:
        note = weak_fit_note(r2, meta.get("method"), int(holdout))
        meta["notes"] = [*(meta.get("notes") or []), note]  # the report and the JSON say it too
        warnings.warn(note, UserWarning, stacklevel=3)
    meta.setdefault("timings", {})["holdout_s"] = time.perf_counter() - t1


def weak_fit_note(r2: float, method: str | None, holdout: int) -> str:
    """What a held-out R² ≤ 0 means, and what to do (the explanation predicts the model no better than its mean)."""
    switch = {
        "spex": "use method='proxyspex' (the default above 10 parts), which fits non-sparse models better",
        "proxyspex": "lower max_order, or cut the input into fewer parts (e.g. sentences)",
    }.get(str(method), "use method='proxyspex'")
    return (
        f"the explanation does not predict the model: its held-out R² on {holdout} random masks is {r2:.3f} (≤ 0: no "
        f"better than always answering the mean), so its values should not be trusted. Raise the budget, or {switch}"
    )


def check_holdout(n: int, holdout: int) -> None:
    """Refuse up front (:class:`~spectrex.errors.ResourceError`) a holdout whose masks would not fit in memory."""
    check_design(n, int(holdout), "the held-out check", knob="holdout")


def explain_text(
    text: str | Sequence[str],
    model: str | TextScorer = DEFAULT_MODEL,
    *,
    parts: str = "words",
    method: str = "auto",
    budget: int | None = None,
    masking: str = "remove",
    replacement: str | None = None,
    holdout: int = 64,
    random_state: int = 0,
    engine=None,
    **explain_settings,
) -> Interactions:
    """Explain a text model's output on ``text``: which parts, alone and together, drive it.

    Parameters
    ----------
    text : str or list of str
        The input; a list is taken as documents (one part each).
    model : str or TextScorer
        A name for :func:`spectrex.models.load_model` or a scorer.
    parts : {"words", "sentences", "paragraphs", "tokens"}
        How to cut a string into parts.
    method, budget, random_state, engine, **explain_settings
        As in :func:`spectrex.explain`.
    masking, replacement
        How a masked part is hidden (default: removed; see :mod:`spectrex.parts.text`).
    holdout : int, default 64
        Extra random masks queried after the fit to measure held-out faithfulness (R²); 0 to skip.

    Returns
    -------
    Interactions
        Labels are the parts' texts; metadata adds ``model``, ``target``, ``fingerprint``,
        ``faithfulness`` (held-out R²) and ``holdout_queries``.
    """
    if isinstance(holdout, bool) or not isinstance(holdout, (int, np.integer)) or holdout < 0 or holdout == 1:
        raise ValueError(
            f"holdout must be 0 (no faithfulness check) or at least 2 random masks (R² needs two), got {holdout!r}"
        )
    scorer = load_model(model) if isinstance(model, str) else model
    t0 = time.perf_counter()  # from here on: the target's generation, queries, holdout
    tp = make_parts(text, parts, getattr(scorer, "tokenizer", None))
    if holdout:
        check_holdout(tp.n, int(holdout))  # before any query, like the budget
    note = scorer.context_note(tp.text) if hasattr(scorer, "context_note") else None
    if note:
        warnings.warn(note, UserWarning, stacklevel=2)
    vf = TextValueFunction(scorer, tp, masking, replacement)
    engine = engine if engine is not None else QueryEngine()
    # one direct call on the full text first: a model or server that cannot answer at all (down, no
    # log-probabilities, wrong class name…) fails here with its own message, before any retries
    full_value = float(vf(np.ones((1, tp.n), bool))[0])
    result = explain(vf, method=method, budget=budget, random_state=random_state, engine=engine, **explain_settings)
    meta = result.metadata
    meta.update(model=scorer.model_id, target=getattr(scorer, "target", None), fingerprint=vf.fingerprint)
    meta.update(contrast=getattr(scorer, "contrast", None), template=getattr(scorer, "template", None))
    meta.update(parts=tp.unit, masking=vf.masking, full_value=full_value)
    holdout_faithfulness(result, vf, engine, int(holdout), random_state)
    meta.setdefault("timings", {})["wall_s"] = time.perf_counter() - t0
    return result

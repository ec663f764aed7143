"""Workflows over :func:`spectrex.explain`: a text explained end to end, and the held-out faithfulness check.

:func:`explain_text` does text → parts → value function → explanation → held-out faithfulness;
:func:`holdout_faithfulness` is that last step, shared with the image dataset runs.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Sequence

import numpy as np

from .api import explain
from .bounds import check_design
from .design.uniform import holdout_masks
from .engine import QueryEngine
from .explanations import Explanations, every
from .interactions import Interactions
from .models import DEFAULT_MODEL, load_model, make_parts
from .models.base import FunctionScorer, TextScorer, TextValueFunction
from .settings import RunSettings


def each_output(result: Interactions | Explanations, y: np.ndarray):
    """``(explanation, its column of y)`` for every explanation in ``result``: one for a single output;
    one per output, then the total (the columns' sum), for an :class:`Explanations`."""
    if isinstance(result, Interactions):
        return [(result, np.asarray(y).reshape(len(y), -1)[:, 0])]
    pairs = [(item, y[:, j]) for j, item in enumerate(result.items)]
    return pairs + ([(result.total, y.sum(axis=1))] if result.total is not None else [])


def holdout_faithfulness(
    result: Interactions | Explanations, value_fn, engine: QueryEngine, holdout: int, random_state
) -> None:
    """Query ``holdout`` fresh uniform masks through ``engine`` and record the held-out R² in ``result``.

    Records the check in each explanation's provenance (:meth:`~spectrex.provenance.Provenance.add_holdout`:
    the held-out R² that :attr:`Interactions.metadata` shows as ``faithfulness``, the masks, the time).
    Results that queried every mask are skipped: they reproduce every mask, so their R² is 1 by construction.
    """
    if holdout <= 0 or result.provenance.every_mask:
        return
    check_holdout(result.n, holdout)
    masks = holdout_masks(result.n, holdout, random_state)
    query = engine.bind(value_fn, result.n)
    t1 = time.perf_counter()
    try:
        y = query(masks)
    finally:
        query.close()  # ends its progress bar before the result is printed
    seconds = time.perf_counter() - t1
    for each, column in each_output(result, y):  # one set of held-out queries checks every output
        r2 = each.faithfulness((masks, column))
        note = None
        if r2 is not None and r2 <= 0:
            note = weak_fit_note(r2, each.provenance.method, int(holdout))  # the report and the JSON say it too
            warnings.warn(note, UserWarning, stacklevel=3)
        each.provenance.add_holdout(r2, int(holdout), seconds, note)


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
    model: str | TextScorer | Callable[[list[str]], Sequence[float]] = DEFAULT_MODEL,
    *,
    target: str | int | None = None,
    contrast: str | None = None,
    template: str | None = None,
    device: str | None = None,
    model_settings: dict | None = None,
    parts: str = RunSettings.parts,
    method: str = RunSettings.method,
    budget: int | None = RunSettings.budget,
    masking: str = RunSettings.masking,
    replacement: str | None = RunSettings.replacement,
    holdout: int = RunSettings.holdout,
    random_state: int = RunSettings.seed,
    engine=None,
    progress=None,
    cache=None,
    settings: RunSettings | None = None,
    **explain_settings,
) -> Interactions | Explanations:
    """Explain a text model's output on ``text``: which parts, alone and together, drive it.

    Parameters
    ----------
    text : str or list of str
        The input; a list is taken as documents (one part each).
    model : str, TextScorer or callable
        A name for :func:`spectrex.models.load_model` (``"gemma-3-270m"``, ``"toxicity"``, ``"hf:PATH"``,
        ``"openai:URL"``), a scorer, or your own function ``list[str] -> floats`` (one score per text).
    target, contrast, template, device : optional
        The model's settings when ``model`` is a name (``explain_text(text, "gemma-3-270m", **SENTIMENT)``):
        the continuation scored (or class), the one subtracted, the prompt with ``{text}``, the device.
        A built scorer takes the first three (those its model takes) on a copy that shares its weights
        (``explain_text(text, tox, target="insult")``), not ``device``. With a function, only ``template``
        applies (the function sees the filled prompts).
    model_settings : dict, optional
        Any other setting of :func:`~spectrex.models.load_model` (``output``, ``batch_size``, ``echo``, …).
    parts : {"words", "sentences", "paragraphs", "tokens"}
        How to cut a string into parts.
    method, budget, random_state, engine, progress, cache, **explain_settings
        As in :func:`spectrex.explain` (``progress=False`` silences the bar; ``cache=PATH`` keeps the answers).
    masking, replacement
        How a masked part is hidden (default: removed; see :mod:`spectrex.parts.text`).
    holdout : int, default 64
        Extra random masks queried after the fit to measure held-out faithfulness (R²); 0 to skip.
    settings : RunSettings, optional
        All of ``parts``, ``method``, ``budget``, ``max_order``, ``masking``, ``replacement``, ``holdout`` and
        ``random_state`` (as ``seed``) in one object, instead of those keywords (not both); its ``batch_size``,
        ``on_error``, ``backend`` and ``workers`` make the query engine when ``engine`` is not given, and its
        ``per_token`` / ``all_labels`` load a model given by name.

    Returns
    -------
    Interactions or Explanations
        Labels are the parts' texts; metadata adds ``model``, ``target``, ``fingerprint``,
        ``faithfulness`` (held-out R²) and ``holdout_queries``. A model with several outputs per
        text (``per_token=True``, ``all_labels=True``) gives an :class:`~spectrex.Explanations`: one
        explanation per output (and the whole sequence), each with its own held-out R², from one
        set of queries.
    """
    run = RunSettings.given(
        settings, parts=parts, method=method, budget=budget, max_order=explain_settings.pop("max_order", None),
        masking=masking, replacement=replacement, holdout=holdout, seed=random_state,
    )  # fmt: skip
    given = {"progress": progress, "cache": cache}
    if engine is not None and any(v is not None for v in given.values()):
        names = ", ".join(k for k, v in given.items() if v is not None)
        raise ValueError(f"pass {names} either to explain_text() or inside engine=QueryEngine(...), not both")
    scorer = _scorer(model, target, contrast, template, device, model_settings or {}, run.model_flags())
    t0 = time.perf_counter()  # from here on: the target's generation, queries, holdout
    tp = make_parts(text, run.parts, scorer.tokenizer)
    if run.holdout:
        check_holdout(tp.n, run.holdout)  # before any query, like the budget
    note = scorer.context_note(tp.text)
    if note:
        warnings.warn(note, UserWarning, stacklevel=2)
    vf = TextValueFunction(scorer, tp, run.masking, run.replacement)
    own_engine = engine is None
    engine = engine if engine is not None else run.engine(progress=progress, cache=cache)
    try:
        vf.full_values = _full_value(vf, tp.n)[0]
        result = explain(vf, method=run.method, budget=run.budget, max_order=run.max_order, random_state=run.seed,
                         engine=engine, **explain_settings)  # fmt: skip
        holdout_faithfulness(result, vf, engine, run.holdout, run.seed)
    finally:
        if own_engine:
            engine.close()
    wall = time.perf_counter() - t0  # the driver's time plus the target's generation and the held-out check
    for each in every(result):
        each.provenance.timings.wall_s = wall
    return result


def _scorer(model, target, contrast, template, device, settings: dict, flags: dict) -> TextScorer:
    """The text scorer of ``explain_text``'s ``model`` with its settings (a name is loaded here, with ``flags``:
    ``per_token`` / ``all_labels``)."""
    named = {"target": target, "contrast": contrast, "template": template, "device": device, **settings}
    named = {k: v for k, v in named.items() if v is not None}
    if isinstance(model, str):
        return load_model(model, **{**flags, **named})
    if isinstance(model, TextScorer):
        # what a built scorer scores (target, contrast, template) applies to a copy sharing its weights, which
        # refuses what this model does not take; how it was built (device, model settings) does not change
        built = sorted(set(named) - {"target", "contrast", "template"})
        if built:
            raise ValueError(
                f"{', '.join(built)} {'is a setting' if len(built) == 1 else 'are settings'} of how a model is "
                f"loaded, and this one is already built: pass {'it' if len(built) == 1 else 'them'} to "
                "load_model(...) (or to your scorer), or give the model's name here"
            )
        return model.with_settings(**named) if named else model
    if callable(model):
        extra = sorted(set(named) - {"template"})
        if extra:
            raise ValueError(
                f"{', '.join(extra)} apply to models loaded by name; your function decides what it scores "
                "(only template= applies to it: the function then sees the filled prompts)"
            )
        return FunctionScorer(model, template=template)
    raise TypeError(f"model must be a name, a TextScorer or a function list[str] -> floats; got {model!r}")


def _full_value(vf: TextValueFunction, n: int) -> np.ndarray:
    """The model's values on the full input, ``(1, outputs)``: one direct call, never from the cache.

    A model or server that cannot answer at all (down, no log-probabilities, wrong class name…) fails
    here with its own message, before any retries. It is asked every time, also on a rerun whose masks
    are all cached: a model's float sums can depend on the batch, so the all-parts mask's answer from
    inside a batch may differ in its last bits, and a resumed run must report the very same number.
    """
    return np.asarray(vf(np.ones((1, n), bool)), dtype=np.float64).reshape(1, -1)

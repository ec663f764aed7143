"""One worker of a dataset run: loads the model once, then explains records one at a time.

The same class runs in-process and inside each Ray actor. For a record it

1. derives the record's scorer from the loaded model (:meth:`~spectrex.models.base.TextScorer.with_settings`:
   a copy with the record's ``target`` / ``contrast`` / ``question``; the weights are shared, never reloaded),
2. checks what only the model can check (too long for it, fewer than two parts),
3. explains it with :func:`spectrex.explain_text` through a :class:`~spectrex.engine.QueryEngine`
   whose answer cache is the record's own SQLite file (``OUT/cache/NAME.sqlite``) — so a record
   interrupted anywhere resumes from the answers it stored, and two workers never share a file,
4. writes the result file atomically and returns the record's index line (the caller appends it).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from ..errors import CacheError, ServerDownError, SpectrexError, ValueFunctionError
from ..redact import redact_text
from .records import Record
from .store import RunStore, write_atomic

if TYPE_CHECKING:
    from ..settings import RunSettings

#: documents + question: the prompt when the run's template has no {question} slot
QUESTION_TEMPLATE = "{text}\n\nQuestion: {question}\nAnswer:"
#: model names that explain image records (patches as parts) instead of text
IMAGE_MODELS = ("efficientnet-lite0",)


def load_scorer(model, model_settings: dict | None = None):
    """The text scorer of a run: a model name for :func:`~spectrex.models.load_model`, a factory, or a scorer."""
    from ..models import load_model
    from ..models.base import TextScorer

    settings = dict(model_settings or {})
    if isinstance(model, str):
        return load_model(model, **settings)
    if isinstance(model, TextScorer):
        if settings:
            raise ValueError(
                f"model settings {sorted(settings)} were given with a loaded model; pass the model's name instead"
            )
        return model
    if callable(model):
        scorer = model(**settings)
        if not isinstance(scorer, TextScorer):
            raise TypeError(f"the model factory returned {type(scorer).__name__}, not a TextScorer")
        return scorer
    raise TypeError(f"model must be a name (e.g. 'toxicity'), a TextScorer or a factory, got {type(model).__name__}")


def model_name(model) -> str:
    """How a run's model is named in ``run.json``."""
    if isinstance(model, str):
        return redact_text(model)  # a served model's URL may carry credentials
    return str(getattr(model, "model_id", None) or getattr(model, "__qualname__", None) or type(model).__name__)


class RecordWorker:
    """Explains records with one loaded model, writing results into a run folder.

    Parameters
    ----------
    model : str, TextScorer or callable
        The model (loaded here, once).
    out : str or Path
        The run folder.
    settings : RunSettings
        The run's settings (picklable: Ray actors get them as they are).
    model_settings : dict, optional
        Passed to :func:`~spectrex.models.load_model` (``target``, ``contrast``, ``template``, ``device``…).
    """

    def __init__(self, model, out, settings: RunSettings, model_settings: dict | None = None) -> None:
        self.settings = settings
        self.store = RunStore(out)
        if isinstance(model, str) and model.lower() in IMAGE_MODELS:
            from .images import ImageExplainer

            self.images = ImageExplainer(model_settings, settings)
            self.scorer = None
            return
        self.images = None
        self.scorer = load_scorer(model, model_settings)

    # -- one record ------------------------------------------------------------------------
    def explain(self, record: Record, progress: Callable[[int, int], object] | bool = False) -> dict:
        """Explain ``record`` (or report why not) and return its index line."""
        t0 = time.perf_counter()
        base = {"id": record.id, "position": record.position, "digest": record.digest}
        if "label" in record.data:
            base["label"] = record.data["label"]
        if record.problem is not None:
            return {**base, "status": "invalid", "reason": record.problem, "seconds": 0.0}
        try:
            if self.images is not None:
                result = self.images.explain(record, self.store.cache_path(record.id), progress)
                return self._finish(record, result, base)
            scorer = self._scorer_for(record)
            content, parts = self._content(record)
            problem = self._too_long(scorer, content)
            if problem:
                return {**base, "status": "invalid", "reason": problem, "seconds": time.perf_counter() - t0}
            result = self._explain(record, scorer, content, parts, progress)
        except ServerDownError:
            raise  # not this record's fault: every later record would fail the same way; the run stops
        except ValueFunctionError as exc:  # the model failed on this record's inputs
            return {**base, "status": "error", "reason": _reason(exc), "seconds": time.perf_counter() - t0}
        except CacheError as exc:  # the record's cache file is unusable (the message says what to do)
            return {**base, "status": "error", "reason": _reason(exc), "seconds": time.perf_counter() - t0}
        except (SpectrexError, ValueError, TypeError, KeyError) as exc:  # the record does not fit the model
            return {**base, "status": "invalid", "reason": _reason(exc), "seconds": time.perf_counter() - t0}
        except Exception as exc:  # noqa: BLE001 - anything else the model raised (out of memory, …): next record
            reason = f"{type(exc).__name__}: {_reason(exc)}"
            return {**base, "status": "error", "reason": reason, "seconds": time.perf_counter() - t0}
        return self._finish(record, result, base)

    def _finish(self, record: Record, result, base: dict) -> dict:
        path = self.store.result_path(record.id)
        write_atomic(path, result.to_json())
        return entry_from_result(result, self.store.relative(path), base, top=self.settings.top)

    def _scorer_for(self, record: Record):
        """The loaded model with the record's own target, contrast and question (a copy: each record starts
        from the model as loaded, whatever an earlier record's :meth:`prepare` generated)."""
        data = record.data
        template = self._question_template(data.get("question"))
        return self.scorer.with_settings(target=data.get("target"), contrast=data.get("contrast"), template=template)

    def _question_template(self, question) -> str | None:
        """The prompt with the record's question in it (None: the model's own prompt stays)."""
        takes = "template" in self.scorer.adjustable
        current = (self.scorer.template or "{text}") if takes else None
        if question is None:
            if current is not None and "{question}" in current:
                raise ValueError("the prompt template has a {question} slot but this record has no 'question'")
            return None
        if current is None:
            model = self.scorer.model_id
            raise ValueError(f"'question' needs a language model with a prompt template; {model} has none")
        template = current if "{question}" in current else QUESTION_TEMPLATE
        return template.replace("{question}", str(question).replace("{", "{{").replace("}", "}}"))

    def _content(self, record: Record):
        if record.kind == "documents":
            return [d for d in record.data["documents"] if d.strip()], "documents"
        if record.kind == "image":
            raise ValueError(f"this record is an image, and {self.scorer.model_id} reads text")
        return record.data["text"], self.settings.parts

    def _too_long(self, scorer, content) -> str | None:
        count, limit, unit = scorer.input_length([content] if isinstance(content, str) else list(content))
        if limit is not None and count > limit:
            return (
                f"too long for the model: {count} {unit} and {scorer.model_id} reads {limit} "
                "(the parts beyond would have no effect); shorten the text or split it into records"
            )
        return None

    def _explain(self, record: Record, scorer, content, parts: str, progress):
        from ..engine import QueryCache
        from ..workflows import explain_text

        cache_path = self.store.cache_path(record.id)
        stored = 0
        if cache_path.exists():
            with QueryCache(cache_path) as cache:
                stored = cache.count()
        engine = self.settings.record_engine(cache=cache_path, progress=progress)
        try:
            result = explain_text(content, scorer, settings=self.settings.replace(parts=parts), engine=engine)
        finally:
            engine.close()
        stamp(result, record, stored_answers_at_start=stored)
        return result


def stamp(result, record: Record, **info) -> None:
    """Stamp a record's result with the record it explains (the one thing only the run knows): its id,
    position, kind, its own ``label`` / ``question`` as it has them, ``info``, and its digest, which a
    rerun checks before trusting the file."""
    from ..explanations import every
    from ..provenance import RecordInfo

    shown = {k: record.data[k] for k in ("label", "question") if k in record.data}
    for each in every(result):
        prov = each.provenance
        prov.record = RecordInfo(
            id=record.id, position=record.position, kind=record.kind, **info, digest=record.digest, extra=dict(shown)
        )
        if prov.source is not None:
            prov.source.title = f"record {record.id}"


def order_shares(result) -> dict[str, float] | None:
    """Share of the recovered function's variance over uniform random masks by interaction order.

    With ``f(m) = Σ_K F(K)·(-1)^{|K∩m|}`` the parity functions are orthonormal under uniform masks,
    so ``Var f = Σ_{K≠∅} F(K)²`` splits exactly into orders: ``{"1": …, "2": …, "3+": …}`` (sums to 1;
    None for a constant function).
    """
    from ..transforms import bitset

    four = result.transform.to_fourier()
    orders = bitset.popcount(four.supports)
    energy = four.coefs**2
    total = float(energy[orders > 0].sum())
    if not total > 0:
        return None
    return {
        "1": float(energy[orders == 1].sum()) / total,
        "2": float(energy[orders == 2].sum()) / total,
        "3+": float(energy[orders >= 3].sum()) / total,
    }


def _finite(x):
    return float(x) if isinstance(x, (int, float, np.floating)) and math.isfinite(float(x)) else None


def entry_from_result(result, file: str, base: dict, top: int = 10) -> dict:
    """The index line of a finished record, from its result alone (so it can be rebuilt from the file).

    A result of several outputs is indexed by its total (the whole sequence) or, without one, its first
    output; ``outputs`` adds each output's value, held-out R² and strongest interaction.
    """
    from ..explanations import Explanations
    from ..provenance import Counts

    if isinstance(result, Explanations):
        lead = result.total if result.total is not None else result.items[0]
        entry = entry_from_result(lead, file, base, top)
        entry["outputs"] = [
            {
                "name": name,
                "value": _finite(_full(each.provenance)),
                "faithfulness": _finite(each.provenance.faithfulness),
                "top": [{"parts": list(t.labels), "at": list(t.parts), "value": _finite(t.value)} for t in each.top(1)],
            }
            for name, each in zip(result.names, result.items)
        ]
        return entry
    prov = result.provenance
    counts, timings = prov.counts or Counts(), prov.timings
    return {
        **base,
        "status": "ok",
        "file": file,
        "n": result.n,
        "method": prov.method,
        "target": prov.source.target if prov.source is not None else None,
        "value": _finite(_full(prov)),
        "faithfulness": _finite(prov.faithfulness),
        # answers the explanation used, however many were served from the record's cache after a restart
        "queries": counts.sent + counts.cached + (prov.holdout.queries if prov.holdout is not None else 0),
        "queries_sent": counts.sent,
        "queries_cached": counts.cached,
        "seconds": _finite(timings.wall_s),
        "model_seconds": _finite(timings.model_s),
        "algorithm_seconds": _finite(timings.algorithm_s),
        "order_share": order_shares(result),
        "index": result.index,
        "top": [{"parts": list(t.labels), "at": list(t.parts), "value": _finite(t.value)} for t in result.top(top)],
    }


def _full(prov) -> float | None:
    """The model's own value on the full input, when the result says it."""
    return prov.source.full_value if prov.source is not None else None


def _reason(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text if len(text) <= 500 else text[:499] + "…"

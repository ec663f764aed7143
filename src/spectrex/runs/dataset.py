"""``explain_dataset``: explain every record of a dataset, resumably, in-process or on Ray actors."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..settings import RunSettings
from .progress import RunProgress
from .records import Record, read_records
from .store import RunStore
from .worker import RecordWorker, entry_from_result, model_name


@dataclass
class DatasetRun:
    """What a dataset run did.

    ``skipped``: records already finished by an earlier run into the same folder (not recomputed);
    ``explained``: records explained by this run; ``ok`` / ``invalid`` / ``failed``: the statuses of
    all records in the index after this run.
    """

    out: Path
    total: int
    ok: int
    invalid: int
    failed: int
    skipped: int
    explained: int
    seconds: float

    def results(self):
        """The run's index as a table (see :func:`spectrex.load_results`)."""
        from .results import load_results

        return load_results(self.out)


def explain_dataset(
    records,
    model="gemma-3-270m",
    *,
    out="results",
    method: str = RunSettings.method,
    budget: int | None = RunSettings.budget,
    max_order: int | None = RunSettings.max_order,
    parts: str = RunSettings.parts,
    masking: str = RunSettings.masking,
    holdout: int = RunSettings.holdout,
    seed: int = RunSettings.seed,
    top: int = RunSettings.top,
    target=None,
    contrast: str | None = None,
    template: str | None = None,
    device: str | None = None,
    per_token: bool = RunSettings.per_token,
    all_labels: bool = RunSettings.all_labels,
    grid: tuple[int, int] | None = RunSettings.grid,
    batch_size: int | str = RunSettings.batch_size,
    on_error: str = RunSettings.on_error,
    backend: str = RunSettings.backend,
    workers: int | None = RunSettings.workers,
    ray_address: str | None = None,
    actor_options: dict | None = None,
    progress=None,
    settings: RunSettings | None = None,
) -> DatasetRun:
    """Explain every record of a dataset; one result file per record plus ``index.jsonl`` in ``out``.

    The model is loaded once per worker. A rerun into the same folder skips the records that
    finished and resumes an interrupted one from its answer cache, so a run killed anywhere
    (SIGKILL included) and started again repeats no finished explanation and no stored query.
    Records that cannot be explained (malformed, empty, too long for the model, …) get an index
    line with status ``"invalid"`` and the reason; a record on which the model fails gets
    ``"error"``; the run goes on either way (and a rerun tries those again).

    Parameters
    ----------
    records : str, Path or iterable
        A JSONL / JSON / CSV file of records, or an iterable of dicts or strings (see
        :mod:`spectrex.runs.records` for the fields: ``text``, or ``documents`` + ``question``;
        optional ``id``, ``target``, ``contrast``, ``label``).
    model : str, TextScorer or callable
        A model name for :func:`~spectrex.models.load_model` (e.g. ``"toxicity"``), a loaded scorer
        (in-process only), or a factory ``(**model_settings) -> TextScorer`` (called once per worker).
    out : str or Path
        The run folder (created if missing; a rerun with other settings is refused).
    method, budget, max_order, seed
        As in :func:`spectrex.explain`; the same masks for every record of a given size.
    parts, masking, holdout
        As in :func:`spectrex.explain_text`.
    top : int, default 10
        Interactions kept per record in the index.
    target, contrast, template, device
        The model's settings for every record (a record's own ``target`` / ``contrast`` win).
    per_token, all_labels
        Several outputs per record from one set of queries: each token of a language model's target
        (and the whole sequence), or every label of a classifier; each result file is then an
        :class:`~spectrex.Explanations` and each index line lists its ``outputs``.
        ``model="efficientnet-lite0"`` explains image records (``target``: an ImageNet class index).
    grid : (rows, cols), optional
        Image records: the patch grid (default 3×3).
    batch_size, on_error
        The query engine's settings.
    backend : {"local", "threads", "async", "ray"}
        ``"ray"``: whole explanations on ``workers`` Ray actors, each loading the model once (one GPU
        each when the cluster has enough); a record whose actor dies is re-run on a new actor.
        ``"threads"`` / ``"async"``: records one at a time, each one's queries spread over
        ``workers`` concurrent calls (for remote model servers). ``"local"``: in-process.
    workers : int, optional
        Ray actors (default 2) or concurrent calls.
    ray_address : str, optional
        Join this Ray cluster (``"auto"``, ``"ray://host:10001"``). Without it a fresh local cluster
        is started — never one found in the environment — and stopped at the end.
    actor_options : dict, optional
        Passed to each actor's ``.options()`` (default ``{"num_cpus": 1}``, plus a GPU when present).
    progress : None, bool or callable(event dict)
        A bar on a terminal (None), always (True), never (False), or a callback.
    settings : RunSettings, optional
        The run's settings in one object, instead of the keywords ``method`` … ``workers`` (not both).

    Returns
    -------
    DatasetRun
        Counts and the folder; ``.results()`` loads the index as a table.
    """
    run = RunSettings.given(
        settings, method=method, budget=budget, max_order=max_order, parts=parts, masking=masking, holdout=holdout,
        seed=seed, top=top, per_token=per_token, all_labels=all_labels, grid=grid, batch_size=batch_size,
        on_error=on_error, backend=backend, workers=workers,
    )  # fmt: skip
    t0 = time.perf_counter()
    recs = read_records(records)[: run.limit]
    store = RunStore(out, clean=True)
    model_settings = {
        k: v for k, v in {"target": target, "contrast": contrast, "template": template}.items() if v is not None
    }
    # only when asked for: the settings (and so the reruns' check) of one-output runs stay as they were
    model_settings.update(run.model_flags())
    # what decides each record's result: a rerun with other values is refused
    store.check_settings(
        _jsonable({"model": model_name(model), "model_settings": model_settings, **run.result_settings()})
    )
    if device is not None:
        model_settings["device"] = device
    if isinstance(records, (str, Path)):  # image paths are read relative to the records file
        run = run.replace(records_dir=str(Path(records).expanduser().resolve().parent))
    todo, skipped = _resume(store, recs, run.top)
    bar = RunProgress(progress, total=len(recs), skipped=skipped)
    explained = 0
    try:
        # records that are bad as read need no model: report them first
        for rec in [r for r in todo if r.problem is not None]:
            store.append(
                {"id": rec.id, "position": rec.position, "status": "invalid", "reason": rec.problem, "seconds": 0.0}
            )
            bar.record_done(False)
        todo = [r for r in todo if r.problem is None]
        if todo and run.backend == "ray":
            from .distributed import run_on_ray

            for entry in run_on_ray(
                todo, model, out=store.root, settings=run, model_settings=model_settings,
                workers=run.workers or 2, address=ray_address, actor_options=actor_options,
            ):  # fmt: skip
                store.append(entry)
                explained += 1
                bar.record_done(entry["status"] == "ok")
        elif todo:
            worker = RecordWorker(model, store.root, run, model_settings)
            live = bar.live or callable(progress)
            for rec in todo:
                entry = worker.explain(rec, progress=bar.queries(rec.id) if live else False)
                store.append(entry)
                explained += 1
                bar.record_done(entry["status"] == "ok")
    finally:
        bar.close()
        store.compact([r.id for r in recs])
    index = store.read_index()
    status = [index.get(r.id, {}).get("status") for r in recs]
    return DatasetRun(
        out=store.root,
        total=len(recs),
        ok=status.count("ok"),
        invalid=status.count("invalid"),
        failed=status.count("error"),
        skipped=skipped,
        explained=explained,
        seconds=time.perf_counter() - t0,
    )


def _resume(store: RunStore, recs: list[Record], top: int) -> tuple[list[Record], int]:
    """The records still to do, and how many finished in an earlier run (their results are kept)."""
    from ..explanations import read_result

    index = store.read_index()
    todo, skipped = [], 0
    for rec in recs:
        path = store.result_path(rec.id)
        entry = index.get(rec.id)
        fresh = entry is not None and entry.get("digest") == rec.digest  # the record did not change since
        if rec.problem is None and path.exists():
            # a result file is trusted only when it reads back as this record's result: a damaged or
            # foreign one is explained again (its answers are in the record's cache), never skipped
            try:
                result = read_result(path)
                record = result.provenance.record
                same = record is not None and record.digest == rec.digest
            except (OSError, ValueError, KeyError, AttributeError, TypeError, RecursionError):
                same = False
            if same and fresh and entry.get("status") == "ok":
                skipped += 1
                continue
            if same:
                # finished, but killed before its index line was written: the result file is complete
                # (written atomically), so the line is rebuilt from it instead of explaining again
                base = {"id": rec.id, "position": rec.position, "digest": rec.digest}
                if "label" in rec.data:
                    base["label"] = rec.data["label"]
                store.append(entry_from_result(result, store.relative(path), base, top=top))
                skipped += 1
                continue
        todo.append(rec)
    return todo, skipped


def _jsonable(obj: Any):
    return json.loads(json.dumps(obj, default=str))

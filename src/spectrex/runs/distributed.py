"""Whole explanations on Ray actors: each actor loads the model once and explains one record at a time.

The driver hands out records, appends each returned index line, and replaces an actor that dies
(killed, out of memory, node lost): the record it held goes to the new actor, which resumes it from
the record's answer cache. Each record has its own SQLite cache file, so actors never write to the
same file; on a multi-node cluster the run folder must be on a file system every node sees.

Without an address a fresh local cluster is started (``address="local"``: never a cluster found
in the environment) and shut down at the end; with one (``"auto"``, ``"ray://…"``) the run joins it.
Inside a process that already called ``ray.init`` that session is used as it is.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

from ..engine.actors import ActorPool, import_ray, ray_init_local, spectrex_path
from ..errors import SpectrexError, WorkerLostError
from .records import Record

if TYPE_CHECKING:
    from ..settings import RunSettings

#: replacement actors per worker slot before the records still in flight are reported as failed
MAX_RESTARTS_PER_WORKER = 3


class _RecordActor:
    """Body of a Ray actor: one :class:`~spectrex.runs.worker.RecordWorker` (the model, loaded once)."""

    def __init__(self, model, out: str, settings: RunSettings, model_settings: dict) -> None:
        from .worker import RecordWorker

        self.worker = RecordWorker(model, out, settings, model_settings)

    def ready(self) -> int:
        return os.getpid()

    def explain(self, record: Record) -> dict:
        return self.worker.explain(record)


def _init(ray, address: str | None, workers: int) -> bool:
    """Start (or join) a cluster unless this process has one; True when this call started it."""
    if ray.is_initialized():
        return False
    kwargs: dict = {
        "address": address or "local",
        "include_dashboard": False,
        "log_to_driver": False,
        "configure_logging": False,
        "runtime_env": {"env_vars": {"PYTHONPATH": spectrex_path()}},  # actors import this very spectrex
    }
    if address is None:
        kwargs["num_cpus"] = max(int(workers), os.cpu_count() or 1)  # one CPU per actor, even on a small machine
    ray_init_local(ray, **kwargs)  # a local instance listens on 127.0.0.1 only
    return True


def _options(ray, workers: int, actor_options: dict | None) -> dict:
    if actor_options is not None:
        return dict(actor_options)
    opts: dict = {"num_cpus": 1}
    gpus = float(ray.cluster_resources().get("GPU", 0))
    if gpus >= 1:
        opts["num_gpus"] = 1 if gpus >= workers else gpus / workers  # a GPU each, or a fair share
    return opts


def run_on_ray(
    records: list[Record],
    model,
    *,
    out,
    settings: RunSettings,
    model_settings: dict,
    workers: int = 2,
    address: str | None = None,
    actor_options: dict | None = None,
) -> Iterator[dict]:
    """Explain ``records`` on ``workers`` actors; yields each record's index line as it finishes."""
    ray = import_ray()
    from ray.exceptions import RayActorError, WorkerCrashedError

    started = _init(ray, address, workers)
    pool = None
    try:
        actor = ray.remote(_RecordActor).options(**_options(ray, workers, actor_options))
        pool = ActorPool(
            ray, lambda: actor.remote(model, str(out), settings, model_settings), workers,
            max_restarts=MAX_RESTARTS_PER_WORKER,
        )  # fmt: skip
        try:
            pool.each("ready")
        except (RayActorError, WorkerCrashedError) as exc:  # the model could not load: so would it on every restart
            raise SpectrexError(f"the Ray workers could not load the model: {exc}") from exc
        # a dead actor's record goes to its replacement, which resumes it from the record's answer cache
        for rec, entry in pool.run("explain", ((rec, (rec,)) for rec in records)):
            yield entry if isinstance(entry, dict) else _failed(rec, entry)
    finally:
        if pool is not None:
            pool.close()
        if started:
            ray.shutdown()


def _failed(rec: Record, exc: BaseException) -> dict:
    """The index line of a record whose explanation failed outside the worker's own error handling."""
    if isinstance(exc, WorkerLostError):
        why = type(exc.__cause__ or exc).__name__
        reason = (
            f"the Ray worker explaining it died {exc.restarts} times in this run ({why}); "
            "check the workers' memory and logs (ray status), then run again to resume"
        )
    else:  # an error the worker did not turn into an index line
        reason = f"{type(exc).__name__}: {exc}"[:500]
    return {"id": rec.id, "position": rec.position, "status": "error", "reason": reason, "seconds": None}

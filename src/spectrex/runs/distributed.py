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
from pathlib import Path
from typing import TYPE_CHECKING

from ..engine.backends import import_ray, ray_init_local, ray_release
from ..errors import SpectrexError
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
    src = str(Path(__file__).resolve().parents[2])  # actors import this very spectrex, installed or not
    path = os.pathsep.join(filter(None, [src, os.environ.get("PYTHONPATH")]))
    kwargs: dict = {
        "address": address or "local",
        "include_dashboard": False,
        "log_to_driver": False,
        "configure_logging": False,
        "runtime_env": {"env_vars": {"PYTHONPATH": path}},
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
    from ray.exceptions import RayActorError, RayTaskError, WorkerCrashedError

    lost_types = (RayActorError, WorkerCrashedError)
    started = _init(ray, address, workers)
    actors: list = []
    refs: dict = {}
    try:
        opts = _options(ray, workers, actor_options)
        actor_cls = ray.remote(_RecordActor)

        def new_actor():
            return actor_cls.options(**opts).remote(model, str(out), settings, model_settings)

        actors = [new_actor() for _ in range(workers)]
        try:
            ray.get([a.ready.remote() for a in actors])
        except lost_types as exc:  # the model could not be loaded: the same would happen on every restart
            raise SpectrexError(f"the Ray workers could not load the model: {exc}") from exc
        queue = list(reversed(records))  # pop() from the end = input order
        restarts, budget = 0, MAX_RESTARTS_PER_WORKER * workers

        def submit(slot: int) -> None:
            rec = queue.pop()
            refs[actors[slot].explain.remote(rec)] = (slot, rec)

        for slot in range(workers):
            if queue:
                submit(slot)
        while refs:
            (ref,), _ = ray.wait(list(refs), num_returns=1)
            slot, rec = refs.pop(ref)
            try:
                entry = ray.get(ref)
            except lost_types as exc:
                if restarts < budget:
                    # the actor died: a new one takes its place and the record again (resuming from its cache)
                    try:
                        ray.kill(actors[slot])
                    except Exception:  # noqa: BLE001 - it is already gone
                        pass
                    actors[slot] = new_actor()
                    restarts += 1
                    queue.append(rec)
                    submit(slot)
                    continue
                entry = {
                    "id": rec.id,
                    "position": rec.position,
                    "status": "error",
                    "reason": f"the Ray worker explaining it died {restarts} times in this run ({type(exc).__name__}); "
                    "check the workers' memory and logs (ray status), then run again to resume",
                    "seconds": None,
                }
            except RayTaskError as exc:  # an error the worker did not turn into an index line
                cause = getattr(exc, "cause", None) or exc
                entry = {"id": rec.id, "position": rec.position, "status": "error",
                         "reason": f"{type(cause).__name__}: {cause}"[:500], "seconds": None}  # fmt: skip
            yield entry
            if queue:
                submit(slot)
    finally:
        ray_release(ray, refs, actors)
        if started:
            ray.shutdown()

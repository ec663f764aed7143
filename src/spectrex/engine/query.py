"""The query engine: every estimator's masks reach the model through here.

``QueryEngine`` holds the settings; ``engine.bind(value_fn, n)`` returns a ``Query`` — a plain
callable ``masks -> values`` that removes duplicate masks (within a call and across calls),
answers what it already knows from memory or the on-disk cache, sends the rest to the model in
batches through a back-end, validates the answers under the contract, stores each batch as it
arrives, and counts what it did.

Masks are handled as bit-packed rows (:mod:`spectrex.transforms.bitset`) viewed as fixed-width
byte strings, so de-duplication and look-ups are numpy sorts and binary searches, never a Python
loop over rows.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ..contract import check_masks, check_outputs, declared_outputs
from ..errors import CacheError, PartialResultError, ServerDownError, ValueFunctionError
from ..transforms import bitset
from ..validate import is_whole
from .answers import answer_file, prune, touch
from .backends import Backend, LocalBackend, WorkerLostError, is_retryable, make_backend
from .cache import QueryCache
from .progress import Progress

#: ``batch_size="auto"``: the largest batch without a GPU, the first batch without one, the first with one
DEFAULT_BATCH = 256
AUTO_CPU_START = 8
AUTO_GPU_START = 1024
#: ``"auto"`` doubles the batch while one takes less than GROW_BELOW seconds and halves it above
#: SHRINK_ABOVE, so that answers reach the cache every few seconds whatever the model's speed
GROW_BELOW = 1.0
SHRINK_ABOVE = 4.0

ON_ERROR = ("raise", "drop")
#: the engine's defaults, stated once (the run settings and the CLI refer to these)
DEFAULT_ON_ERROR = "raise"
DEFAULT_BATCH_SIZE = "auto"


@dataclass
class QueryStats:
    """What a bound query did.

    ``requested``: rows asked for; ``sent``: unique rows answered by the model; ``cached``: unique
    rows served without the model (``cached_disk`` of them from the on-disk cache, the rest asked
    earlier in this run); ``dropped``: rows that failed twice and were left out (``on_error="drop"``);
    ``retried_rows``: rows re-sent after a failure; ``model_seconds``: wall time spent waiting on the model.
    """

    requested: int = 0
    sent: int = 0
    cached: int = 0
    cached_disk: int = 0
    dropped: int = 0
    retried_rows: int = 0
    batches: int = 0
    model_seconds: float = 0.0

    def as_dict(self) -> dict:
        return asdict(self)


@contextlib.contextmanager
def _sigint_deferred():
    """Hold Ctrl-C while the block runs; one that arrives meanwhile is acted on right after it.

    Python runs signal handlers in the main thread whichever thread the OS delivered the signal to,
    so blocking SIGINT in the main thread (``pthread_sigmask``) is not enough once worker threads
    exist: the handler itself is swapped for one that only records the signal.
    """
    if threading.current_thread() is not threading.main_thread():
        yield  # Ctrl-C is raised in the main thread only: nothing to hold here
        return
    got: list = []
    try:
        previous = signal.signal(signal.SIGINT, lambda signum, frame: got.append(frame))
    except ValueError:  # not the main interpreter
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if got:
            if callable(previous):
                previous(signal.SIGINT, got[0])  # Python's default handler raises KeyboardInterrupt
            elif previous == signal.SIG_DFL:
                signal.raise_signal(signal.SIGINT)


def _as_keys(bits: np.ndarray) -> np.ndarray:
    """View ``(q, w)`` uint64 rows as ``(q,)`` fixed-width byte strings (sortable, comparable)."""
    bits = np.ascontiguousarray(bits, dtype=np.uint64)
    return bits.view(np.dtype((np.void, 8 * bits.shape[1]))).reshape(-1)


class _Memo:
    """Known (mask → answers) pairs as a sorted key array: vectorised look-up and merge.

    ``values`` is ``(k, m)``: ``m`` outputs per mask (1 for a plain value function), fixed by the
    first answers added.
    """

    def __init__(self, words: int) -> None:
        self.keys = _as_keys(np.zeros((0, words), dtype=np.uint64))
        self.values: np.ndarray | None = None
        self.disk = np.zeros(0, dtype=bool)

    @property
    def width(self) -> int | None:
        return None if self.values is None else int(self.values.shape[1])

    def lookup(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
        """(found, values ``(len(keys), m)`` or None while empty, from_disk) for sorted or unsorted ``keys``."""
        if self.keys.size == 0 or keys.size == 0:
            z = np.zeros(keys.size, dtype=bool)
            return z, None, z
        pos = np.searchsorted(self.keys, keys)
        pos[pos == self.keys.size] = 0
        found = self.keys[pos] == keys
        return found, self.values[pos], self.disk[pos] & found

    def add(self, keys: np.ndarray, values: np.ndarray, disk: bool = False) -> None:
        if keys.size == 0:
            return
        values = np.asarray(values, dtype=np.float64).reshape(keys.size, -1)
        if self.values is None:
            self.values = np.zeros((0, values.shape[1]))
        order = np.argsort(keys)
        keys, values = keys[order], values[order]
        # linear-time insertion of a few sorted keys into many (no full re-sort per call)
        pos = np.searchsorted(self.keys, keys)
        self.keys = np.insert(self.keys, pos, keys)
        self.values = np.insert(self.values, pos, values, axis=0)
        self.disk = np.insert(self.disk, pos, disk)

    def __len__(self) -> int:
        return int(self.keys.size)


def _describe_mask(mask: np.ndarray, limit: int = 12) -> str:
    kept = np.flatnonzero(mask)
    if kept.size == mask.size:
        return "all parts kept"
    if kept.size == 0:
        return "no part kept"
    shown = ", ".join(str(int(i)) for i in kept[:limit])
    return f"parts kept {{{shown}{', …' if kept.size > limit else ''}}} ({kept.size} of {mask.size})"


class _Answers:
    """The answers of one evaluation: ``(rows, m)`` floats, NaN until answered; shaped by the first answer
    when the number of outputs is not known yet."""

    def __init__(self, rows: int, width: int | None) -> None:
        self.rows = rows
        self.array = None if width is None else np.full((rows, width), np.nan)

    def set(self, idx: np.ndarray, vals: np.ndarray) -> None:
        if self.array is None:
            self.array = np.full((self.rows, vals.shape[1]), np.nan)
        self.array[idx] = vals

    def answered(self, rows: np.ndarray) -> bool:
        """Whether any of ``rows`` has its answers (its batch was stored)."""
        return self.array is not None and bool(np.isfinite(self.array[rows]).all(axis=1).any())

    def missing(self) -> np.ndarray:
        if self.array is None:
            return np.ones(self.rows, dtype=bool)
        return ~np.isfinite(self.array).all(axis=1)

    def result(self, width: int | None) -> np.ndarray:
        return self.array if self.array is not None else np.full((self.rows, width or 1), np.nan)


@dataclass
class _Round:
    """What one round of the failure path gathers (:meth:`Query._evaluate`): a first pass over rows of
    ``masks``, then one retry pass of the groups that failed.

    ``out`` holds the answers of every round; ``keys``/``vals``, the answers new to the memo (added
    after each pass); ``suspect``, the groups of rows to retry once; ``errors``, what each failed row
    raised; ``bad``, the rows that failed also when retried (why, in words); ``stopped``, whether a
    failure stopped the first pass before every row was sent.
    """

    masks: np.ndarray
    bits: np.ndarray
    out: _Answers
    keys: list = field(default_factory=list)
    vals: list = field(default_factory=list)
    suspect: list = field(default_factory=list)
    errors: dict = field(default_factory=dict)
    bad: dict = field(default_factory=dict)
    stopped: bool = False


def _fn_name(fn) -> str:
    return getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or type(fn).__name__


def resolve_fingerprint(value_fn, cache_key=None) -> tuple[str, str]:
    """The (function, input) fingerprints that key a value function's answers in the cache.

    ``cache_key`` (a string, or a ``(function, input)`` pair) wins; otherwise the value function's
    ``fingerprint`` attribute (a string), with its optional ``input_fingerprint``.
    """
    if cache_key is not None:
        if isinstance(cache_key, str) and cache_key:
            return cache_key, ""
        if isinstance(cache_key, tuple) and len(cache_key) == 2 and all(isinstance(c, str) for c in cache_key):
            return cache_key
        raise TypeError(
            f"cache_key must be a non-empty string or a (function, input) pair of strings; got {cache_key!r}"
        )
    for obj in (value_fn, getattr(value_fn, "__self__", None)):
        fp = getattr(obj, "fingerprint", None) if obj is not None else None
        if callable(fp) and not isinstance(fp, str):
            fp = fp()
        if isinstance(fp, str) and fp:
            inp = getattr(obj, "input_fingerprint", "")
            if callable(inp) and not isinstance(inp, str):
                inp = inp()
            return fp, str(inp or "")
    raise CacheError(
        f"cannot cache the value function {_fn_name(value_fn)!r}: it has no `fingerprint`, so answers stored for it "
        "could later be served to a different model or input. Give it one (value_fn.fingerprint = 'my-model@rev1', "
        "changed whenever the model or its settings change) or pass cache_key='...' (also naming the input)"
    )


class Query:
    """A value function bound to an engine for one explanation of ``n`` parts.

    Call it with a boolean ``(q, n)`` array; it returns ``(q,)`` floats. Rows dropped after failing
    twice (``on_error="drop"``) come back as NaN.
    """

    def __init__(self, engine: QueryEngine, value_fn, n: int) -> None:
        if not callable(value_fn):
            raise TypeError(f"value_fn must be callable (masks -> floats), got {type(value_fn).__name__}")
        self.engine, self.value_fn, self.n = engine, value_fn, n
        #: output names when the function declares them; ``width`` (outputs per mask) is known from
        #: them, from the cache, or from the first answer
        self.outputs = declared_outputs(value_fn)
        self.width: int | None = None if self.outputs is None else len(self.outputs)
        self.stats = QueryStats()
        self.words = bitset.n_words(n)
        self._memo = _Memo(self.words)
        self.backend: Backend = engine.backend
        self.batch_size = engine.resolve_batch_size(value_fn)
        self._auto = engine.batch_size == "auto"
        self._cap = engine.auto_limit() if self._auto else self.batch_size
        self.largest_batch = 0
        self.progress = Progress(engine.progress, eta=engine.tell_eta)
        self.cache: QueryCache | None = None
        self._ns: int | None = None
        self._own_cache = False
        keys = None
        if engine.cache is not None:
            keys = resolve_fingerprint(value_fn, engine.cache_key)
            self.cache = engine.open_cache()
        elif engine.cache_folder is not None:
            keys = self._open_folder_cache(engine.cache_folder, value_fn, n)
        if keys is not None:
            fn_fp, in_fp = keys
            self._ns = self.cache.namespace(fn_fp, in_fp, n)
            bits, values = self.cache.load(self._ns, self.words)
            if len(values):
                self._width(values.shape[1], "the answers stored in the cache")
            self._memo.add(_as_keys(bits), values, disk=True)
            if len(values) and engine.progress is None and not engine._kept_told and not engine.stored_answers:
                from .. import console

                engine._kept_told = True  # once per engine (a run binds the same function more than once)
                console.note(f"{len(values):,} answers kept from an earlier run are used (not asked again)")
            self.fingerprint = (fn_fp, in_fp)

    def _open_folder_cache(self, folder, value_fn, n: int) -> tuple[str, str] | None:
        """Open this value function's own file in the engine's answer folder (None: it has no fingerprint)."""
        try:
            keys = resolve_fingerprint(value_fn, self.engine.cache_key)
        except CacheError:
            return None  # nothing identifies its answers: keeping them could serve them to another model
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = answer_file(folder, *keys, n)
        prune(folder, keep=path)
        self.cache = QueryCache(path)
        self._own_cache = True
        touch(path)
        self.engine.cache_files.append(path)
        return keys

    def known(self, masks) -> np.ndarray:
        """The answers already known (memory or cache) for ``masks``, shaped as :meth:`__call__` returns them;
        NaN where none is — the model is not asked."""
        masks = check_masks(masks, self.n)
        found, values, _ = self._memo.lookup(_as_keys(bitset.pack(masks)))
        out = np.full((masks.shape[0], self.width or 1), np.nan)
        if values is not None:
            out[found] = values[found]
        return out if self.multi else out[:, 0]

    def expect(self, total: int | None) -> None:
        """Tell the progress bar how many queries the whole run will ask for (e.g. the budget)."""
        self.progress.set_total(total)

    @property
    def multi(self) -> bool:
        """Whether answers are ``(q, m)`` (declared outputs, or more than one per mask) rather than ``(q,)``."""
        return self.outputs is not None or (self.width or 1) > 1

    def _width(self, width: int, where: str) -> None:
        if self.width is None:
            self.width = int(width)
        elif width != self.width:
            raise ValueFunctionError(
                f"{where} have {width} outputs per mask, but the value function ({_fn_name(self.value_fn)}) "
                f"has {self.width}; it must return the same outputs for every mask"
            )

    def _checked(self, result, q: int) -> np.ndarray:
        """The contract's shape rules (never broadcast; NaN/inf are left to the caller): ``(q, m)`` floats."""
        vals = check_outputs(result, q, self.width, what=f"the value function ({_fn_name(self.value_fn)})")
        self._width(vals.shape[1], "its answers")
        return vals

    def __call__(self, masks) -> np.ndarray:
        """Answers for ``masks``: ``(q,)`` floats, or ``(q, m)`` for a multi-output value function."""
        masks = check_masks(masks, self.n)
        q = masks.shape[0]
        self.stats.requested += q
        if q == 0:
            return np.zeros((0, self.width)) if self.multi else np.zeros(0)
        bits = bitset.pack(masks)
        keys = _as_keys(bits)
        uniq, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
        found, known, disk = self._memo.lookup(uniq)
        self.stats.cached += int(found.sum())
        self.stats.cached_disk += int(disk.sum())
        todo = np.flatnonzero(~found)
        new = None
        if todo.size:
            rows = first[todo]
            new = self._evaluate(masks[rows], bits[rows], rows)
        values = np.full((uniq.size, self.width or 1), np.nan)
        if known is not None and found.any():
            values[found] = known[found]
        if new is not None:
            values[todo] = new
        values = values[inverse.reshape(-1)]
        return values if self.multi else values[:, 0]

    # -- the model -------------------------------------------------------------------------------
    def _evaluate(self, masks: np.ndarray, bits: np.ndarray, origin: np.ndarray) -> np.ndarray:
        """Answer unique, unknown masks; store good answers batch by batch; handle failures.

        Each round is a first pass over the rows, then one retry pass of the groups that failed:
        what fails again is dropped or reported. When a failure stopped the first pass early
        (``on_error="raise"``) and the retry answered it, the next round carries on with the rows
        not sent.
        """
        out = _Answers(masks.shape[0], self.width)
        todo = np.arange(masks.shape[0])
        while todo.size:
            r = _Round(masks, bits, out)
            self.progress.expect(todo.size)
            self._pass(r, self._cut(todo), final=False)
            retried = np.concatenate(r.suspect) if r.suspect else todo[:0]
            if r.suspect:
                self.stats.retried_rows += retried.size
                self._pass(r, enumerate(r.suspect), final=True)
            self._settle(r, origin)
            # a stopped round whose failure proved transient: the rows it did not send are next
            todo = np.flatnonzero(out.missing() & ~np.isin(np.arange(out.rows), retried)) if r.stopped else todo[:0]
        return out.result(self.width)

    def _cut(self, rows: np.ndarray):
        """The first pass's batches ``(id, rows)``, cut lazily: under ``batch_size="auto"`` each batch's
        size follows how long the last one took."""
        lo, bid = 0, 0
        while lo < rows.size:
            hi = min(rows.size, lo + self.batch_size)
            yield bid, rows[lo:hi]
            lo, bid = hi, bid + 1

    def _pass(self, r: _Round, batches, final: bool) -> None:
        """Send ``batches`` (``(id, rows)``) through the back-end and file each outcome in ``r``.

        The first pass (``final=False``) queues what failed for a retry; the retry pass records it as
        bad. A server that is down ends the run; an interrupt keeps every answer that reached us.
        """
        spans: dict[int, np.ndarray] = {}

        def send():
            for bid, rows in batches:
                spans[bid] = rows
                yield bid, r.masks[rows]

        gen = self.backend.run(self.value_fn, send())
        t0 = last = time.perf_counter()
        down = None
        try:
            for bid, result in gen:
                now, rows = time.perf_counter(), spans[bid]
                if not final:
                    self.stats.batches += 1
                    self.largest_batch = max(self.largest_batch, rows.size)
                down = _server_down(result)
                if down is not None:
                    # every further request would fail the same way: keep what was answered, stop now
                    if isinstance(result, PartialResultError):
                        self._partial(r, rows, result, final)
                    gen.close()
                    self._keep_drained(r, spans)
                    break
                if self._take(r, rows, result, final) and not final:
                    self._resize(now - last, rows.size)
                    last = now
                if r.stopped and not final:  # the retry pass sends every suspect row once, whatever failed before
                    gen.close()
                    self._keep_drained(r, spans)  # batches that were under way: kept, not asked again
                    break
        except KeyboardInterrupt:
            gen.close()  # then keep the batches that finished while stopping
            self._keep_drained(r, spans)
            raise
        finally:
            gen.close()
            self.stats.model_seconds += time.perf_counter() - t0
            self._memo.add(*_flush(r.keys, r.vals))
            r.keys, r.vals = [], []
        if down is not None:
            self._stop_server_down(down)

    def _take(self, r: _Round, rows: np.ndarray, result, final: bool) -> bool:
        """File one batch's outcome in ``r``; True when it was an answer to every row (not a failure)."""
        if isinstance(result, BaseException):
            if isinstance(result, (KeyboardInterrupt, SystemExit)):
                raise result
            if not (isinstance(result, PartialResultError) and self._partial(r, rows, result, final)):
                self._failed(r, rows, result, final)
            return False
        vals = self._checked(result, rows.size)
        ok = np.isfinite(vals).all(axis=1)
        self._accept(r, rows[ok], vals[ok])
        for i, x in zip(rows[~ok], vals[~ok]):
            if final:
                r.bad[int(i)] = f"returned {x[0] if x.size == 1 else x.tolist()} (NaN or inf, also when retried)"
            else:
                r.suspect.append(np.array([i]))
        return True

    def _failed(self, r: _Round, rows: np.ndarray, exc: BaseException, final: bool) -> None:
        """A batch that raised: its rows are retried (first pass) or bad (retry pass)."""
        for i in rows:
            r.errors[int(i)] = exc
            if final:
                r.bad[int(i)] = f"raised {type(exc).__name__}: {exc}"
        if final:
            return
        # a server that kept failing is not the rows' fault: retry the batch whole, once;
        # anything else may be one bad row: retry each row alone, once, to name it
        whole = is_retryable(exc) or isinstance(exc, WorkerLostError) or getattr(exc, "exhausted", False)
        r.suspect.extend([rows] if whole else list(rows[:, None]))
        if self.engine.on_error == "raise":
            r.stopped = True  # retry and report what failed; send nothing new

    def _partial(self, r: _Round, rows: np.ndarray, result: PartialResultError, final: bool) -> bool:
        """A batch that was partly answered: keep the answers; each failed row is retried alone (first
        pass) or bad (retry pass). False when its answers are malformed (then it counts as a failure)."""
        try:
            vals = self._checked(result.values, rows.size)
        except ValueFunctionError:
            return False
        ok = np.isfinite(vals).all(axis=1)
        self._accept(r, rows[ok], vals[ok])
        for j in np.flatnonzero(~ok):
            err = result.errors.get(int(j), result)
            r.errors[int(rows[j])] = err
            if final:
                r.bad[int(rows[j])] = f"raised {type(err).__name__}: {err}"
            else:
                r.suspect.append(rows[j : j + 1])
        return True

    def _keep_drained(self, r: _Round, spans: dict[int, np.ndarray]) -> None:
        """Keep the answers the back-end hands over after the engine stopped reading (:meth:`Backend.drain`)."""
        for bid, result in self.backend.drain():
            if bid not in spans or isinstance(result, BaseException) and not isinstance(result, PartialResultError):
                continue
            rows = spans[bid]
            if r.out.answered(rows):
                continue  # the engine took this batch and stored it before the interrupt
            try:
                vals = result.values if isinstance(result, PartialResultError) else result
                vals = self._checked(vals, rows.size)
            except Exception:  # noqa: BLE001 - a malformed late answer is simply not kept
                continue
            ok = np.isfinite(vals).all(axis=1)
            self._accept(r, rows[ok], vals[ok])

    def _accept(self, r: _Round, idx: np.ndarray, vals: np.ndarray) -> None:
        if idx.size == 0:
            return
        with _sigint_deferred():  # stored and counted together: Ctrl-C lands before or after, never between
            r.out.set(idx, vals)
            if self.cache is not None:
                self.cache.store(self._ns, r.bits[idx], vals)  # committed now: a kill loses only the batch in flight
                self.engine.stored_answers += int(idx.size)
        r.keys.append(_as_keys(r.bits[idx]))
        r.vals.append(vals)
        self.stats.sent += idx.size
        self.progress.advance(idx.size)

    def _settle(self, r: _Round, origin: np.ndarray) -> None:
        """The rows that failed also when retried: left out (``on_error="drop"``) or reported."""
        if not r.bad:
            return
        rows = np.array(sorted(r.bad))
        if self.engine.on_error == "drop":
            self.stats.dropped += rows.size
            return
        lines = [f"  mask row {int(origin[i])} ({_describe_mask(r.masks[i])}): {r.bad[int(i)]}" for i in rows[:8]] + (
            [f"  … and {rows.size - 8} more"] if rows.size > 8 else []
        )
        stored = f"; the {self.stats.sent:,} answers received so far are stored in the cache" if self.cache else ""
        cause = next((r.errors[int(i)] for i in rows if int(i) in r.errors), None)
        raise ValueFunctionError(
            f"the value function ({_fn_name(self.value_fn)}) failed on {rows.size} mask(s), also when retried once:\n"
            + "\n".join(lines)
            + f"\nThe run stopped{stored}. Fix the model (or its input) and run again, "
            "or pass on_error='drop' to leave these masks out",
            rows=origin[rows],
        ) from cause

    def _stop_server_down(self, down: ServerDownError):
        """Stop the run: the server is gone; say how many answers are stored for a rerun to resume from."""
        if self.cache is not None:
            kept = f"{len(self._memo):,} answers are stored in the cache ({self.cache.path}), rerun to resume"
        else:
            kept = f"the {self.stats.sent:,} answers received are not stored (no cache): pass a cache to resume later"
        raise ServerDownError(f"{down}; {kept} once it answers again") from down

    def _resize(self, seconds: float, size: int) -> None:
        """``batch_size="auto"``: grow while batches are quick, shrink when one is slow (commits stay frequent)."""
        if not self._auto or size < self.batch_size:
            return
        if seconds < GROW_BELOW and self.batch_size < self._cap:
            self.batch_size = min(self._cap, 2 * self.batch_size)
        elif seconds > SHRINK_ABOVE and self.batch_size > 1:
            self.batch_size = max(1, self.batch_size // 2)

    def close(self) -> None:
        """Stop the progress bar (the engine keeps its cache and back-end for the next bind)."""
        self.progress.close()
        if self._own_cache and self.cache is not None:
            self.cache.close()
            self.cache, self._own_cache = None, False

    def describe(self) -> dict:
        d = {"batch_size": self.engine.batch_size, "largest_batch": self.largest_batch, **self.backend.describe()}
        if self.cache is not None:
            d["cache"] = str(self.cache.path)
        return d


def _server_down(result) -> ServerDownError | None:
    """The :class:`ServerDownError` a batch's outcome holds (itself or one of its rows' errors), if any."""
    if isinstance(result, ServerDownError):
        return result
    if isinstance(result, PartialResultError):
        return next((e for e in result.errors.values() if isinstance(e, ServerDownError)), None)
    cause = getattr(result, "__cause__", None)
    return cause if isinstance(cause, ServerDownError) else None


def _flush(keys: list, vals: list) -> tuple[np.ndarray, np.ndarray]:
    if not keys:
        return np.zeros(0, dtype=np.uint8), np.zeros((0, 1))
    return np.concatenate(keys), np.concatenate(vals)


def _cuda_in_use() -> bool:
    torch = sys.modules.get("torch")  # a torch model implies torch is imported already
    if torch is None:
        return False
    try:
        return bool(torch.cuda.is_available())
    except Exception:  # noqa: BLE001 - a broken CUDA setup means no GPU sizing
        return False


def check_batch_size(batch_size) -> int | str:
    """``"auto"`` or a positive integer (as an int); else ``ValueError``."""
    if batch_size == "auto":
        return batch_size
    if not is_whole(batch_size, 1):
        raise ValueError(f"batch_size must be a positive integer or 'auto', got {batch_size!r}")
    return int(batch_size)


def check_on_error(on_error) -> str:
    """One of :data:`ON_ERROR`; else ``ValueError``."""
    if on_error not in ON_ERROR:
        raise ValueError(f"on_error must be 'raise' or 'drop', got {on_error!r}")
    return on_error


class QueryEngine:
    """Settings for running masks through a value function.

    Parameters
    ----------
    batch_size : int or "auto", default "auto"
        Masks per call of the value function — for the text models, exactly one forward pass.
        ``"auto"``: without a GPU, start at 8 masks and double while a batch takes under a second
        (up to 256), halving when one takes over 4 s, so answers reach the cache every few seconds;
        with torch on a GPU, start at ``max_batch_size`` and halve on CUDA out-of-memory until a
        batch fits (and when a batch takes over 4 s).
    cache : str, Path or QueryCache, optional
        SQLite file of answers shared across runs (see :mod:`spectrex.engine.cache`).
    cache_folder : str or Path, optional
        A folder of answer caches, one file per value function and input (named by their
        fingerprints; see :mod:`spectrex.engine.answers`), bounded in size and age; used when
        ``cache`` is not given. Value functions without a ``fingerprint`` are not cached.
    cache_key : str or (str, str), optional
        Identity of the value function (and its input) in the cache, for functions without a
        ``fingerprint`` attribute. It must change whenever the model, its settings or the input change.
    backend : "local", "threads", "async", "ray" or a Backend, default "local"
        Where batches run.
    workers : int, optional
        Threads / concurrent calls / Ray actors for the named back-ends.
    progress : None, bool or callable(done, total)
        Progress bar on a terminal for long runs (``None``), never (``False``), or a callback. Unless
        ``False`` (or a callback), the first long run also says, after its first batch, how long the
        rest will take (a note on stderr, once per engine).
    hint : str, optional
        Added to that estimate: what makes the run cheaper (the CLI names its flag).
    on_error : "raise" or "drop", default "raise"
        What to do with rows that fail (raise, or return NaN/inf) twice: stop with an error naming
        them, or leave them out (they come back as NaN and are counted in ``stats.dropped``).
    max_batch_size : int, default 1024
        Starting batch size of ``"auto"`` on a GPU.
    """

    def __init__(
        self,
        batch_size: int | str = DEFAULT_BATCH_SIZE,
        *,
        cache=None,
        cache_folder=None,
        cache_key=None,
        backend="local",
        workers: int | None = None,
        progress=None,
        hint: str | None = None,
        on_error: str = DEFAULT_ON_ERROR,
        max_batch_size: int = AUTO_GPU_START,
    ) -> None:
        batch_size = check_batch_size(batch_size)
        check_on_error(on_error)
        if not is_whole(max_batch_size, 1):
            raise ValueError(f"max_batch_size must be a whole number, at least 1, got {max_batch_size!r}")
        self.batch_size = batch_size
        self.max_batch_size = int(max_batch_size)
        self.cache_path = None if cache is None or isinstance(cache, QueryCache) else Path(cache)
        self._cache = cache if isinstance(cache, QueryCache) else None
        if cache_key is not None:
            resolve_fingerprint(None, cache_key)  # checks its type now, not at the first bind
        self.cache_key = cache_key
        self.backend = make_backend(backend, workers)
        self.progress = progress
        self.on_error = on_error
        #: answers this engine wrote to its cache (what an interrupted run keeps)
        self.stored_answers = 0
        self.cache_folder = None if cache_folder is None else Path(cache_folder)
        self.hint = hint
        self._eta_told = False
        self._kept_told = False
        #: the files of ``cache_folder`` this engine opened
        self.cache_files: list[Path] = []
        Progress(progress)  # validate now, not mid-run

    def tell_eta(self, line: str) -> str | None:
        """The time estimate of the first long run with the hint, once per engine (None after)."""
        if self._eta_told:
            return None
        self._eta_told = True
        return line + (f"; {self.hint}" if self.hint else "")

    @property
    def cache(self):
        return self._cache if self._cache is not None else self.cache_path

    def open_cache(self) -> QueryCache:
        """The engine's cache, opened on first use."""
        if self._cache is None:
            if self.cache_path is None:
                raise CacheError("this engine has no cache; pass cache=PATH")
            self._cache = QueryCache(self.cache_path)
        return self._cache

    def resolve_batch_size(self, value_fn=None) -> int:
        if self.batch_size != "auto":
            return self.batch_size
        if isinstance(self.backend, LocalBackend) and _cuda_in_use():
            return self.max_batch_size  # the local back-end halves it on out-of-memory
        return AUTO_CPU_START

    def auto_limit(self) -> int:
        """The largest batch ``batch_size="auto"`` grows to."""
        if isinstance(self.backend, LocalBackend) and _cuda_in_use():
            return self.max_batch_size
        return DEFAULT_BATCH

    def bind(self, value_fn, n: int) -> Query:
        """A :class:`Query` for ``value_fn`` over ``n`` parts (opens the cache and loads its answers)."""
        return Query(self, value_fn, n)

    def close(self) -> None:
        """Close the cache file and stop back-end workers."""
        if self._cache is not None and self.cache_path is not None:
            self._cache.close()
            self._cache = None
        self.backend.close()

    def __enter__(self) -> QueryEngine:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

"""`Interactions`: the result of every explanation.

It holds the recovered sparse transform (the source of truth: it predicts the model's output on
any mask) and a view of it in one interaction index. ``to()`` re-expresses the same transform in
another index; nothing is lost in the process.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, NamedTuple

import numpy as np

from .contract import check_masks, check_values, evaluate
from .design.uniform import uniform_masks
from .metrics import r2_score
from .provenance import Provenance
from .transforms import bitset
from .transforms.indices import canonical_index, convert
from .transforms.residual import ResidualSample, corrections, shrink, thin_orders
from .transforms.sparse import SparseTransform
from .validate import check_whole, is_whole

SCHEMA = "spectrex.interactions/1"


class Term(NamedTuple):
    """One interaction: the parts (indices), their labels, the value, and the index it is expressed in."""

    parts: tuple[int, ...]
    labels: tuple[str, ...]
    value: float
    index: str = ""


class Interactions:
    """Sparse interactions of a value function over ``n`` parts.

    Parameters
    ----------
    transform : SparseTransform
        The recovered function (Fourier or Möbius basis).
    index : str, default "Moebius"
        The index the ``values`` are expressed in (see :data:`spectrex.transforms.INDICES`).
    max_order : int, optional
        Highest interaction order of the index view (default: the transform's).
    labels : sequence of str, optional
        One label per part (e.g. the words); defaults to ``"0"``, ``"1"``, ….
    metadata : Provenance or dict, optional
        How the result was made (method, budget, queries, seed, timings, the model, …): a
        :class:`~spectrex.provenance.Provenance`, or its flat dict (as in a result file).
    residual : ResidualSample, optional
        The transform's residuals at the queried masks; with it, the views of orders ≤ 2 of SV, BV,
        SII, BII, STII, k-SII and FBII are corrected beyond the transform (see
        :mod:`spectrex.transforms.residual`: consistent, exact once every mask was queried).

    Attributes
    ----------
    supports : ndarray (s, w) uint64
        Bit-packed subsets of the index view.
    values : ndarray (s,)
        Index values, one per support.
    std_errors : ndarray (s,)
        Standard error of each value (NaN where none is known: values read from the transform alone; 0 for
        every value of a result that answered every mask and reproduces it).
    sources : dict
        Which estimate each order of the view comes from: ``"surrogate"`` (the transform's exact index),
        ``"surrogate + residual"`` (corrected by the residual sample), ``"surrogate ± residual"`` (the
        surrogate's, with a standard error from a residual sample too thin to correct it:
        :func:`~spectrex.transforms.residual.thin_orders`) or ``"shrunk surrogate ± residual"`` (a thin order
        of pairs: the surrogate's values shrunk by their standard errors,
        :func:`~spectrex.transforms.residual.shrink`).
    provenance : Provenance
        How the result was made, typed; :attr:`metadata` is its read-only flat view.
    """

    def __init__(
        self,
        transform: SparseTransform,
        index: str = "Moebius",
        max_order: int | None = None,
        labels=None,
        metadata: Provenance | dict[str, Any] | None = None,
        residual: ResidualSample | None = None,
    ) -> None:
        self.transform = transform
        self.n = transform.n
        self.index = canonical_index(index)
        self.residual = residual
        self.supports, self.values, self.max_order = convert(transform, self.index, max_order)
        self.std_errors = np.full(len(self.values), np.nan)
        self.sources = {t: "surrogate" for t in range(self.max_order + 1)}
        if residual is not None:
            self._correct(residual)
        if labels is None:
            labels = [str(i) for i in range(self.n)]
        labels = [str(x) for x in labels]
        if len(labels) != self.n:
            raise ValueError(f"got {len(labels)} labels for {self.n} parts; pass one label per part")
        self.labels = labels
        self.provenance = metadata if isinstance(metadata, Provenance) else Provenance.from_dict(metadata)
        if self.provenance.every_mask:  # every mask answered and reproduced: each value is exact, its error 0
            self.std_errors = np.zeros(len(self.values))

    @property
    def metadata(self) -> Mapping[str, Any]:
        """How the result was made, as the flat read-only mapping a result file holds (keys ``"method"``,
        ``"queries"``, ``"full_value"``, …; see :class:`~spectrex.provenance.Provenance`, which
        :attr:`provenance` holds typed)."""
        return MappingProxyType(self.provenance.to_dict())

    def _correct(self, residual: ResidualSample) -> None:
        """Add the residual's estimate of this view (orders ≤ 2) and its standard errors."""
        found = corrections(residual, self.index, self.max_order)
        if found is None:
            return
        sup, val, err = found
        pos = bitset.lookup(self.supports, sup)
        self.values = self.values.copy()
        self.values[pos[pos >= 0]] += val[pos >= 0]
        self.std_errors[pos[pos >= 0]] = err[pos >= 0]
        new = pos < 0
        self.supports = np.concatenate([self.supports, sup[new]])
        self.values = np.concatenate([self.values, val[new]])
        self.std_errors = np.concatenate([self.std_errors, err[new]])
        thin = thin_orders(residual)
        # a thin order of pairs keeps the surrogate's values shrunk by their standard errors: there the surrogate
        # holds a few real interactions among many noisy ones (SII-2 error at 250 queries, planted n = 256 / 64:
        # 0.0019 / 0.014 → 0.0014 / 0.013; a dense order-≤ 2 game at n = 32, where every pair value is noise:
        # 1.61 → 1.52 over 10 seeds, against 1.53 for all-zero values)
        weak = np.isin(self.orders, [t for t in thin if t >= 2])
        self.values[weak] = shrink(self.values[weak], self.std_errors[weak])
        for t in np.unique(bitset.popcount(sup)).tolist():
            if t not in thin:
                self.sources[int(t)] = "surrogate + residual"
            else:
                self.sources[int(t)] = "shrunk surrogate ± residual" if t >= 2 else "surrogate ± residual"

    def std_error(self, parts) -> float:
        """Standard error of one value given as part indices (NaN when it is the surrogate's alone; 0 for every
        value of a result that answered and reproduces every mask)."""
        pos = self._position(parts)
        if pos < 0:
            return 0.0 if self.provenance.every_mask else float("nan")
        return float(self.std_errors[pos])

    # -- views ------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.values)

    @property
    def orders(self) -> np.ndarray:
        return bitset.popcount(self.supports)

    @property
    def baseline(self) -> float:
        """The empty-set entry of the index view (0 when absent)."""
        empty = np.flatnonzero(self.orders == 0)
        return float(self.values[empty[0]]) if empty.size else 0.0

    def _position(self, parts) -> int:
        """Row of the interaction ``parts`` (a part index or a tuple of them) in this view, -1 when absent."""
        if is_whole(parts):
            key = (parts,)
        elif isinstance(parts, Iterable) and not isinstance(parts, (str, bytes)):
            key = tuple(parts)
        else:
            key = None
        if key is None or not all(is_whole(i) for i in key):
            named = (parts,) if isinstance(parts, str) else key or ()
            names = ""
            if named and all(isinstance(x, str) and x in self.labels for x in named):  # labels: say their numbers
                numbers = tuple(self.labels.index(x) for x in named)
                many = len(numbers) > 1
                names = f"; {'the parts ' if many else 'the part '}{', '.join(map(repr, named))} "
                names += f"{'are' if many else 'is'} result[{numbers if many else numbers[0]}]"
            raise ValueError(
                f"an interaction is given by part numbers, e.g. result[3] or result[(3, 7)], got {parts!r}{names} "
                "(result.labels lists the parts in order)"
            )
        return int(bitset.lookup(self.supports, bitset.from_indices([key], self.n))[0])

    def __getitem__(self, parts) -> float:
        """Value of one interaction given as part indices, e.g. ``result[(3, 7)]`` (0 where it has none)."""
        pos = self._position(parts)
        return float(self.values[pos]) if pos >= 0 else 0.0

    def __contains__(self, parts) -> bool:
        """Whether this view holds a term for ``parts`` (part numbers, as :meth:`__getitem__` takes them)."""
        return self._position(parts) >= 0

    def __iter__(self):
        # without it Python iterates through __getitem__(0), (1), … and ends on "part indices must lie in …"
        raise TypeError(
            "an Interactions is not iterable: use result.top(k) for the strongest terms, result.as_dict() for "
            "{parts: value}, or result.values with result.supports"
        )

    def as_dict(self) -> dict[tuple[int, ...], float]:
        """``{parts: value}`` of the index view."""
        return dict(zip(bitset.to_indices(self.supports, self.n), self.values.tolist()))

    def top(self, k: int = 10, order: int | None = None, index: str | None = None) -> list[Term]:
        """The ``k`` largest interactions by magnitude (the empty set excluded), each naming its index.

        ``order`` restricts to interactions of exactly that order; ``index`` reads another index
        (``top(5, index="SV")`` = ``to("SV").top(5)``; default: this view's, :attr:`index`).
        """
        if index is not None:
            return self.to(index).top(k, order)
        check_whole("k", k, 0)
        check_whole("order", order, 0, optional=True)
        orders = self.orders
        keep = orders > 0 if order is None else orders == order
        pos = np.flatnonzero(keep)
        pos = pos[np.argsort(-np.abs(self.values[pos]), kind="stable")[: max(int(k), 0)]]
        parts = bitset.to_indices(self.supports[pos], self.n)
        labels = [tuple(self.labels[i] for i in p) for p in parts]
        return [Term(p, lab, float(v), self.index) for p, lab, v in zip(parts, labels, self.values[pos])]

    def first_order(self, index: str | None = None) -> np.ndarray:
        """Dense length-``n`` vector of the order-1 values of this view's index (:attr:`index`), or of ``index``.

        ``first_order("SV")`` gives the Shapley values that ``print(result)`` leads with; on a Möbius
        view the default is each part's effect added to the empty input.
        """
        if index is not None:
            return self.to(index).first_order()
        out = np.zeros(self.n)
        ones = self.orders == 1
        _, cols = np.nonzero(bitset.unpack(self.supports[ones], self.n))
        out[cols] = self.values[ones]
        return out

    # -- conversion and use ---------------------------------------------------------------
    def to(self, index: str, max_order: int | None = None) -> Interactions:
        """The same explanation expressed in another index (e.g. ``"SV"``, ``"FSII"``, ``"STII"``)."""
        view = copy.deepcopy(self.provenance)
        return Interactions(self.transform, index, max_order, self.labels, view, self.residual)

    def predict(self, masks) -> np.ndarray:
        """The recovered function's value on boolean masks ``(q, n)``."""
        return self.transform(check_masks(masks, self.n))

    def faithfulness(self, data, n_masks: int = 1000, random_state=0) -> float:
        """R² of :meth:`predict` on held-out masks.

        ``data`` is either a value function (queried on ``n_masks`` fresh uniform random masks)
        or a pair ``(masks, y)`` of masks already queried.
        """
        if callable(data):
            check_whole("n_masks", n_masks, 2)  # R² needs two masks; 0 masks gave R² = 1.0
            masks = uniform_masks(self.n, int(n_masks), np.random.default_rng(random_state))
            y = evaluate(data, masks)
        else:
            if not (isinstance(data, (tuple, list)) and len(data) == 2):
                raise ValueError(
                    "faithfulness takes a value function or a pair (masks, values) of masks already queried, "
                    f"got {type(data).__name__}"
                )
            masks, y = data
            masks = check_masks(masks, self.n)
            if masks.shape[0] < 2:  # one mask has no variance to explain: R² read 1.0
                raise ValueError(f"R² needs at least 2 held-out masks, got {masks.shape[0]}")
            y = check_values(y, masks.shape[0], what="the held-out values")
        return r2_score(y, self.predict(masks))

    # -- I/O --------------------------------------------------------------------------------
    def to_json(self, path: str | Path | None = None) -> str:
        """Serialise losslessly (floats as shortest round-trip reprs). Writes ``path`` if given."""
        doc = {
            "schema": SCHEMA,
            "n": self.n,
            "index": self.index,
            "max_order": self.max_order,
            "labels": self.labels,
            "metadata": _jsonable(self.provenance.to_dict()),
            "transform": {
                "basis": self.transform.basis,
                "supports": bitset.to_indices(self.transform.supports, self.n),
                "coefs": self.transform.coefs.tolist(),
            },
        }
        if self.residual is not None:
            doc["residual"] = self.residual.to_json()
        text = json.dumps(doc, ensure_ascii=False)
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text

    @classmethod
    def from_json(cls, source: str | Path, max_bytes: int | None = None) -> Interactions:
        """Read what :meth:`to_json` wrote (a JSON string or a file path).

        Parameters
        ----------
        source : str or Path
            The JSON text, or the path of a file holding it.
        max_bytes : int, optional
            The largest input read (default :data:`spectrex.bounds.MAX_RESULT_BYTES`, 256 MiB).

        Raises
        ------
        ResourceError
            The input is over ``max_bytes``, declares more parts than it lists labels for, or its
            terms would need more memory than this machine allows (checked before allocating).
        ValueError
            It is not a spectrex result, or its fields are malformed.
        """

        text, where = result_text(source, max_bytes)
        return cls.from_dict(parse_result(text, where), where)

    @classmethod
    def from_dict(cls, doc: dict, where: str = "the result") -> Interactions:
        """Build the result from :meth:`to_json`'s parsed document (``where`` names it in errors), with
        the checks of :meth:`from_json` (a multi-output file's items are read through here)."""
        from .bounds import ResourceError, check_result

        schema = doc.get("schema", "") if isinstance(doc, dict) else ""
        if str(schema).startswith("spectrex.explanations/"):
            raise ValueError(
                f"{where} holds several outputs' explanations (per token or per label); read it with "
                "spectrex.Explanations.from_json, then pick one output: result[0] or result['name']"
            )
        if not str(schema).startswith("spectrex.interactions/"):
            raise ValueError(
                f"{where} is not a spectrex result (no 'spectrex.interactions' schema field); pass a file written by "
                "Interactions.to_json or spectrex explain --json"
            )
        if schema != SCHEMA:
            raise ValueError(f"result written with schema {schema!r}; this spectrex reads {SCHEMA!r}: upgrade spectrex")
        n, labels, tr = doc.get("n"), doc.get("labels"), doc.get("transform")
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"{where} declares n = {n!r} parts; a result has a whole number ≥ 1: check the file")
        if not isinstance(labels, list) or len(labels) != n:
            listed = len(labels) if isinstance(labels, list) else 0
            msg = (
                f"{where} declares n = {n:,} parts but lists {listed:,} labels; spectrex writes one label per part, "
                "so the file is damaged or not a spectrex result: check it"
            )
            raise ResourceError(msg, n, listed) if n > listed else ValueError(msg)
        if not (isinstance(tr, dict) and isinstance(tr.get("supports"), list) and isinstance(tr.get("coefs"), list)):
            raise ValueError(f"{where} has no transform with 'supports' and 'coefs' lists: check the file")
        supports, coefs = tr["supports"], tr["coefs"]
        if len(supports) != len(coefs) or not all(isinstance(s, list) for s in supports):
            raise ValueError(
                f"{where} lists {len(supports):,} supports but {len(coefs):,} coefficients (one each, lists of part "
                "indices): check the file"
            )
        # each support: distinct whole part indices in 0 … n-1 (true is not 1); each coefficient a number
        for k, sup in enumerate(supports):
            if len(set(map(repr, sup))) != len(sup) or not all(
                isinstance(i, int) and not isinstance(i, bool) and 0 <= i < n for i in sup
            ):
                raise ValueError(
                    f"{where}: support {k} ({json.dumps(sup)[:80]}) is not a list of distinct part indices from 0 to "
                    f"{n - 1}; check the file"
                )
        bad = next((k for k, c in enumerate(coefs) if isinstance(c, bool) or not isinstance(c, (int, float))), None)
        if bad is not None:
            raise ValueError(
                f"{where}: coefficient {bad} ({json.dumps(coefs[bad])[:40]}) is not a number; check the file"
            )
        own = {"fourier": "Fourier", "mobius": "Moebius"}.get(tr.get("basis"))
        expanded = 0 if own == doc.get("index") else sum(1 << min(len(s), 64) for s in supports)
        check_result(n, len(supports), expanded, where)
        packed = bitset.from_indices(supports, n)
        keys = np.ascontiguousarray(packed).view(np.dtype((np.void, packed.dtype.itemsize * packed.shape[1])))
        _, first, counts = np.unique(keys.reshape(-1), return_index=True, return_counts=True)
        if (counts > 1).any():  # two terms on one subset would be summed into one, silently
            k = int(np.sort(first[counts > 1])[0])
            raise ValueError(f"{where} lists the support {sorted(supports[k])} more than once; check the file")
        transform = SparseTransform(n, packed, np.array(coefs, float), tr.get("basis"))
        residual = ResidualSample.from_json(doc["residual"], n) if "residual" in doc else None
        return cls(transform, doc.get("index", "Moebius"), doc.get("max_order"), labels, doc.get("metadata"), residual)

    def to_shapiq(self):
        """This view as a :class:`shapiq.InteractionValues` (needs ``shapiq``).

        Its ``std_errors`` attribute maps each interaction (a tuple of parts) with a known standard
        error to that error.
        """
        from shapiq import InteractionValues

        index = {"Fourier": "FBII", "Moebius": "Moebius"}.get(self.index, self.index)
        if self.index == "Fourier":
            raise ValueError("shapiq has no Fourier index; convert first, e.g. result.to('FBII').to_shapiq()")
        parts = bitset.to_indices(self.supports, self.n)
        counts = self.provenance.counts  # the model's answers the estimate rests on (sent or from a cache)
        out = InteractionValues(
            values=self.values.copy(),
            index=index,
            max_order=self.max_order,
            min_order=0,
            n_players=self.n,
            interaction_lookup={p: i for i, p in enumerate(parts)},
            baseline_value=float(self.transform(np.zeros((1, self.n), bool))[0]),
            estimated=not self.provenance.every_mask,
            estimation_budget=None if counts is None else counts.sent + counts.cached,
        )
        # shapiq has no field for uncertainty: the standard errors ride along as an attribute
        out.std_errors = {p: float(e) for p, e in zip(parts, self.std_errors) if np.isfinite(e)}
        return out

    # -- display ----------------------------------------------------------------------------
    def plot(self, kind: str = "bars", **kwargs):
        """A matplotlib Figure: ``kind`` is "bars", "network", "text" or "image" (see spectrex.report.plots)."""
        from .report.plots import plot

        return plot(self, kind, **kwargs)

    def summary(self, k: int = 8, index: str = "SV"):
        """The readable summary: what was explained, the ``k`` strongest parts (``index`` = SV or BV)
        and pairs, with a legend (see :mod:`spectrex.report.overview`)."""
        from .report.overview import overview

        return overview(self, k=k, index=index)

    def __repr__(self) -> str:
        meta = self.metadata
        head = f"Interactions(index={self.index}, n={self.n}, terms={len(self)}, max_order={self.max_order}"
        for key in ("method", "queries"):
            if key in meta:
                head += f", {key}={meta[key]}"
        view = (
            f"top(), first_order() and values read this view: {self.index}; "
            "the summary below is in Shapley values (first_order('SV'), top(index='SV'))"
        )
        return head + ")\n" + view + "\n" + self.summary().text()

    def _repr_html_(self) -> str:
        """Jupyter's display: the compact summary with the top parts and pairs."""
        return self.summary().html()


def parse_result(text: str, where: str):
    """The JSON document of a result's ``text``; a ``ValueError`` naming ``where`` (the file) when it is not
    JSON, for every reader of result files."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"{where} is not JSON ({exc}); pass a result written by spectrex (explain --json, to_json)"
        ) from None
    except RecursionError:
        raise ValueError(
            f"{where} nests its JSON too deeply to be a spectrex result; pass a file written by to_json"
        ) from None


def result_text(source: str | Path, max_bytes: int | None = None) -> tuple[str, str]:
    """The text of a result (a JSON string, or a file read in bounded chunks) and how to name it in errors.

    One reader for every kind of result file: a special file (a pipe, a device such as /dev/zero) or one
    over ``max_bytes`` (default :data:`spectrex.bounds.MAX_RESULT_BYTES`) is refused before it is read whole.
    """
    import stat

    from .bounds import MAX_RESULT_BYTES, ResourceError

    cap = MAX_RESULT_BYTES if max_bytes is None else int(max_bytes)
    text = str(source)
    where = "the result JSON"
    if not text.lstrip().startswith(("{", "[")):
        path, where = Path(source), str(source)
        mode = path.stat().st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(f"{path} is a folder; pass a result file written by Interactions.to_json")
        if stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode):  # opening would wait for a writer, maybe forever
            raise ValueError(
                f"{path} is a pipe or socket, not a result file; write the result to a file first and pass that"
            )
        size = path.stat().st_size
        too_big = ResourceError(
            f"{path} is {max(size, cap + 1) / 2**20:,.1f} MiB, over the {cap / 2**20:,.1f} MiB a result may be; "
            "check that it is a spectrex result, or pass a larger max_bytes to Interactions.from_json",
            max(size, cap + 1),
            cap,
        )
        if stat.S_ISREG(mode) and size > cap:
            raise too_big
        # read in bounded chunks, whatever the size says: a device (/dev/zero, /dev/urandom) reports 0
        chunks, got = [], 0
        with path.open("rb") as fh:
            while chunk := fh.read(min(1 << 16, cap + 1 - got)):
                if b"\x00" in chunk:
                    raise ValueError(
                        f"{where} holds NUL bytes: it is a binary file, not a spectrex result; pass a file "
                        "written by Interactions.to_json"
                    )
                chunks.append(chunk)
                got += len(chunk)
                if got > cap:
                    raise too_big
        try:
            text = b"".join(chunks).decode("utf-8")
        except UnicodeDecodeError:
            raise ValueError(
                f"{where} is not UTF-8 text, so not a spectrex result; pass a file written by Interactions.to_json"
            ) from None
    elif len(text) > cap:
        raise ResourceError(
            f"the result JSON is {len(text):,} characters, over the {cap:,} a result may be; "
            "pass a larger max_bytes to Interactions.from_json",
            len(text),
            cap,
        )
    return text, where


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return obj

"""Reading a run folder back: the index as a table (pandas when installed), one row per record."""

from __future__ import annotations

from pathlib import Path

from ..validate import check_flag, check_whole
from .store import INDEX, RECORDS, read_index, safe_name

#: the index fields that become columns, in this order (top terms come after them)
COLUMNS = (
    "id",
    "position",
    "status",
    "reason",
    "label",
    "target",
    "n",
    "method",
    "value",
    "faithfulness",
    "queries",
    "seconds",
    "model_seconds",
    "algorithm_seconds",
    "file",
)


def entries(folder) -> list[dict]:
    """The index lines of a run folder (one per record, latest wins), in input order."""
    path = Path(folder).expanduser()
    wrote = "pass the folder a dataset run wrote (spectrex explain --inputs … --out DIR)"
    if path.is_dir():
        path = path / INDEX
    elif path.name != INDEX:  # not the index file itself: a folder that is not there, or another file
        if path.exists():
            raise NotADirectoryError(f"{path} is a file, not a run folder; {wrote}")
        raise FileNotFoundError(f"no run folder at {path}; {wrote}")
    if not path.exists():
        raise FileNotFoundError(f"no {INDEX} in {path.parent}: {wrote}")
    rows = list(read_index(path).values())
    rows.sort(key=lambda e: (e.get("position", 1 << 62), e["id"]))
    return rows


def _row(e: dict, k: int) -> dict:
    row = {c: e.get(c) for c in COLUMNS}
    share = e.get("order_share") or {}
    row["share_order1"] = share.get("1")
    row["share_order2"] = share.get("2")
    row["share_order3plus"] = share.get("3+")
    top = e.get("top") or []
    for i in range(k):
        t = top[i] if i < len(top) else None
        row[f"top{i + 1}"] = " × ".join(t["parts"]) if t else None
        row[f"top{i + 1}_order"] = len(t["parts"]) if t else None
        row[f"top{i + 1}_value"] = t["value"] if t else None
    return row


def load_results(folder, *, k: int | None = None, long: bool = False, as_frame: bool | None = None):
    """A dataset run's results as a table.

    Parameters
    ----------
    folder : str or Path
        The run folder (or its ``index.jsonl``).
    k : int, optional
        Top interactions per record: as columns ``top1``, ``top1_order``, ``top1_value``, … (or, with
        ``long``, the rows of ranks 1…k); default: as many as the index holds.
    long : bool, default False
        One row per (record, interaction) instead: ``id``, ``rank``, ``parts`` (tuple of the parts'
        texts), ``order``, ``value``, ``faithfulness``.
    as_frame : bool, optional
        A pandas DataFrame (default when pandas is installed) or a list of dicts.

    Returns
    -------
    pandas.DataFrame or list of dict
        One row per record, in input order: id, status, reason, label, n, faithfulness, queries,
        seconds, the shares of the output's variance by interaction order, and the top interactions.
    """
    check_whole("k", k, 0, optional=True)
    check_flag("long", long)
    if as_frame is not None:
        check_flag("as_frame", as_frame)
    rows_in = entries(folder)
    if long:
        rows = [
            {
                "id": e["id"],
                "rank": r + 1,
                "parts": tuple(t["parts"]),
                "order": len(t["parts"]),
                "value": t["value"],
                "faithfulness": e.get("faithfulness"),
            }
            for e in rows_in
            if e.get("status") == "ok"
            for r, t in enumerate((e.get("top") or [])[: None if k is None else int(k)])
        ]
    else:
        width = int(k) if k is not None else max([len(e.get("top") or []) for e in rows_in] + [0])
        rows = [_row(e, width) for e in rows_in]
    if as_frame is False:
        return rows
    try:
        import pandas as pd
    except ImportError:
        if as_frame:
            raise ImportError("as_frame=True needs pandas (pip install pandas)") from None
        return rows
    return pd.DataFrame(rows)


def load_result(folder, record_id: str):
    """One record's full result (:class:`~spectrex.Interactions`; an :class:`~spectrex.Explanations` for a run
    of several outputs per record: ``per_token`` or ``all_labels``)."""
    from ..explanations import read_result

    path = Path(folder).expanduser() / RECORDS / f"{safe_name(str(record_id))}.json"
    if not path.exists():
        raise FileNotFoundError(f"no result for record {record_id!r} in {folder} (it failed, or has not run yet)")
    return read_result(path)

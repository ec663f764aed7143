"""Dataset runs: records in, one result file per record plus ``index.jsonl`` out, resumable.

``explain_dataset(records, model, out=...)`` explains every record (in-process, or whole
explanations on Ray actors), ``load_results(folder)`` reads the index back as a table, and
:mod:`spectrex.report.summary` says what the explanations have in common.
"""

from .dataset import DatasetRun, explain_dataset
from .records import Record, read_records
from .results import load_result, load_results
from .store import RunStore

__all__ = ["DatasetRun", "Record", "RunStore", "explain_dataset", "load_result", "load_results", "read_records"]

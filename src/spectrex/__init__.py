"""spectrex: sparse interaction explanations of models by ablation, at scale."""

__version__ = "0.1.0"

from .api import explain, register_method  # noqa: E402
from .contract import ValueFunction  # noqa: E402
from .engine import QueryEngine  # noqa: E402
from .errors import BudgetError, CacheError, SpectrexError, ValueFunctionError  # noqa: E402
from .estimators import LASSO, LIME, BanzhafMSR, Exact, Explainer, FaithBanzhaf, KernelSHAP  # noqa: E402
from .estimators.proxyspex import ProxySPEX  # noqa: E402
from .estimators.spex import SPEX  # noqa: E402
from .interactions import Interactions, Term  # noqa: E402
from .transforms import INDICES, SparseTransform  # noqa: E402

__all__ = [
    "INDICES",
    "LASSO",
    "LIME",
    "BanzhafMSR",
    "BudgetError",
    "CacheError",
    "Exact",
    "Explainer",
    "FaithBanzhaf",
    "KernelSHAP",
    "Interactions",
    "ProxySPEX",
    "QueryEngine",
    "SPEX",
    "SparseTransform",
    "SpectrexError",
    "Term",
    "ValueFunction",
    "ValueFunctionError",
    "__version__",
    "explain",
    "explain_dataset",
    "load_results",
    "register_method",
]


def __getattr__(name: str):
    """Dataset runs (``explain_dataset``, ``load_results``) are imported on first use."""
    if name in ("explain_dataset", "load_results"):
        from . import runs

        return getattr(runs, name)
    raise AttributeError(f"module 'spectrex' has no attribute {name!r}")

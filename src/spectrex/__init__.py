"""spectrex: sparse interaction explanations of models by ablation, at scale."""

__version__ = "0.1.0"

from .api import explain, register_method  # noqa: E402
from .contract import ValueFunction  # noqa: E402
from .engine import QueryEngine  # noqa: E402
from .errors import BudgetError, CacheError, SpectrexError, ValueFunctionError  # noqa: E402
from .estimators import Exact, Explainer  # noqa: E402
from .estimators.proxyspex import ProxySPEX  # noqa: E402
from .estimators.spex import SPEX  # noqa: E402
from .interactions import Interactions, Term  # noqa: E402
from .transforms import INDICES, SparseTransform  # noqa: E402

__all__ = [
    "INDICES",
    "BudgetError",
    "CacheError",
    "Exact",
    "Explainer",
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
    "register_method",
]

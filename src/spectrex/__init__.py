"""spectrex: sparse interaction explanations of models by ablation, at scale.

The public names below are imported on first use (PEP 562), so ``import spectrex`` and
``spectrex --help`` stay fast: numpy, numba, scipy, LightGBM and torch load only when a name that
needs them is touched.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

from ._version import __version__ as __version__

# public name → the module that defines it
_LAZY: dict[str, str] = {
    "explain": ".api",
    "register_method": ".api",
    "ValueFunction": ".contract",
    "QueryEngine": ".engine",
    "BudgetError": ".errors",
    "CacheError": ".errors",
    "ResourceError": ".errors",
    "SpectrexError": ".errors",
    "ValueFunctionError": ".errors",
    "LASSO": ".estimators",
    "LIME": ".estimators",
    "BanzhafMSR": ".estimators",
    "Exact": ".estimators",
    "Explainer": ".estimators",
    "FaithBanzhaf": ".estimators",
    "KernelSHAP": ".estimators",
    "ProxySPEX": ".estimators.proxyspex",
    "SPEX": ".estimators.spex",
    "Interactions": ".interactions",
    "Explanations": ".explanations",
    "Term": ".interactions",
    "INDICES": ".transforms",
    "SparseTransform": ".transforms",
    "explain_text": ".workflows",
    "explain_dataset": ".runs",
    "load_results": ".runs",
}

__all__ = sorted([*_LAZY, "__version__"])


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'spectrex' has no attribute {name!r}")
    value = getattr(import_module(module, __name__), name)
    globals()[name] = value  # later look-ups skip this hook
    return value


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:  # static analysers and IDEs see the eager imports
    from .api import explain, register_method  # noqa: F401
    from .contract import ValueFunction  # noqa: F401
    from .engine import QueryEngine  # noqa: F401
    from .errors import BudgetError, CacheError, ResourceError, SpectrexError, ValueFunctionError  # noqa: F401
    from .estimators import LASSO, LIME, BanzhafMSR, Exact, Explainer, FaithBanzhaf, KernelSHAP  # noqa: F401
    from .estimators.proxyspex import ProxySPEX  # noqa: F401
    from .estimators.spex import SPEX  # noqa: F401
    from .explanations import Explanations  # noqa: F401
    from .interactions import Interactions, Term  # noqa: F401
    from .runs import explain_dataset, load_results  # noqa: F401
    from .transforms import INDICES, SparseTransform  # noqa: F401
    from .workflows import explain_text  # noqa: F401

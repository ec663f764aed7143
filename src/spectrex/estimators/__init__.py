"""Estimators: each method = a mask design + a decoder, run through the query engine."""

from .base import Explainer
from .baselines import LASSO, LIME, BanzhafMSR, FaithBanzhaf, KernelSHAP
from .exact import Exact

__all__ = ["LASSO", "LIME", "BanzhafMSR", "Exact", "Explainer", "FaithBanzhaf", "KernelSHAP"]

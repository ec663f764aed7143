"""Seeing the result: matplotlib plots, a self-contained HTML report, a local viewer, counterfactuals.

matplotlib is imported only when a plot is drawn; the report and the viewer need no extra package.
"""

from .counterfactual import Counterfactual, counterfactual, removal_curve
from .html import render_report, report_data
from .serve import ResultServer, serve

__all__ = ["Counterfactual", "ResultServer", "counterfactual", "removal_curve", "render_report", "report_data", "serve"]

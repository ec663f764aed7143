"""Explain one prediction of a gradient-boosted model on the diabetes data, and check it against shapiq.

    PYTHONPATH=src python examples/tabular.py

Removed features take the values of 50 background rows and the prediction is averaged over them
(interventional Shapley values); with 10 features the exact method needs 2^10 = 1,024 queries.
"""

from __future__ import annotations

import numpy as np
from sklearn.datasets import load_diabetes
from sklearn.ensemble import GradientBoostingRegressor

import spectrex
from spectrex.models.tabular import TabularValue


def main() -> None:
    data = load_diabetes()
    X, y = data.data, data.target
    model = GradientBoostingRegressor(random_state=0).fit(X[:400], y[:400])
    x = X[420]
    f = TabularValue(model, x, X[:50], labels=data.feature_names)
    result = spectrex.explain(f, f.n, method="exact", labels=f.labels)
    print(f"prediction {model.predict(x[None])[0]:.1f}, mean over the background {f(np.zeros((1, f.n)))[0]:.1f}")
    print(result.to("SV"))
    print(result.to("FSII", 2))
    try:
        import shapiq

        ref = shapiq.ExactComputer(lambda c: f(np.asarray(c, bool)), n_players=f.n)("SV", 1)
        gap = max(abs(result.to("SV")[(i,)] - ref[(i,)]) for i in range(f.n))
        print(f"largest difference from shapiq.ExactComputer's Shapley values: {gap:.2e}")
    except ImportError:
        pass


if __name__ == "__main__":
    main()

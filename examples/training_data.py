"""Which groups of training examples does one test prediction rely on — and which groups are substitutes?

    PYTHONPATH=src python examples/training_data.py [--groups 10] [--model logreg|knn|lgbm]

Parts are groups of training rows of scikit-learn's wine data; every mask row retrains the model on the
kept groups (in parallel with joblib) and the value is the retrained model's probability of the test
point's true class. With 10 groups the exact method retrains 2^10 = 1,024 models.
"""

from __future__ import annotations

import argparse

import numpy as np
from sklearn.datasets import load_wine
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.preprocessing import StandardScaler

import spectrex
from spectrex.models.training_data import RetrainValue


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--groups", type=int, default=10)
    ap.add_argument("--model", default="logreg", choices=["knn", "logreg", "lgbm"])
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args()

    X, y = load_wine(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    # the test point: the row a model trained on all the others is least sure about (a borderline case)
    proba = LogisticRegression(max_iter=1000).fit(X[1::2], y[1::2]).predict_proba(X[::2])
    test = 2 * int(np.argmin(proba.max(axis=1)))
    train = np.setdiff1d(np.arange(len(y)), [test])
    if args.model == "knn":
        est = KNeighborsClassifier(n_neighbors=3)
    elif args.model == "logreg":
        est = LogisticRegression(max_iter=1000)
    else:
        from lightgbm import LGBMClassifier

        est = LGBMClassifier(n_estimators=30, min_child_samples=3, verbose=-1, random_state=0)
    groups = np.arange(train.size) % args.groups
    f = RetrainValue(est, X[train], y[train], X[test], [y[test]], groups=groups, n_jobs=args.jobs)
    print(f"test row {test}, class {y[test]}; {f.n} groups of ~{train.size // f.n} training rows")
    result = spectrex.explain(f, f.n, method="auto", labels=[f"group {g}" for g in f.labels])
    print(result.to("SV"))
    print(result.to("FSII", 2))


if __name__ == "__main__":
    main()

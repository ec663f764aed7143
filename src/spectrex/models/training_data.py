"""Training-data value functions: parts are training examples (or groups); a mask row retrains the model.

``f(mask)`` = a test prediction (or loss) of the model refit from scratch on the kept training rows. Each
row is an independent fit, so a batch of masks is fitted in parallel with joblib.
"""

from __future__ import annotations

import numpy as np

from ..contract import ValueFunction, check_masks
from ..digest import fingerprint
from ._identity import object_identity

OUTPUTS = ("proba", "predict", "decision", "log_loss", "accuracy")


class RetrainValue(ValueFunction):
    """Value of a subset of training examples = the retrained model's output on test points.

    Parameters
    ----------
    estimator : scikit-learn-style estimator
        Cloned (``sklearn.base.clone``) and fitted on the kept rows for every mask row; LightGBM's
        ``LGBMClassifier`` / ``LGBMRegressor`` work too. Fix its ``random_state`` for a deterministic value.
    X_train, y_train : arrays
        The training data.
    X_test : array (t, d) or (d,)
        Test point(s); the value is averaged over them.
    y_test : array (t,), optional
        Labels of the test points; needed for ``output="log_loss"`` / ``"accuracy"`` and
        used as the explained class by ``output="proba"`` when ``target`` is not given.
    output : {"proba", "predict", "decision", "log_loss", "accuracy"}, default "proba"
        What to return: the probability of ``target``, the raw prediction (regression), the decision
        function, the negative log-loss on ``y_test`` (higher = better), or the accuracy.
    target : class label, optional
        The class whose probability is explained (``output="proba"``).
    groups : array (m,) of group ids, optional
        Explain groups of training rows as single parts (one part per distinct id, in sorted order).
    empty_value : float, optional
        Value when too little data is kept to fit (no rows, or one class only for a classifier):
        default: for one class, that class's constant prediction; for no rows, ``1 / n_classes`` for
        probabilities, 0 otherwise.
    n_jobs : int, default 1
        Parallel fits per batch (joblib; -1 = all cores).
    """

    def __init__(
        self,
        estimator,
        X_train,
        y_train,
        X_test,
        y_test=None,
        output: str = "proba",
        target=None,
        groups=None,
        empty_value: float | None = None,
        n_jobs: int = 1,
    ) -> None:
        if output not in OUTPUTS:
            raise ValueError(f"output must be one of {', '.join(OUTPUTS)}; got {output!r}")
        self.estimator = estimator
        self.X_train = np.asarray(X_train)
        self.y_train = np.asarray(y_train)
        if self.X_train.shape[0] != self.y_train.shape[0]:
            raise ValueError(f"X_train has {self.X_train.shape[0]} rows but y_train has {self.y_train.shape[0]}")
        X_test = np.asarray(X_test)
        self.X_test = X_test.reshape(1, -1) if X_test.ndim == 1 else X_test
        self.y_test = None if y_test is None else np.atleast_1d(np.asarray(y_test))
        if output in ("log_loss", "accuracy") and self.y_test is None:
            raise ValueError(f"output={output!r} needs y_test (the test labels)")
        self.output = output
        self.classes = np.unique(self.y_train) if output != "predict" else None
        if output == "proba":
            if target is None:
                if self.y_test is None or len(np.unique(self.y_test)) != 1:
                    raise ValueError("output='proba' needs target=<class> (or y_test with a single class)")
                target = self.y_test[0]
            if target not in self.classes:
                raise ValueError(f"target {target!r} is not a class of y_train ({self.classes.tolist()})")
        self.target = target
        if groups is None:
            self.group_ids = np.arange(self.X_train.shape[0])
            self.member = np.eye(self.X_train.shape[0], dtype=bool)
        else:
            groups = np.asarray(groups)
            if groups.shape[0] != self.X_train.shape[0]:
                raise ValueError(f"groups has {groups.shape[0]} entries for {self.X_train.shape[0]} training rows")
            self.group_ids, inv = np.unique(groups, return_inverse=True)
            self.member = np.zeros((len(self.group_ids), groups.shape[0]), dtype=bool)
            self.member[inv, np.arange(groups.shape[0])] = True
        self.n = self.member.shape[0]
        self.labels = [str(g) for g in self.group_ids]
        self.empty_value = empty_value
        self.n_jobs = n_jobs
        what = {"proba": f"P(class {target})", "predict": "the prediction", "decision": "the decision function",
                "log_loss": "−log-loss", "accuracy": "the accuracy"}[output]  # fmt: skip
        points = self.X_test.shape[0]
        self.quantity = f"{what} of the model retrained on the kept data, on {points} test point{'s' * (points > 1)}"

    def identity(self) -> dict:
        from sklearn.base import clone

        # every fit starts from a clone, so the settings identify the estimator, not its fitted state
        data = [self.X_train, self.y_train, self.X_test, self.member] + ([] if self.y_test is None else [self.y_test])
        return {
            "kind": "retrain",
            "estimator": object_identity(clone(self.estimator)),
            "output": self.output,
            "target": self.target,
            "empty_value": self.empty_value,
            "data": fingerprint(*data),
        }

    def rows(self, mask: np.ndarray) -> np.ndarray:
        """Indices of the training rows a mask row keeps."""
        return np.flatnonzero(self.member[np.asarray(mask, bool)].any(axis=0))

    def _degenerate(self, y_kept: np.ndarray) -> float | None:
        """The value when the kept data cannot be fitted, else None."""
        if self.output == "predict" or self.output == "decision":
            if y_kept.size == 0:
                return 0.0 if self.empty_value is None else float(self.empty_value)
            return None
        present = np.unique(y_kept)
        if present.size >= 2:
            return None
        if self.empty_value is not None:
            return float(self.empty_value)
        if present.size == 0:
            return 1.0 / len(self.classes) if self.output == "proba" else 0.0
        only = present[0]  # a one-class model predicts that class with certainty
        if self.output == "proba":
            return float(only == self.target)
        correct = self.y_test == only
        if self.output == "accuracy":
            return float(correct.mean())
        return float(np.where(correct, 0.0, np.log(1e-15)).mean())

    def fit_value(self, mask: np.ndarray) -> float:
        """Refit on the kept rows and score the test points (one mask row)."""
        from sklearn.base import clone

        idx = self.rows(mask)
        y_kept = self.y_train[idx]
        fixed = self._degenerate(y_kept)
        if fixed is not None:
            return fixed
        model = clone(self.estimator).fit(self.X_train[idx], y_kept)
        return self.score(model)

    def score(self, model) -> float:
        """The value of a fitted model on the test points."""
        if self.output == "predict":
            return float(np.mean(model.predict(self.X_test)))
        if self.output == "decision":
            return float(np.mean(model.decision_function(self.X_test)))
        if self.output == "accuracy":
            return float(np.mean(model.predict(self.X_test) == self.y_test))
        proba = np.asarray(model.predict_proba(self.X_test))
        cls = list(model.classes_)
        if self.output == "proba":
            col = cls.index(self.target) if self.target in cls else None
            return 0.0 if col is None else float(proba[:, col].mean())
        # log-loss of the true labels; classes missing from the kept data get probability ~0
        p = np.array([proba[i, cls.index(t)] if t in cls else 0.0 for i, t in enumerate(self.y_test)])
        return float(np.mean(np.log(np.clip(p, 1e-15, 1.0))))

    def __call__(self, masks) -> np.ndarray:
        masks = check_masks(masks, self.n)
        if self.n_jobs == 1 or masks.shape[0] == 1:
            return np.array([self.fit_value(m) for m in masks])
        from joblib import Parallel, delayed

        return np.array(Parallel(n_jobs=self.n_jobs)(delayed(self.fit_value)(m) for m in masks), dtype=np.float64)

"""A new method in spectrex: stratified KernelSHAP, a new Design paired with an existing Decoder."""

import numpy as np

import spectrex
from spectrex.decoders.baselines import KernelShapDecoder
from spectrex.design import MaskDesign


class StratifiedShapleyDesign(MaskDesign):
    """The empty and full masks, then coalitions in complementary pairs whose sizes are not drawn
    but stratified: each size gets its Shapley-kernel share of the budget (largest remainders)."""

    every_row = True  # structured: the decoder reads rows 0 and 1 as v(∅) and v(N)
    method = "StratifiedSHAP"

    def minimum_budget(self, n, max_order):
        return 3

    def default_budget(self, n, max_order):
        return max(1000, 20 * n)

    def draw(self, n, budget, max_order, rng):
        half = -(-(budget - 2) // 2)
        sizes = np.arange(1, n)
        share = half / (sizes * (n - sizes)) / (1.0 / (sizes * (n - sizes))).sum()
        count = np.floor(share).astype(int)
        count[np.argsort(count - share)[: half - count.sum()]] += 1
        size = np.repeat(sizes, count)
        first = np.argsort(rng.random((half, n)), axis=1) < size[:, None]
        pairs = np.stack([first, ~first], axis=1).reshape(-1, n)[: budget - 2]
        return np.concatenate([np.zeros((1, n), bool), np.ones((1, n), bool), pairs]), None


class StratifiedSHAP(spectrex.Explainer):
    """Shapley values by KernelSHAP's decoder on the stratified design."""

    name = "stratifiedshap"
    default_order = 1

    def design(self):
        return StratifiedShapleyDesign()

    def decoder(self):
        return KernelShapDecoder()

    def _view_order(self, order):
        return 1


spectrex.register_method("stratifiedshap", StratifiedSHAP)

if __name__ == "__main__":
    from spectrex.synthetic import planted

    f = planted(12, 8, 2, 0)
    result = spectrex.explain(f, method="stratifiedshap", n=12, budget=500, random_state=0)
    print(result.to("SV").first_order().round(3))

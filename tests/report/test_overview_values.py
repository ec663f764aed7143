"""The summary's full-input value says whose it is: the model's (when it was asked) or the explanation's."""

import numpy as np

from spectrex import Interactions, explain
from spectrex.report.html import _view
from spectrex.synthetic import planted


def _with_model_value(result, value: float) -> Interactions:
    meta = {**result.metadata, "full_value": value}
    return Interactions(result.transform, result.index, result.max_order, result.labels, meta, result.residual)


def test_terminal_text_and_page_label_the_model_and_the_explanation():
    f = planted(8, 6, 2, 3)
    result = explain(f, 8, method="proxyspex", budget=128)
    fit = float(result.predict(np.ones((1, 8), bool))[0])
    shown = _with_model_value(result, fit + 0.5)  # the model's own answer differs from the surrogate's
    for text in (shown.summary().text(), shown.summary().html()):
        assert f"model {fit + 0.5:+.4g}" in text and f"explanation {fit:+.4g}" in text
    alone = result.summary().text()  # the model was not asked on the full input: only the explanation's
    assert f"explanation {fit:+.4g}" in alone and "model +" not in alone and "model -" not in alone


def test_the_cli_prints_both_labelled(capsys):
    from rich.console import Console

    from spectrex.cli.output import print_result

    f = planted(8, 6, 2, 3)
    result = explain(f, 8, method="proxyspex", budget=128)
    fit = float(result.predict(np.ones((1, 8), bool))[0])
    print_result(_with_model_value(result, fit + 0.5), Console(width=200, force_terminal=False))
    out = capsys.readouterr().out
    assert f"model {fit + 0.5:+.4g}" in out and f"explanation {fit:+.4g}" in out


def test_an_exact_sparse_fit_lists_no_rounding_noise_as_pairs():
    # 16 parts, three planted interactions: ProxySPEX fits them exactly, and the summary (print(result) and the
    # CLI's tables) and the page list those pairs only, never ±1e-16 "interactions"; the empty input reads +0
    def value_fn(masks):
        m = masks.astype(float)
        return 2 * m[:, 0] * m[:, 1] - m[:, 2] + 0.5 * m[:, 3] * m[:, 4] * m[:, 5]

    result = explain(value_fn, n=16, budget=800, random_state=0)
    ov = result.summary()
    assert sorted(label for label, _ in ov.pairs) == ["0 × 1", "3 × 4", "3 × 5", "4 × 5"]
    assert ov.empty_fit == 0.0 and "e-1" not in ov.text()
    top = _view(result, "SV", 2, 20)["top"]
    assert all(abs(t["value"]) > 1e-9 for t in top if len(t["parts"]) == 2)

"""The summary's full-input value says whose it is: the model's (when it was asked) or the explanation's."""

import numpy as np

from spectrex import Interactions, explain
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

"""The HTML report without a browser: escaping, embedded data, self-containment, the CLI."""

import base64
import hashlib
import html
import json
import re

import numpy as np
import pytest

from spectrex.cli import main
from spectrex.report.html import VIEWS, render_report, report_data


def _embedded(page):
    m = re.search(r'<script type="application/json" id="spectrex-data">(.*?)</script>', page, re.S)
    return json.loads(m.group(1))


def test_payloads_never_appear_as_markup(xss_result, payloads):
    XSS, PROMPT = payloads  # noqa: N806
    page = render_report(xss_result)
    for bad in ["<script>alert", "<img", 'onerror="', "</script><script>", "</title><script>"]:
        assert bad not in page
    # exactly two script elements: the JSON data block and the page's own code
    assert len(re.findall(r"<script\b", page)) == 2
    data = _embedded(page)
    assert data["labels"][: len(XSS)] == XSS  # the strings survive intact as data
    assert data["input"] == PROMPT
    assert data["title"].startswith("</title>")


def test_self_contained_and_csp_hash_matches(xss_result):
    page = render_report(xss_result)
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)  # nothing fetched from anywhere
    assert "@import" not in page and "url(" not in page
    code = re.findall(r"<script>(.*?)</script>", page, re.S)[0]
    digest = base64.b64encode(hashlib.sha256(code.encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in html.unescape(page)  # the attribute is HTML-escaped
    assert "default-src 'none'" in html.unescape(page)


def test_every_view_is_precomputed(xss_result):
    data = report_data(xss_result, k=7)
    assert list(data["views"]) == list(VIEWS)
    for name, index in VIEWS.items():
        view = data["views"][name]
        expect = xss_result.to(index, None if index in ("SV", "BV", "Moebius", "Fourier") else data["max_order"])
        np.testing.assert_allclose(view["first"], expect.first_order(), atol=1e-12)
        top = expect.top(7)
        if index in ("SV", "BV"):  # the parts' values and the pairs' interactions, as print(result) shows them
            pairs = xss_result.to({"SV": "SII", "BV": "BII"}[index], max_order=2).top(7, order=2)
            top = sorted(top + pairs, key=lambda t: -abs(t.value))[:7]
            assert any(len(t["parts"]) == 2 for t in view["top"])
        assert [tuple(t["parts"]) for t in view["top"]] == [t.parts for t in top]
        assert [t["index"] for t in view["top"]] == [t.index for t in top]
    summary = dict(data["summary"])
    assert summary["method"] == "exact" and summary["queries"] == f"{2**9} queries"
    assert "R²" not in summary and "basis" not in summary  # the one R² is the fit row's
    assert "exact" in summary["fit"]
    assert summary["budget"] == f"the method's default ({2**9} queries planned)"
    cf = data["counterfactual"]
    assert cf["optimal"] and len(cf["removed"]) <= 3


def test_cli_report(tmp_path, xss_result, capsys):
    src = tmp_path / "r.json"
    xss_result.to_json(src)
    for flag, k in (("--top", 5), ("--k", 4)):  # --k: the old name, still accepted
        assert main(["report", str(src), "-o", str(tmp_path / "out.html"), flag, str(k)]) == 0
        page = (tmp_path / "out.html").read_text()
        assert len(_embedded(page)["views"]["Shapley"]["top"]) == k
    assert main(["report", str(tmp_path / "missing.json")]) == 2
    assert "no result file" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("setting", "problem"),
    [  # what the CLI refuses, refused in Python too: max_order 0 ran as 1, "2" as 2, counterfactual_k 2.5 as 2
        ({"max_order": 0}, "max_order must be a positive integer"),
        ({"max_order": "2"}, "max_order must be a positive integer"),
        ({"counterfactual_k": 2.5}, "counterfactual_k must be an integer ≥ 0"),
        ({"counterfactual_k": -1}, "counterfactual_k must be an integer ≥ 0"),
    ],
)
def test_report_settings_are_checked(xss_result, setting, problem):
    with pytest.raises(ValueError, match=problem):
        render_report(xss_result, **setting)


def test_large_sparse_result_uses_the_milp(tmp_path):
    from spectrex import Interactions
    from spectrex.synthetic import planted

    f = planted(200, 80, 3, 1, include_empty=True)
    result = Interactions(f, labels=[f"t{i}" for i in range(200)], metadata={"method": "planted"})
    data = report_data(result, k=15)
    assert len(data["labels"]) == 200 and len(data["views"]["FSII"]["top"]) == 15
    cf = data["counterfactual"]
    assert cf["solver"] == "milp" and cf["optimal"]  # C(200, ≤3) masks: too many to enumerate


def test_serve_cli_wiring(tmp_path):
    from spectrex.cli import build_parser

    args = build_parser().parse_args(["serve", str(tmp_path), "--port", "0"])
    assert args.dir == str(tmp_path) and args.host == "127.0.0.1" and args.port == 0


def test_report_agrees_with_the_terminal():
    """The model's own full-input value labelled as such beside the explanation's, the budget, one R² row,
    no internal basis, and the input text in its box."""
    from spectrex import explain_text

    def model(texts):  # not sparse in the words: the surrogate's full-input value differs from the model's
        return [float(len(t)) ** 0.5 + (2.0 if "dull" in t and "great" in t else 0.0) for t in texts]

    text = "great acting but a dull plot and some slow scenes here"
    result = explain_text(text, model, budget=200, holdout=32, progress=False)
    data = report_data(result, counterfactual_k=None)
    summary = dict(data["summary"])
    assert float(summary["full input · model"]) == pytest.approx(model([text])[0], rel=1e-3)
    assert "full input · explanation" in summary and "full input" not in summary
    assert summary["budget"] == "200"
    assert [k for k in summary if "R²" in k or "R²" in summary[k]] == ["fit"]
    assert "basis" not in summary and summary["model"].endswith("model")
    assert data["input"] == text


def test_labels_shown_trim_punctuation_and_number_only_repeats():
    from spectrex.report.overview import display_labels

    shown = display_labels(["Is", "it", "your", "drink?", "It", "is", "your", "drink."])
    assert shown == ["Is", "it", "your#2", "drink#3", "It", "is", "your#6", "drink#7"]
    assert display_labels(["you", "are", "an", "idiot."]) == ["you", "are", "an", "idiot"]

"""Several outputs from one set of queries: each equals its single-output explanation, at no extra model cost."""

from __future__ import annotations

import json

import numpy as np
import pytest

import spectrex
from spectrex import Explanations, QueryEngine
from spectrex.engine.cache import QueryCache


def _two(masks):
    m = masks.astype(float)
    a = 2 * m[:, 0] * m[:, 1] - m[:, 2] + 0.5 * m[:, 3] * m[:, 4] * m[:, 5]
    b = m[:, 1] - 3 * m[:, 6] * m[:, 7] + m[:, 8] * m[:, 2]
    return np.column_stack([a, b])


class Counted:
    """Counts model passes (calls) and rows; declares its outputs and their total."""

    n, outputs, total, fingerprint = 12, ["a", "b"], "a+b", "two-outputs@1"

    def __init__(self):
        self.calls = self.rows = 0

    def __call__(self, masks):
        self.calls += 1
        self.rows += len(masks)
        return _two(masks)


@pytest.mark.parametrize("method,budget", [("exact", None), ("proxyspex", 800), ("spex", 1500), ("kernelshap", 600)])
def test_each_output_equals_its_single_output_run(method, budget):
    fn = Counted()
    result = spectrex.explain(fn, method=method, budget=budget, random_state=4)
    assert isinstance(result, Explanations) and result.names == ["a", "b"] and len(result) == 2
    for j, name in enumerate(["a", "b"]):
        single = spectrex.explain(lambda m, j=j: _two(m)[:, j], n=12, method=method, budget=budget, random_state=4)
        got = result[name]
        assert got.metadata["output"] == name
        assert np.array_equal(got.transform.supports, single.transform.supports)
        np.testing.assert_allclose(got.transform.coefs, single.transform.coefs, rtol=0, atol=1e-9)
    total = spectrex.explain(lambda m: _two(m).sum(1), n=12, method=method, budget=budget, random_state=4)
    assert np.array_equal(result.total.transform.supports, total.transform.supports)
    np.testing.assert_allclose(result.total.transform.coefs, total.transform.coefs, rtol=0, atol=1e-9)


def test_m_outputs_cost_the_model_passes_of_one():
    multi, single = Counted(), Counted()
    spectrex.explain(multi, method="proxyspex", budget=700, random_state=0)

    class One(Counted):
        outputs = total = None

        def __call__(self, masks):
            return super().__call__(masks)[:, 0]

    one = One()
    spectrex.explain(one, method="proxyspex", budget=700, random_state=0)
    assert (multi.calls, multi.rows) == (one.calls, one.rows) and multi.rows > 0
    del single


def test_undeclared_outputs_are_numbered_and_plain_functions_unchanged():
    result = spectrex.explain(_two, n=12, method="exact")
    assert isinstance(result, Explanations) and result.names == ["0", "1"] and result.total is None
    assert result[-1] is result[1] is result["1"] and len(result[:1]) == 1
    for bad in (2, 1.0, True):  # list's "index out of range" / "indices must be integers"; True was output 1
        with pytest.raises(IndexError, match="an output is given by its name or its position, 0 to 1"):
            result[bad]
    plain = spectrex.explain(lambda m: _two(m)[:, 0], n=12, method="exact")
    assert isinstance(plain, spectrex.Interactions)
    # a (q, 1) answer is still one output
    assert isinstance(spectrex.explain(lambda m: _two(m)[:, :1], n=12, method="exact"), spectrex.Interactions)


def test_cache_stores_vectors_and_a_rerun_sends_nothing(tmp_path):
    path = tmp_path / "answers.sqlite"
    fn = Counted()
    first = spectrex.explain(fn, method="proxyspex", budget=400, random_state=2, cache=path)
    sent = fn.rows
    again = spectrex.explain(fn, method="proxyspex", budget=400, random_state=2, cache=path)
    assert fn.rows == sent and again.metadata["queries"] == 0
    for a, b in zip(first.all(), again.all()):
        np.testing.assert_array_equal(a.transform.coefs, b.transform.coefs)
    with QueryCache(path) as cache:
        ns = cache.namespace("two-outputs@1", "", 12)
        bits, values = cache.load(ns, 1)
        assert values.shape == (len(bits), 2) and len(bits) == first.metadata["queries"]
        np.testing.assert_array_equal(
            values, _two(np.unpackbits(bits.view(np.uint8), axis=1, bitorder="little")[:, :12].astype(bool))
        )


def test_a_changing_number_of_outputs_is_refused():
    calls = []

    def shifty(masks):
        calls.append(1)
        return _two(masks) if len(calls) == 1 else _two(masks)[:, :1].repeat(3, axis=1)

    with pytest.raises(spectrex.ValueFunctionError, match="outputs"):
        spectrex.explain(shifty, n=12, method="proxyspex", budget=300, engine=QueryEngine(batch_size=50))


def test_json_round_trip_is_lossless(tmp_path):
    result = spectrex.explain(Counted(), method="proxyspex", budget=400, random_state=1)
    path = tmp_path / "r.json"
    text = result.to_json(path)
    back = Explanations.from_json(path)
    assert back.to_json() == text and back.names == result.names and back.total is not None
    assert json.loads(text)["schema"] == "spectrex.explanations/1"
    from spectrex.explanations import read_result

    assert isinstance(read_result(path), Explanations)
    assert isinstance(read_result(result[0].to_json()), spectrex.Interactions)
    for text in ("xx\n", "[1, 2", "{}"):  # a file that is not a result is named, never read as a path
        bad = tmp_path / "bad.json"
        bad.write_text(text)
        with pytest.raises(ValueError, match=f"{bad}"):
            read_result(bad)


def test_summary_and_heatmap():
    result = spectrex.explain(Counted(), method="exact")
    text = repr(result)
    assert '"a"' in text and "[a+b]" in text and "strongest pair" in text
    np.testing.assert_allclose(result.matrix("SV")[:, 0], result["a"].to("SV").first_order())
    # exact: the SV of output a sum to a(full) - a(empty)
    full = _two(np.ones((1, 12), bool))[0]
    np.testing.assert_allclose(result.matrix("SV").sum(0), full - _two(np.zeros((1, 12), bool))[0], atol=1e-9)
    pytest.importorskip("matplotlib")
    assert len(result.plot("tokens").axes[0].get_xticklabels()) == 2  # the two outputs
    assert len(result.plot("tokens", total=True).axes[0].get_xticklabels()) == 3  # and their total
    assert "<table>" in result._repr_html_()


def test_report_of_several_outputs_shows_the_heatmap_then_the_total(tmp_path):
    from spectrex.cli import main

    result = spectrex.explain(Counted(), method="exact")
    src = tmp_path / "r.json"
    result.to_json(src)
    assert main(["report", str(src), "-o", str(tmp_path / "r.html")]) == 0
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "Each output (parts × outputs)" in page and "report of output &#x27;a+b&#x27;" in page
    assert page.count("<tr>") >= 13  # a row per part, with the header


def test_cli_table_names_every_output_even_bracketed_ones(capsys):
    from rich.console import Console

    from spectrex.cli.output import print_outputs

    console = Console(width=200, force_terminal=False)
    print_outputs(spectrex.explain(Counted(), method="exact"), console)
    out = capsys.readouterr().out
    assert "[a+b]" in out and '"a"' in out and out.count("exact") >= 2  # rich markup does not eat "[a+b]"


class Answer(Counted):
    """Twenty outputs (a generated answer's tokens) over four parts."""

    n, outputs, total, fingerprint = 4, [f" tok{i}" for i in range(20)], "sequence", "twenty-outputs@1"

    def __call__(self, masks):
        m = masks.astype(float)
        return np.column_stack([m[:, i % 4] * (1 + i) - m[:, (i + 1) % 4] * m[:, i % 4] for i in range(20)])


@pytest.mark.parametrize("width", [80, 300])
def test_many_outputs_are_printed_in_blocks_that_fit_the_terminal(width, capsys):
    """Twenty tokens on an 80-column terminal were twenty columns cut to "…": every value and name was lost."""
    from rich.console import Console

    from spectrex.cli.output import print_outputs

    result = spectrex.explain(Answer(), method="exact")
    print_outputs(result, Console(width=width, force_terminal=False))
    out = capsys.readouterr().out
    assert "…" not in out and max(len(line) for line in out.splitlines()) <= width
    for name in ('" tok0"', '" tok19"', "[sequence]"):
        assert name in out
    sv = result.matrix("SV")
    for value in (sv[0, 0], sv[3, 19]):  # values of the first and the last block
        assert f"{value:+.3f}" in out
    blocks = out.count("of each part (rows)") + out.count("SV · outputs")
    assert (blocks > 1) == (width == 80) and ("outputs 1–" in out) == (blocks > 1)
    text = result.summary().text(width=width)  # the repr wraps the table the same way (prose lines wrap anyway)
    table = [line for line in text.splitlines() if line.startswith("  ")]
    assert max(len(line) for line in table) <= width and ("outputs 1–" in text) == (width == 80)
    assert all(f"{v:+.3f}" in text for v in sv[:, 19])


def test_column_blocks_pack_in_order_and_give_a_wide_column_its_own_block():
    from spectrex.report.outputs import column_blocks

    assert column_blocks([9, 9, 9], 30) == [slice(0, 3)]
    assert column_blocks([9, 9, 9], 20) == [slice(0, 2), slice(2, 3)]
    assert column_blocks([50, 9, 9], 20) == [slice(0, 1), slice(1, 3)]


def test_one_outputs_methods_asked_of_several_say_to_pick_one():
    """result.top(3) on a per-token result was "'Explanations' object has no attribute 'top'"; "a" in result was
    False (it compared the name with each output's explanation); Interactions.from_json of the file said it was no
    spectrex result."""
    result = spectrex.explain(Counted(), method="exact")
    for name in ("top", "first_order", "predict", "values", "to_shapiq"):
        with pytest.raises(AttributeError, match=rf"one explanation per output; \.{name} belongs .* result\[0\]"):
            getattr(result, name)
    with pytest.raises(AttributeError, match="has no attribute 'nonsense'"):
        result.nonsense  # noqa: B018
    assert "a" in result and "a+b" not in result and "c" not in result and result[1] in result
    with pytest.raises(ValueError, match="several outputs' explanations .*Explanations.from_json"):
        spectrex.Interactions.from_json(result.to_json())
    assert spectrex.Explanations.from_json(result.to_json()).names == ["a", "b"]


def test_errors_flag_shows_each_outputs_standard_errors(capsys):
    """--errors was ignored with --per-token / --all-labels (the parts × outputs table had no errors)."""
    from rich.console import Console

    from spectrex.cli.output import print_outputs

    result = spectrex.explain(Counted(), method="proxyspex", budget=600, random_state=0)
    print_outputs(result, Console(width=100, force_terminal=False), errors=True)
    out = capsys.readouterr().out
    assert "SV ± standard error of each part" in out and max(len(line) for line in out.splitlines()) <= 100
    se = result["a"].to("SV").std_error(0)
    value = result.matrix("SV")[0, 0]
    assert f"{value:+.3f} ±{se:.3f}" in out if se == se else f"{value:+.3f} ±—" in out

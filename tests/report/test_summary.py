"""The dataset summary: aggregates checked against hand counts and a brute-force Walsh transform; the page's safety."""

import itertools
import json
import urllib.request

import numpy as np
import pytest
from summary_helpers import XSS_ID, XSS_WORD, make_run

from spectrex import explain
from spectrex.report.serve import ResultServer
from spectrex.report.summary import faithfulness_histogram, recurring, render_summary, summarize
from spectrex.runs import load_results
from spectrex.runs.worker import order_shares


def _entry(rid, terms, r2=0.9, share=None):
    return {
        "id": rid,
        "status": "ok",
        "faithfulness": r2,
        "order_share": share or {"1": 0.5, "2": 0.5, "3+": 0.0},
        "top": [{"parts": list(p), "value": v} for p, v in terms],
    }


def test_recurring_groups_by_text_and_counts_records():
    entries = [
        _entry("a", [(("not", "good"), -2.0), (("good",), 1.0), (("Good.",), 3.0)]),  # "good" twice: counted once
        _entry("b", [(("Not", "good."), -4.0), (("bad",), -1.0)]),
        _entry("c", [(("bad",), -3.0)]),
        {"id": "d", "status": "invalid", "reason": "the text is empty"},
    ]
    rec = {tuple(p.lower().strip(".") for p in r["parts"]): r for r in recurring(entries)}
    assert rec[("not", "good")]["count"] == 2
    assert rec[("not", "good")]["mean"] == pytest.approx(-3.0)
    assert rec[("not", "good")]["share"] == pytest.approx(2 / 3)  # of the explained records
    assert rec[("good",)]["count"] == 1 and rec[("good",)]["mean"] == pytest.approx(1.0)
    assert rec[("bad",)]["count"] == 2 and rec[("bad",)]["mean"] == pytest.approx(-2.0)
    assert rec[("bad",)]["positive"] == 0.0
    assert recurring(entries, k=1)[0]["count"] == 2  # only each record's first term
    s = summarize(entries)
    assert s["records"] == {"total": 4, "ok": 3, "invalid": 1, "error": 0}
    assert [r["parts"] for r in s["recurring"]] == [["not", "good"]]
    assert s["order_share"]["2"] == pytest.approx(0.5)


def test_histogram_bins():
    h = faithfulness_histogram([-3.0, 0.05, 0.1, 0.55, 0.999, 1.0, 1.0])
    assert [b["count"] for b in h] == [2, 1, 0, 0, 0, 1, 0, 0, 0, 3]
    assert sum(b["count"] for b in h) == 7


def test_order_shares_match_a_brute_force_walsh_transform(planted_fn):
    n = planted_fn.n
    result = explain(planted_fn, n, method="exact")
    masks = np.array(list(itertools.product([False, True], repeat=n)))
    y = planted_fn(masks)
    # F(K) = mean over masks of f(m)·(-1)^{|K∩m|}, straight from the definition
    energy = {1: 0.0, 2: 0.0, 3: 0.0}
    for size in range(1, n + 1):
        for K in itertools.combinations(range(n), size):
            sign = (-1.0) ** masks[:, list(K)].sum(1)
            energy[min(size, 3)] += float(np.mean(y * sign)) ** 2
    total = sum(energy.values())
    assert total == pytest.approx(float(np.var(y)))  # Parseval
    got = order_shares(result)
    assert got["1"] == pytest.approx(energy[1] / total)
    assert got["2"] == pytest.approx(energy[2] / total)
    assert got["3+"] == pytest.approx(energy[3] / total)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return make_run(tmp_path_factory.mktemp("summary"))


def test_load_results_table(run_dir):
    rows = load_results(run_dir, as_frame=False)
    assert [r["status"] for r in rows].count("ok") == 4
    bad = [r for r in rows if r["status"] != "ok"]
    assert [r["reason"] for r in bad] == ["the text is empty"]
    ok = [r for r in rows if r["status"] == "ok"]
    assert all(r["faithfulness"] == pytest.approx(1.0) for r in ok)
    assert {r["top1"] for r in ok} >= {"not × good"}  # the planted pair leads where both words are present
    long = load_results(run_dir, long=True, as_frame=False)
    assert ("not", "good") in {r["parts"] for r in long}
    top1 = load_results(run_dir, long=True, k=1, as_frame=False)  # k was ignored in the long form
    assert len(top1) == 4 and {r["rank"] for r in top1} == {1} and len(long) > 4
    for bad in ({"k": "3"}, {"long": "yes"}, {"as_frame": "no"}):  # "yes" / "no" read as True
        with pytest.raises(ValueError, match="must be"):
            load_results(run_dir, **bad)
    pd = pytest.importorskip("pandas")
    frame = load_results(run_dir)
    assert isinstance(frame, pd.DataFrame) and len(frame) == 5
    assert {"id", "faithfulness", "share_order2", "top1", "top1_value"} <= set(frame.columns)


def test_summary_finds_the_planted_interaction(run_dir):
    s = summarize(run_dir)
    first = s["recurring"][0]
    assert first["parts"] == ["not", "good"] and first["count"] == 3
    assert first["mean"] == pytest.approx(-3.0)
    assert s["order_share"]["2"] > 0.2


def test_summary_page_embeds_data_inertly(run_dir, tmp_path):
    page = render_summary(run_dir, tmp_path / "s.html")
    assert page.count("<script") == 2  # the data block and the page's own code
    assert XSS_WORD not in page and "<img" not in page.split("<script type")[1]
    assert "Content-Security-Policy" in page and "script-src 'sha256-" in page
    data = json.loads(page.split('id="spectrex-summary">')[1].split("</script>")[0])
    assert XSS_ID in [r["id"] for r in data["rows"]]
    links = [r["link"] for r in data["rows"] if r["link"]]
    assert len(links) == 4 and all(
        link.startswith("reports/") and "<" not in link and '"' not in link for link in links
    )


def test_serve_shows_the_summary_of_a_run_folder(run_dir):
    srv = ResultServer(run_dir, port=0)
    srv.start_background()
    try:
        with urllib.request.urlopen(srv.url, timeout=10) as r:
            body = r.read().decode()
        assert 'id="spectrex-summary"' in body and "/view/records/" in body
        with urllib.request.urlopen(srv.url + "files", timeout=10) as r:
            assert "records/" in r.read().decode()
        with urllib.request.urlopen(srv.url + "view/records/r0.json", timeout=10) as r:
            assert r.status == 200
    finally:
        srv.shutdown()
        srv.server_close()

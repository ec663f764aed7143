"""matplotlib plots: each returns a Figure whose artists carry the result's numbers."""

import numpy as np
import pytest

pytest.importorskip("matplotlib", reason="plotting needs matplotlib (pip install 'spectrex[report]')")

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.collections import PathCollection  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Polygon  # noqa: E402

from spectrex.report import plots  # noqa: E402
from spectrex.report.counterfactual import removal_curve  # noqa: E402


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def test_bars_are_the_shapley_values(xss_result):
    fig = xss_result.plot("bars", index="SV", k=5)
    assert isinstance(fig, Figure)
    widths = sorted(abs(p.get_width()) for p in fig.axes[0].patches)
    sv = np.sort(np.abs(xss_result.to("SV").first_order()))[-5:]
    np.testing.assert_allclose(widths, sv)


def test_network_defaults_to_the_summarys_pairs(xss_result):
    fig = plots.plot_network(xss_result, k=12)
    ax = fig.axes[0]
    top = xss_result.to("SII", max_order=2).top(12)
    assert "SII" in ax.get_title()
    assert not any(isinstance(p, Polygon) for p in ax.patches)  # no order-3 triangles
    assert len(ax.lines) == sum(len(t.parts) == 2 for t in top) > 0


def test_network_edges_and_hyperedges(xss_result):
    k = 12
    fig = plots.plot_network(xss_result, index="Moebius", k=k)
    ax = fig.axes[0]
    top = xss_result.top(k)
    assert len(ax.lines) == sum(len(t.parts) == 2 for t in top)
    assert sum(isinstance(p, Polygon) for p in ax.patches) == sum(len(t.parts) > 2 for t in top)
    nodes = {p for t in top for p in t.parts}
    assert sum(isinstance(c, PathCollection) for c in ax.collections) == len(nodes)


def test_text_heat_map_shows_every_part(xss_result):
    fig = plots.plot_text(xss_result, width=4)
    shown = [t.get_text() for t in fig.texts]
    assert shown == xss_result.labels  # literal labels, in order (wrapped over several lines)
    assert len({round(t.get_position()[1], 6) for t in fig.texts}) > 1
    sv = xss_result.to("SV").first_order()
    hottest = fig.texts[int(np.argmax(sv))].get_bbox_patch().get_facecolor()
    assert hottest[0] > hottest[2]  # positive = red side of the map


def test_image_overlay_patches(xss_result):
    img = np.zeros((30, 30))
    fig = plots.plot_image(xss_result, img, grid=(3, 3))
    heat = fig.axes[0].images[1].get_array()
    sv = xss_result.to("SV").first_order()
    assert heat[0, 0] == pytest.approx(sv[0]) and heat[29, 29] == pytest.approx(sv[8]) and heat[0, 10] == sv[1]
    seg = np.full((30, 30), -1)
    seg[:10, :10] = 4
    fig = plots.plot_image(xss_result, img, segments=seg)
    heat = fig.axes[0].images[1].get_array()
    assert heat[0, 0] == pytest.approx(sv[4])
    assert np.ma.is_masked(heat[20, 20]) or np.isnan(heat[20, 20])  # pixels outside every part stay clear
    with pytest.raises(ValueError, match="grid"):
        plots.plot_image(xss_result, img, grid=(2, 2))


def test_faithfulness_and_removal_curves(xss_result, planted_fn):
    fig = plots.plot_faithfulness({"a": ([10, 100], [0.2, 0.9]), "b": ([10, 100], [0.5, 0.99])})
    assert [line.get_label() for line in fig.axes[0].lines] == ["a", "b"]
    np.testing.assert_allclose(fig.axes[0].lines[1].get_ydata(), [0.5, 0.99])
    curve = removal_curve(xss_result, planted_fn, 4)
    fig = plots.plot_removal(curve)
    np.testing.assert_allclose(fig.axes[0].lines[1].get_ydata(), curve["actual_change"])


def test_unknown_kind(xss_result):
    with pytest.raises(ValueError, match="unknown plot kind"):
        xss_result.plot("pie")


def test_missing_or_unknown_options_name_the_plot_kind(xss_result):
    # Python's "plot_image() missing 1 required positional argument" named a function the user never called
    with pytest.raises(TypeError, match=r"result.plot\('image'\) needs image=…; it takes: image, segments"):
        xss_result.plot("image")
    with pytest.raises(TypeError, match=r"result.plot\('bars'\) takes no colour; it takes: index, k, ax"):
        xss_result.plot("bars", colour="red")
    with pytest.raises(ValueError, match="k must be a positive integer"):  # [:-3] dropped the 3 strongest
        xss_result.plot("bars", k=-3)


def test_bars_and_the_notebook_summary_share_one_colour_convention():
    """Red raises the output, blue lowers it: the bar plot and the notebook summary use the same two colours."""
    import re

    from matplotlib.colors import to_hex

    from spectrex import explain

    def f(masks):
        m = masks.astype(float)
        return 2.0 * m[:, 0] - 1.5 * m[:, 1] + 0.2 * m[:, 2]

    result = explain(f, 3, method="exact", labels=["up", "down", "bit"])
    fig = result.plot("bars")
    by_width = {round(p.get_width(), 6): to_hex(p.get_facecolor()) for p in fig.axes[0].patches}
    html = result._repr_html_()
    row = r"<td style='text-align:left'>(\w+)</td><td>[^<]*</td><td><span[^>]*background:(#[0-9a-f]{6})"
    colour_of = dict(re.findall(row, html))
    assert colour_of["up"] == by_width[2.0] and colour_of["down"] == by_width[-1.5], (colour_of, by_width)
    assert colour_of["up"] != colour_of["down"]

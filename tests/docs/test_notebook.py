"""examples/notebook.ipynb runs top to bottom in a real Jupyter kernel (nbclient), so it cannot rot."""

from pathlib import Path

import pytest

nbformat = pytest.importorskip(
    "nbformat", reason="the notebook test needs nbformat + nbclient + ipykernel (test extra)"
)
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOK = Path(__file__).resolve().parents[2] / "examples" / "notebook.ipynb"


def test_notebook_executes_with_progress_summary_and_inline_plots():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbclient.NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOK.parent)}}
    ).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    errors = [o for o in outputs if o.output_type == "error"]
    assert not errors, errors
    kinds = [set(o.get("data", {})) for o in outputs]
    # the query progress is a live widget in the cell (rich + ipywidgets), not text on a terminal
    assert any("application/vnd.jupyter.widget-view+json" in k for k in kinds)
    # the result displays as the HTML summary, leading with the toy model's real interaction
    html = [
        o["data"]["text/html"]
        for o in outputs
        if o.output_type == "execute_result" and "text/html" in o.get("data", {})
    ]
    assert html and "spectrex-result" in html[0] and "not × good" in html[0] and "Shapley" in html[0]
    # the three plots (bars, network, the tokens' heatmap) are shown inline, once each, as images
    pngs = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(pngs) == 3
    # several outputs display as the parts × outputs table, with each token's strongest pair
    assert any("spectrex-outputs" in h and "&quot; fine&quot;" in h and "strongest pair" in h for h in html)
    assert not any(
        "<Figure size" in o.get("data", {}).get("text/plain", "") and "image/png" not in o["data"] for o in outputs
    )

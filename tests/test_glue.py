"""tying.glue: a value for the prose, silent outside a kernel."""

import pytest

from tying.glue import glue


def test_glue_returns_the_value_outside_a_kernel():
    assert glue("n_params", 608) == 608


@pytest.mark.parametrize("bad", ["", "two words", "a.b", 3])
def test_glue_refuses_names_the_prose_cannot_refer_to(bad):
    with pytest.raises(ValueError, match="glue names"):
        glue(bad, 1)


def test_glue_records_a_hidden_output_in_a_kernel():
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("myst_nb")
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("from tying.glue import glue\nx = glue('ratio', 0.25)"),
        nbformat.v4.new_code_cell("import numpy as np\nx = glue('half', np.float64(0.5))"),
    ]
    nbclient.NotebookClient(nb, timeout=60, kernel_name="python3").execute()
    (scalar,) = nb.cells[1].outputs
    assert scalar["data"]["application/papermill.record/text/plain"] == "0.5"
    (output,) = nb.cells[0].outputs
    assert output["metadata"]["scrapbook"]["name"] == "ratio"
    # Hidden: only the prefixed mime type, which no renderer shows on the page.
    assert all(k.startswith("application/papermill.record/") for k in output["data"])
    assert output["data"]["application/papermill.record/text/plain"] == "0.25"
    # The same record myst-nb itself writes, so the book build can read it.
    from myst_nb.ext.glue import GLUE_PREFIX

    from tying.glue import GLUE_PREFIX as ours

    assert ours == GLUE_PREFIX

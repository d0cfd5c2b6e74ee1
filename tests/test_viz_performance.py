"""The performance appendix's helpers, on the committed benchmark results and on bad input."""

import io
import json

import pytest
from conftest import ROOT

from tying.viz import new_figure
from tying.viz.performance import (
    conv_matrix_summary,
    find_benchmark_file,
    load_benchmark_file,
    locally_connected_summary,
    markdown_table,
    parse_shape,
    plot_bandwidth,
    plot_checkpoint_sizes,
    plot_scaling,
    plot_times,
    select,
    speedups,
)


@pytest.fixture(scope="module")
def results():
    return load_benchmark_file("results.json", ROOT)


def test_files_are_found_from_a_subfolder_and_missing_ones_say_how_to_make_them(tmp_path):
    assert find_benchmark_file("results.json", ROOT / "notebooks" / "appendix") == (
        ROOT / "benchmarks" / "results.json"
    )
    with pytest.raises(FileNotFoundError, match=r"python -m benchmarks\.budgets"):
        find_benchmark_file("budgets.json", tmp_path)
    with pytest.raises(FileNotFoundError, match=r"`python -m benchmarks`"):
        find_benchmark_file("results.json", tmp_path)


def test_select_filters_and_names_the_cases_it_has(results):
    rows = select(results, "LocallyConnected2d", mode="forward", impl="vectorised")
    assert rows and all(r["impl"] == "vectorised" and r["mode"] == "forward" for r in rows)
    with pytest.raises(KeyError, match="CirculantLinear"):
        select(results, "NoSuchLayer")


def test_speedups_are_the_baseline_over_the_library(results):
    loop = {
        r["shape"]: r
        for r in select(results, "LocallyConnected2d", mode="forward", impl="naive loop")
    }
    lib = {
        r["shape"]: r
        for r in select(results, "LocallyConnected2d", mode="forward", impl="vectorised")
    }
    for shape, ratio in speedups(results, "LocallyConnected2d", "forward", "naive loop").items():
        assert ratio == pytest.approx(loop[shape]["median_s"] / lib[shape]["median_s"])


def test_parse_shape_reads_the_benchmark_labels():
    assert parse_shape("N=8, C=16->16, 16x16, k=3") == {
        "N": 8,
        "C": 16,
        "C_out": 16,
        "H": 16,
        "W": 16,
        "k": 3,
    }
    assert parse_shape("n=1024, batch=16") == {"n": 1024, "batch": 16}


def test_markdown_table_escapes_pipes():
    table = markdown_table(["a", "b"], [["x|y", 1]])
    assert table.splitlines() == ["| a | b |", "|---|---|", r"| x\|y | 1 |"]


def test_every_plot_draws_the_committed_results(results):
    fig, axes = new_figure(ncols=5)
    plot_times(results, "LocallyConnected2d", "forward", axes[0, 0])
    plot_bandwidth(results, ax=axes[0, 1])
    plot_scaling(results, "forward", axes[0, 2])
    plot_checkpoint_sizes(results, ax=axes[0, 3])
    plot_times(results, "HashedLinear", "forward+backward", axes[0, 4])
    # one bar per (shape, implementation) row that was measured
    n_rows = len([r for r in select(results, "LocallyConnected2d", mode="forward")])
    assert len(axes[0, 0].patches) == n_rows
    assert len(axes[0, 1].patches) == len(
        [r for r in select(results, "LocallyConnected2d", mode="forward") if "bytes_per_s" in r]
    )
    labels = [t.get_text() for t in axes[0, 2].get_legend().get_texts()]
    assert any(label.startswith("FFT circulant (slope") for label in labels)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")  # renders every artist, text and log axis included
    assert buffer.getvalue().startswith(b"\x89PNG")


def test_results_file_is_a_full_run():
    results = json.loads((ROOT / "benchmarks" / "results.json").read_text())
    assert results["quick"] is False
    assert {r["case"] for r in results["rows"]} >= {"LocallyConnected2d", "CirculantLinear"}


def test_locally_connected_summary_matches_the_rows(results):
    records = locally_connected_summary(results)
    vectorised = select(results, "LocallyConnected2d", mode="forward", impl="vectorised")
    assert [r["shape"] for r in records] == [r["shape"] for r in vectorised]
    for record, row in zip(records, vectorised):
        assert record["forward_s"] == row["median_s"]
        assert record["floor_s"] == pytest.approx(
            row["bytes"] / results["copy_bandwidth"]["bytes_per_s"]
        )
        loop = next(
            r
            for r in select(results, "LocallyConnected2d", mode="forward", impl="naive loop")
            if r["shape"] == row["shape"]
        )
        assert record["forward_speedup"] == pytest.approx(loop["median_s"] / row["median_s"])
        assert record["speedup_at_copy_bandwidth"] == pytest.approx(
            loop["median_s"] / record["floor_s"]
        )


def test_conv_matrix_summary_marks_untimed_training_steps(results):
    records = conv_matrix_summary(results)
    assert len(records) == len(select(results, "conv2d_as_matrix", mode="build"))
    for record in records:
        assert record["product_s"] > 0 and record["conv_s"] > 0
        timed = record["step_s"] is not None
        assert timed == (record["conv_step_s"] is not None)
        assert timed == ("training step not timed" not in record["note"])

"""Smoke run of the benchmark runner (tiny sizes, one repeat), so it cannot rot."""

import json
import subprocess
import sys

import pytest
from conftest import ROOT


def test_quick_benchmark_run_writes_results(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["quick"] is True
    assert {"cpu", "torch", "device", "torch_threads"} <= set(results["machine"])
    assert results["copy_bandwidth"]["bytes_per_s"] > 0
    rows = results["rows"]
    assert rows, "no benchmark rows"
    for row in rows:
        assert row["min_s"] <= row["median_s"] <= row["max_s"]
        assert row["relative_to_library"] > 0
        assert row["mode"] in ("forward", "forward+backward", "build", "matmul", "memory")
    cases = {row["case"] for row in rows}
    assert {
        "LocallyConnected2d",
        "conv2d_as_matrix",
        "CirculantLinear",
        "HashedLinear",
        "LM parameter memory",
    } <= cases
    memory = {r["impl"]: r for r in rows if r["case"] == "LM parameter memory"}
    assert memory["tied"]["params"] < memory["untied"]["params"]
    assert memory["tied"]["median_s"] < memory["untied"]["median_s"], (
        "a tied tensor must be stored once"
    )
    table = (tmp_path / "RESULTS.md").read_text()
    assert "| shape | implementation |" in table and "Quick smoke run" in table


def test_time_mode_runs_inference_without_autograd_and_training_with_it():
    import torch

    from benchmarks.harness import MODES, time_mode

    layer = torch.nn.Linear(4, 3)
    x = torch.randn(2, 4)
    seen = []

    def fn(xi):
        seen.append((xi.requires_grad, torch.is_grad_enabled()))
        return layer(xi)

    timing = time_mode(fn, x, "forward", device=torch.device("cpu"), repeats=2)
    assert timing.repeats == 2 and timing.median_s > 0
    assert set(seen) == {(False, False)} and layer.weight.grad is None
    seen.clear()
    time_mode(fn, x, "forward+backward", device=torch.device("cpu"), repeats=2)
    assert set(seen) == {(True, True)} and layer.weight.grad is not None
    assert not x.requires_grad, "the caller's input is left as it was"
    assert MODES == ("forward", "forward+backward")
    with pytest.raises(ValueError, match="mode must be one of"):
        time_mode(fn, x, "backward", device=torch.device("cpu"))


def test_ratios_and_bandwidth_bound_are_computed_within_a_group():
    from benchmarks.report import add_ratios

    def row(impl, median, **extra):
        return {
            "case": "c",
            "shape": "s",
            "mode": "forward",
            "impl": impl,
            "median_s": median,
            **extra,
        }

    library = row("lib", 2e-3, library=True, bytes=8_000_000, bytes_per_s=4e9)
    slow = row("loop", 20e-3)
    other = row("conv", 1e-3, same_layer=False)
    elsewhere = {**row("loop", 5e-3), "mode": "forward+backward"}
    rows = [slow, library, other, elsewhere]
    add_ratios(rows, copy_bytes_per_s=8e9)
    assert slow["relative_to_library"] == 10 and other["relative_to_library"] == 0.5
    assert elsewhere["relative_to_library"] == 1  # alone in its group: its own reference
    assert library["fraction_of_copy_bandwidth"] == 0.5
    assert library["bandwidth_floor_s"] == 1e-3  # 8 MB at 8 GB/s
    assert slow["speedup_bound"] == 20  # 20 ms against a 1 ms floor
    assert "speedup_bound" not in other and "speedup_bound" not in elsewhere


def test_committed_table_and_readme_headlines_come_from_the_committed_results():
    from benchmarks.report import markdown, readme_block

    results = json.loads((ROOT / "benchmarks" / "results.json").read_text())
    assert (ROOT / "benchmarks" / "RESULTS.md").read_text() == markdown(results)
    assert readme_block(results) in (ROOT / "README.md").read_text(), (
        "README headlines differ from benchmarks/results.json; rerun `python -m benchmarks`"
    )


def test_readme_update_needs_its_markers():
    from benchmarks.report import update_readme

    with pytest.raises(ValueError, match="headlines:start"):
        update_readme("# no markers here\n", {"rows": []})


def test_the_package_ships_the_committed_results():
    """The performance appendix reads the copy inside the package, so it runs without a checkout."""
    from importlib.resources import files

    shipped = json.loads(files("tying").joinpath("benchmark_results.json").read_text())
    committed = json.loads((ROOT / "benchmarks" / "results.json").read_text())
    assert shipped == committed, (
        "lib/tying/benchmark_results.json differs from benchmarks/results.json; "
        "a full `python -m benchmarks` writes both"
    )
    assert committed["quick"] is False, "the committed run is a full one, not the smoke run"
    assert {r["case"] for r in committed["rows"]} >= {
        "LocallyConnected2d",
        "CirculantLinear",
        "conv2d_as_matrix",
        "HashedLinear",
        "LM parameter memory",
    }

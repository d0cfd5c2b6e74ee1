"""A grading run after an interrupted one in the same process grades again (the stop is not sticky)."""

from __future__ import annotations

from tying.grading import cli, runner


def test_a_new_run_after_ctrl_c_starts_kernels_again(tmp_path, monkeypatch, capsys):
    runner.stop_all()  # what Ctrl-C does to a run in this process
    assert runner._STOP.is_set()
    monkeypatch.chdir(tmp_path)
    missing = tmp_path / "none.ipynb"
    missing.write_text("{}")
    cli.main([str(missing), "--timeout", "5"])
    assert not runner._STOP.is_set(), "a new run must be allowed to start kernels"
    capsys.readouterr()

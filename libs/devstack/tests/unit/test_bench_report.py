"""Benchmark figures: ratio() prints and records the comparison only when make bench names a
results file; the report turns the recorded lines into a table and one chart per comparison."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentmesh_devstack import bench
from agentmesh_devstack.bench import Rounds, ratio
from agentmesh_devstack.bench_report import FIGURES_FILE, main, read


def test_ratio_is_printed_and_not_recorded_without_a_results_file(monkeypatch, capsys, tmp_path: Path):
    monkeypatch.delenv(bench.RESULTS_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    value = ratio(
        "ours / raw", Rounds("ours", "ms", [2.0, 4.0, 3.0]), Rounds("raw", "ms", [1.0, 2.0, 1.5]), "goal <= 2"
    )
    assert value == pytest.approx(2.0)
    assert "ours / raw: 2.00x  (goal <= 2)" in capsys.readouterr().out
    assert list(tmp_path.iterdir()) == []


def test_recorded_comparisons_make_a_table_and_a_chart_each(monkeypatch, tmp_path: Path):
    monkeypatch.setenv(bench.RESULTS_ENV, str(tmp_path / FIGURES_FILE))
    ratio("search ours / raw", Rounds("ours (index)", "ms", [0.5, 0.7, 0.6]), Rounds("raw engine", "ms", [0.4, 0.5]))
    ratio("ingest ours / raw", Rounds("ours", "chunks/s", [130.0]), Rounds("raw", "chunks/s", [100.0]), ">= 0.8")

    lines = [json.loads(line) for line in (tmp_path / FIGURES_FILE).read_text().splitlines()]
    assert [line["label"] for line in lines] == ["search ours / raw", "ingest ours / raw"]
    assert lines[0]["numerator"]["values"] == [0.5, 0.7, 0.6] and len(lines[0]["load"]) == 3
    comparisons = read(tmp_path)
    assert comparisons[0].ratio == pytest.approx(0.6 / 0.45)
    assert comparisons[0].numerator.spread == (0.5, 0.6, 0.7)

    assert main([str(tmp_path)]) == 0
    table = (tmp_path / "report.md").read_text()
    assert (
        "| search ours / raw | 1.33x | — | ours (index): 0.60 ms (0.50 to 0.70) | raw engine: 0.45 ms (0.40 to 0.50)"
        in table
    )
    assert "| ingest ours / raw | 1.30x | >= 0.8 |" in table
    page = (tmp_path / "report.html").read_text()
    assert page.count("<svg") == 2 and "(goal &gt;= 0.8)" in page


def test_a_run_without_figures_says_so(tmp_path: Path):
    assert main([str(tmp_path)]) == 0
    assert "No comparison was recorded." in (tmp_path / "report.html").read_text()
    assert main([]) == 2


def test_the_readme_block_becomes_the_runs_goals(monkeypatch, tmp_path: Path):
    monkeypatch.setenv(bench.RESULTS_ENV, str(tmp_path / FIGURES_FILE))
    ratio("search ours / raw", Rounds("ours", "ms", [0.6]), Rounds("raw", "ms", [0.5]))  # no goal: not quoted
    ratio("ingest ours / raw", Rounds("ours", "chunks/s", [130.0]), Rounds("raw", "chunks/s", [100.0]), ">= 0.8")
    ratio("hop REST / direct", Rounds("REST", "ms", [3.0]), Rounds("direct", "ms", [1.0]), "<= 2")
    ratio("fire to queued", Rounds("now", "ms", [60.0]), Rounds("before", "ms", [50.0]), "now: p95 <= 1,000 ms")
    readme = tmp_path / "README.md"
    block = "<!-- bench-figures:begin -->\nold figures\n<!-- bench-figures:end -->"
    readme.write_text(f"# title\n\nbefore\n{block}\nafter\n")

    assert main([str(tmp_path), "--readme", str(readme)]) == 0
    text = readme.read_text()
    assert text.startswith("# title\n\nbefore\n<!-- bench-figures:begin -->\n") and text.endswith("-->\nafter\n")
    assert "old figures" not in text and "search ours / raw" not in text
    assert "| ingest ours / raw | 1.30x | >= 0.8 | met | ours: 130 chunks/s | raw: 100 chunks/s |" in text
    assert "| hop REST / direct | 3.00x | <= 2 | not met |" in text
    assert "| fire to queued | 1.20x | now: p95 <= 1,000 ms | see the figures |" in text


def test_a_readme_without_the_markers_is_refused(tmp_path: Path):
    readme = tmp_path / "README.md"
    readme.write_text("# no markers\n")
    with pytest.raises(ValueError, match="bench-figures"):
        main([str(tmp_path), "--readme", str(readme)])
    assert readme.read_text() == "# no markers\n"


def test_tree_cpu_counts_a_process_and_its_children_unless_left_out():
    import os
    import subprocess
    import time

    import psutil

    # A child of another name (sh) that spends some CPU, then sleeps.
    busy = "i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done; sleep 30"
    child = subprocess.Popen(["sh", "-c", busy])
    try:
        spent, before, deadline = 0.0, -1.0, time.monotonic() + 30
        while spent != before and time.monotonic() < deadline:  # until its busy part is over
            before = spent
            time.sleep(0.2)
            times = psutil.Process(child.pid).cpu_times()
            spent = times.user + times.system
        assert spent > 0
        with_child = bench.tree_cpu_seconds(os.getpid())
        without = bench.tree_cpu_seconds(os.getpid(), leave_out="sh")
        assert with_child - without >= spent * 0.8  # this process runs on a little between the two readings
        assert without >= sum(psutil.Process().cpu_times()[:2]) - 0.05  # this process itself is counted
    finally:
        child.kill()
        child.wait()


def test_tree_cpu_counts_children_that_have_exited():
    import os
    import subprocess

    before = bench.tree_cpu_seconds(os.getpid())
    # A short-lived worker (a database backend, say): it spends CPU, exits and is reaped.
    subprocess.run(["sh", "-c", "i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done"], check=True)
    assert bench.tree_cpu_seconds(os.getpid()) - before >= 0.05

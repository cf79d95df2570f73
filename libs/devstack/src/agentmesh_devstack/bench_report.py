"""The benchmark report: every comparison `make bench` recorded, as a table and a chart each.

    python -m agentmesh_devstack.bench_report bench/results/<run> [--readme README.md]

Reads <run>/figures.jsonl (written by agentmesh_devstack.bench.record) and writes
<run>/report.md (every comparison) and <run>/report.html (the same table and, per
comparison, both sides' min/median/max over the rounds as an inline SVG chart: no
plotting library needed to write or to view it). With --readme, the README's block
between the two `bench-figures` markers becomes the comparisons that have a goal,
so the figures the README quotes are always one whole run's.
"""

from __future__ import annotations

import html
import json
import re
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path

FIGURES_FILE = "figures.jsonl"
README_BEGIN, README_END = "<!-- bench-figures:begin -->", "<!-- bench-figures:end -->"
_RATIO_GOAL = re.compile(r"(<=|>=)\s*([0-9.]+)")
_BAR_WIDTH, _ROW_HEIGHT, _LABEL_WIDTH = 360, 22, 300


@dataclass(frozen=True)
class Side:
    label: str
    unit: str
    values: list[float]

    @property
    def spread(self) -> tuple[float, float, float]:
        return min(self.values), statistics.median(self.values), max(self.values)


@dataclass(frozen=True)
class Comparison:
    bench: str
    label: str
    ratio: float
    goal: str
    numerator: Side
    denominator: Side
    load: tuple[float, float, float]
    cores: int

    @classmethod
    def from_line(cls, line: str) -> Comparison:
        raw = json.loads(line)
        return cls(
            bench=raw["bench"],
            label=raw["label"],
            ratio=float(raw["ratio"]),
            goal=raw.get("goal", "").removeprefix("goal").strip(),  # "goal <= 2" and "<= 2" alike
            numerator=Side(**raw["numerator"]),
            denominator=Side(**raw["denominator"]),
            load=tuple(raw["load"]),
            cores=int(raw["cores"]),
        )


def read(run_dir: Path) -> list[Comparison]:
    path = run_dir / FIGURES_FILE
    if not path.is_file():
        return []
    return [Comparison.from_line(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _fmt(value: float) -> str:
    return f"{value:,.2f}" if abs(value) < 100 else f"{value:,.0f}"


def _side_cell(side: Side) -> str:
    low, mid, high = side.spread
    return f"{side.label}: {_fmt(mid)} {side.unit} ({_fmt(low)} to {_fmt(high)})"


def markdown(comparisons: list[Comparison]) -> str:
    lines = [
        "| bench | comparison | ratio | goal | numerator: median (min to max) "
        "| denominator: median (min to max) | load (1 min) |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for c in comparisons:
        lines.append(
            f"| {c.bench} | {c.label} | {c.ratio:.2f}x | {c.goal or '—'} | {_side_cell(c.numerator)} "
            f"| {_side_cell(c.denominator)} | {c.load[0]:.1f} on {c.cores} cores |"
        )
    return "\n".join(lines) + "\n"


def goal_met(c: Comparison) -> bool | None:
    """Whether the ratio meets a goal written as `<= x` or `>= x`; None for a goal on something else."""
    match = _RATIO_GOAL.fullmatch(c.goal)
    if match is None:
        return None
    bound = float(match.group(2))
    return c.ratio <= bound if match.group(1) == "<=" else c.ratio >= bound


def readme_block(comparisons: list[Comparison], run_dir: Path) -> str:
    """The README's figures: each comparison with a goal, from one run."""
    verdicts = {True: "met", False: "not met", None: "see the figures"}
    lines = [
        README_BEGIN,
        f"From one `make bench` run, `{run_dir.as_posix()}` (`report.md` there has every comparison, "
        "`report.html` a chart each); load is the 1-minute average.",
        "",
        "| bench | comparison | ratio | goal | | numerator (median) | denominator (median) | load |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for c in comparisons:
        if not c.goal:
            continue
        lines.append(
            f"| {c.bench} | {c.label} | {c.ratio:.2f}x | {c.goal} | {verdicts[goal_met(c)]} "
            f"| {c.numerator.label}: {_fmt(c.numerator.spread[1])} {c.numerator.unit} "
            f"| {c.denominator.label}: {_fmt(c.denominator.spread[1])} {c.denominator.unit} "
            f"| {c.load[0]:.1f} on {c.cores} cores |"
        )
    return "\n".join([*lines, README_END])


def update_readme(readme: Path, block: str) -> None:
    """Replace the text between the markers (inclusive) with block."""
    text = readme.read_text(encoding="utf-8")
    begin, end = text.find(README_BEGIN), text.find(README_END)
    if begin < 0 or end < begin:
        raise ValueError(f"{readme} has no {README_BEGIN} ... {README_END} block")
    readme.write_text(text[:begin] + block + text[end + len(README_END) :], encoding="utf-8")


def _chart(c: Comparison) -> str:
    """Both sides' min to max as a thin bar and the median as a thick one, on one scale."""
    top = max(max(c.numerator.values), max(c.denominator.values)) or 1.0
    rows = []
    for index, side in enumerate((c.numerator, c.denominator)):
        low, mid, high = side.spread
        y = index * _ROW_HEIGHT
        scale = _BAR_WIDTH / top
        rows.append(
            f'<text x="0" y="{y + 15}" font-size="12">{html.escape(side.label)}</text>'
            f'<rect x="{_LABEL_WIDTH}" y="{y + 4}" width="{mid * scale:.1f}" height="14" fill="#4c78a8"/>'
            f'<line x1="{_LABEL_WIDTH + low * scale:.1f}" x2="{_LABEL_WIDTH + high * scale:.1f}" '
            f'y1="{y + 11}" y2="{y + 11}" stroke="#222" stroke-width="2"/>'
            f'<text x="{_LABEL_WIDTH + _BAR_WIDTH + 8}" y="{y + 15}" font-size="12">'
            f"{_fmt(mid)} {html.escape(side.unit)}</text>"
        )
    width, height = _LABEL_WIDTH + _BAR_WIDTH + 120, 2 * _ROW_HEIGHT + 4
    return f'<svg width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg">{"".join(rows)}</svg>'


def html_page(comparisons: list[Comparison], title: str) -> str:
    sections = []
    for c in comparisons:
        goal = f" (goal {html.escape(c.goal)})" if c.goal else ""
        sections.append(
            f"<h3>{html.escape(c.bench)}: {html.escape(c.label)}: {c.ratio:.2f}x{goal}</h3>"
            f"<p>load average {c.load[0]:.1f} {c.load[1]:.1f} {c.load[2]:.1f} on {c.cores} cores; "
            "bar: median, line: min to max over the rounds</p>" + _chart(c)
        )
    body = "\n".join(sections) or "<p>No comparison was recorded.</p>"
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title></head>"
        f"<body style='font-family: sans-serif'><h1>{html.escape(title)}</h1>\n{body}\n</body></html>\n"
    )


def write_report(run_dir: Path) -> int:
    """Write report.md and report.html in run_dir; return how many comparisons they hold."""
    comparisons = read(run_dir)
    (run_dir / "report.md").write_text(markdown(comparisons), encoding="utf-8")
    (run_dir / "report.html").write_text(html_page(comparisons, f"agentmesh benchmarks: {run_dir.name}"), "utf-8")
    return len(comparisons)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    readme = None
    if len(args) == 3 and args[1] == "--readme":
        readme = Path(args[2])
    elif len(args) != 1:
        sys.stderr.write("usage: python -m agentmesh_devstack.bench_report <results dir> [--readme README.md]\n")
        return 2
    run_dir = Path(args[0])
    count = write_report(run_dir)
    print(f"bench report: {count} comparisons in {run_dir / 'report.html'} and {run_dir / 'report.md'}")
    if readme is not None:
        update_readme(readme, readme_block(read(run_dir), run_dir))
        print(f"bench report: the figures in {readme} are this run's")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The Helm chart, loaded once per module."""

from __future__ import annotations

from collections.abc import Iterator

import helm_python as helm
import pytest
from helm_chart import CHART_DIR, KeyedChart


@pytest.fixture(scope="module")
def chart() -> Iterator[helm.Chart]:
    """The chart; it renders with the test identity keys unless values give others (helm_chart.KeyedChart)."""
    with helm.Chart.load(CHART_DIR) as loaded:
        yield KeyedChart(loaded)  # type: ignore[misc]  # renders as a helm.Chart does

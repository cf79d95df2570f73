"""A stopped engine reads as idle: a metrics scrape after shutdown must not fail."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from agentmesh_inference.adapters.engine_config import EngineConfig
from agentmesh_inference.adapters.engine_stats import StatsRecorder
from agentmesh_inference.adapters.vllm_engine import VllmEngine
from agentmesh_inference.domain.models import EngineStats


class StoppableLLM:
    """The part of vLLM's AsyncLLM the adapter touches outside generation."""

    def __init__(self) -> None:
        self.model_config = SimpleNamespace(max_model_len=2048, get_diff_sampling_param=dict)
        self.stopped = False

    def get_tokenizer(self) -> object:
        return object()

    def get_num_unfinished_requests(self) -> int:
        assert not self.stopped, "asked a stopped engine"
        return 3

    def shutdown(self) -> None:
        self.stopped = True


def test_a_stopped_engine_reads_as_idle(tmp_path: Path) -> None:
    llm = StoppableLLM()
    engine = VllmEngine(llm, EngineConfig(model=str(tmp_path)), "cpu", StatsRecorder(8))  # type: ignore[arg-type]
    assert engine.unfinished_requests == 3
    engine.shutdown()
    assert llm.stopped
    assert engine.stats() == EngineStats() and engine.unfinished_requests == 0

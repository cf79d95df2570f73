"""Fixtures shared by the inference tests: the tiny model and one vLLM engine per session.

Loading vLLM takes tens of seconds, so the engine is session-scoped and shared by
the adapter and service suites. It is created inside the fixture, never at import
time (vLLM spawns processes).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from agentmesh_inference.adapters.engine_config import EngineConfig
from agentmesh_inference.tiny_model import ensure_tiny_model


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny random-weight model, created once per session in a temp dir."""
    return ensure_tiny_model(tmp_path_factory.mktemp("models") / "tiny-llama")


@pytest.fixture(scope="session")
async def vllm_engine(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator:
    """The real vLLM engine on the tiny model (CPU here)."""
    from agentmesh_inference.adapters.vllm_engine import VllmEngine

    config = EngineConfig(
        model=str(tiny_model_dir),
        max_num_seqs=32,
        random_weights=True,
        log_config_dir=tmp_path_factory.mktemp("vllm-logging"),
    )
    engine = await VllmEngine.start(config)
    yield engine
    engine.shutdown()

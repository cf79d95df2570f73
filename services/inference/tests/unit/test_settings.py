"""Settings: the default model is the tiny one in the run dir; env overrides apply."""

from __future__ import annotations

from pathlib import Path

from agentmesh_inference.settings import InferenceSettings
from agentmesh_inference.tiny_model import MARKER_FILE


def test_defaults(monkeypatch):
    for name in ("AGENTMESH_MODEL", "AGENTMESH_RUN_DIR", "AGENTMESH_INFERENCE_LISTEN_ADDR"):
        monkeypatch.delenv(name, raising=False)
    settings = InferenceSettings()
    assert settings.uses_default_model
    assert settings.model_path == str(Path(".run") / "models" / "tiny-llama")
    assert settings.inference_listen_addr == "127.0.0.1:50053"
    assert settings.engine_config().max_model_len == 2048
    assert settings.limits().max_tokens_cap == 512


def test_environment_overrides(monkeypatch, tmp_path):
    model = tmp_path / "my-model"
    model.mkdir()
    monkeypatch.setenv("AGENTMESH_MODEL", str(model))
    monkeypatch.setenv("AGENTMESH_MAX_TOKENS_CAP", "64")
    monkeypatch.setenv("AGENTMESH_DEFAULT_MAX_TOKENS", "100")
    monkeypatch.setenv("AGENTMESH_CPU_KV_CACHE_GIB", "2")
    monkeypatch.setenv("AGENTMESH_INFERENCE_CPU_THREADS", "3")
    settings = InferenceSettings()
    assert not settings.uses_default_model and settings.model_path == str(model)
    assert settings.limits().default_max_tokens == 64  # never above the cap
    config = settings.engine_config()
    assert config.cpu_kv_cache_gib == 2 and config.cpu_threads == 3 and not config.random_weights
    (model / MARKER_FILE).write_text("{}")
    assert settings.engine_config().random_weights


def test_hub_ids_are_not_random(monkeypatch):
    monkeypatch.setenv("AGENTMESH_MODEL", "Qwen/Qwen2.5-0.5B-Instruct")
    assert not InferenceSettings().engine_config().random_weights


def test_stream_interval_reaches_the_engine_arguments(monkeypatch, tiny_model_dir: Path):
    # vLLM's engine arguments check the model: a path that exists (the run dir's may not, on a clean clone).
    monkeypatch.setenv("AGENTMESH_MODEL", str(tiny_model_dir))
    assert InferenceSettings().engine_config().engine_args().stream_interval == 1  # every token streamed
    monkeypatch.setenv("AGENTMESH_STREAM_INTERVAL", "4")
    config = InferenceSettings().engine_config()
    assert config.stream_interval == 4
    assert config.engine_args().stream_interval == 4

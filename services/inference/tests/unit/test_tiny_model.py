"""The tiny model directory: complete, idempotent, with a working chat template."""

from __future__ import annotations

import json
from pathlib import Path

from agentmesh_inference.tiny_model import MARKER_FILE, ensure_tiny_model, is_complete, is_random_model


def test_directory_is_complete_and_marked_random(tiny_model_dir: Path):
    assert is_complete(tiny_model_dir) and is_random_model(tiny_model_dir)
    config = json.loads((tiny_model_dir / "config.json").read_text())
    assert (config["num_hidden_layers"], config["hidden_size"], config["head_dim"]) == (2, 128, 64)
    assert config["max_position_embeddings"] == 2048
    tokenizer_config = json.loads((tiny_model_dir / "tokenizer_config.json").read_text())
    assert "add_generation_prompt" in tokenizer_config["chat_template"]
    assert json.loads((tiny_model_dir / MARKER_FILE).read_text())["random_weights"] is True


def test_second_call_leaves_the_model_alone(tiny_model_dir: Path):
    before = {p.name: p.stat().st_mtime_ns for p in tiny_model_dir.iterdir()}
    assert ensure_tiny_model(tiny_model_dir) == tiny_model_dir
    assert {p.name: p.stat().st_mtime_ns for p in tiny_model_dir.iterdir()} == before
    assert [p.name for p in tiny_model_dir.parent.iterdir() if p.name.startswith(".")] == []


def test_chat_template_renders_turns_and_generation_prompt(tiny_model_dir: Path):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    assert len(tokenizer) <= 512
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello"}]
    text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    assert text == "<s><|system|>\nBe brief.</s>\n<|user|>\nHello</s>\n<|assistant|>\n"
    ids = tokenizer.encode(text, add_special_tokens=False)
    assert ids[0] == tokenizer.bos_token_id and tokenizer.eos_token_id in ids
    assert tokenizer.decode(tokenizer.encode("The agents live inside projects.")[1:]) == (
        "The agents live inside projects."
    )

"""The vLLM adapter counts a prompt's tokens as the model's own Hugging Face tokenizer does.

The adapter tokenizes with the tokenizer's Rust core rather than through the Python
layers around it; the counts it reports (and the context-window check it makes) must
stay those of the tokenizer as the model ships it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from transformers import AutoTokenizer

from agentmesh_inference.domain.limits import Limits, validate
from agentmesh_inference.domain.models import ChatMessage, GenerationRequest, Sampling

TEXTS = [
    "Hello",
    "  spaces   and\ttabs\nand new lines  ",
    "Unicode: café, 東京, emoji 🚀, combining e\u0301",
    "text that looks like the template's markers: <|user|> <|assistant|> </s> <s>",
]


@pytest.fixture(scope="module")
def tokenizer(tiny_model_dir: Path):
    """The model's tokenizer as Hugging Face loads it, outside vLLM."""
    return AutoTokenizer.from_pretrained(tiny_model_dir)


async def _prompt_tokens(engine, **fields) -> int:
    request = GenerationRequest(sampling=Sampling(max_tokens=1, temperature=0.0), **fields)
    chunks = [chunk async for chunk in engine.generate(validate(request, Limits()))]
    usage = chunks[-1].usage
    assert usage is not None
    return usage.prompt_tokens


@pytest.mark.parametrize("text", TEXTS)
async def test_a_prompt_counts_as_the_tokenizer_encodes_it(vllm_engine, tokenizer, text: str):
    assert await _prompt_tokens(vllm_engine, prompt=text) == len(tokenizer.encode(text))


@pytest.mark.parametrize("text", TEXTS)
async def test_chat_messages_count_as_the_rendered_template_encodes(vllm_engine, tokenizer, text: str):
    turns = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": text}]
    rendered = tokenizer.apply_chat_template(turns, tokenize=False, add_generation_prompt=True)
    expected = len(tokenizer.encode(rendered, add_special_tokens=False))
    messages = tuple(ChatMessage(turn["role"], turn["content"]) for turn in turns)
    assert await _prompt_tokens(vllm_engine, prompt="", messages=messages) == expected

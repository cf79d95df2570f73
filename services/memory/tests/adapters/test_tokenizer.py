"""Chunks fit the real model's window, counted by its own tokenizer (Chinese, code, prose)."""

from __future__ import annotations

import pytest

from agentmesh_memory.adapters.tokenizer import ModelTokenizer
from agentmesh_memory.domain.chunking import chunk_text

CHINESE = "".join(
    f"第{i}条：机器学习是人工智能的一个分支，它使计算机能够从数据中学习。深度学习使用多层神经网络处理图像、语音和文本！"  # noqa: RUF001
    for i in range(40)
)
CODE = "\n\n".join(
    f"def handler_{i}(request: Request, *, timeout: float = 3.5) -> Response:\n"
    f'    """Handle request {i}."""\n'
    f"    data = json.loads(request.body)\n"
    f"    return Response(status=200, body=json.dumps({{'id': {i}, 'items': [x * 2 for x in data['items']]}}))"
    for i in range(60)
)
PROSE = " ".join(f"Fact number {i} says that item {i} weighs {i * 3} kilograms." for i in range(400))


@pytest.fixture(scope="module")
def tokenizer(sentence_model) -> ModelTokenizer:
    return ModelTokenizer.of(sentence_model)


def _model_tokens(sentence_model, text: str) -> int:
    """Tokens the model itself would be given for text, special tokens included, nothing cut."""
    return len(sentence_model.tokenizer(text, truncation=False, verbose=False)["input_ids"])


def test_the_window_is_the_models(sentence_model, tokenizer: ModelTokenizer) -> None:
    assert sentence_model.max_seq_length == 256
    assert tokenizer.window == 254  # less [CLS] and [SEP]
    assert tokenizer.input_lengths(["hello world", CHINESE]) == [4, 256]


@pytest.mark.parametrize(("name", "text"), [("chinese", CHINESE), ("code", CODE), ("prose", PROSE)])
def test_no_chunk_exceeds_the_window(sentence_model, tokenizer: ModelTokenizer, name: str, text: str) -> None:
    chunks = chunk_text(text, tokenizer)
    sizes = [_model_tokens(sentence_model, c) for c in chunks]
    assert len(chunks) > 3, name
    assert max(sizes) <= sentence_model.max_seq_length, name
    assert min(sizes[:-1]) > sentence_model.max_seq_length // 2, name  # chunks are not needlessly small
    # Everything is in some chunk, in order: no text is skipped between two chunks.
    end = 0
    for chunk in chunks:
        start = text.find(chunk)
        assert 0 <= start and not text[end:start].strip(), name
        end = start + len(chunk)
    assert end == len(text.rstrip())


def test_character_chunks_overflowed_the_window(sentence_model) -> None:
    # Why chunks are counted in tokens: 800 characters were ~800 tokens of Chinese and
    # ~1.4x the window of code, so the model silently dropped most of such a chunk.
    assert _model_tokens(sentence_model, CHINESE[:800]) > 3 * 256
    assert _model_tokens(sentence_model, CODE[:800]) > 256

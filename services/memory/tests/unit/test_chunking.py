"""Chunking: sizes in tokens, boundaries and overlap (the real tokenizer: tests/adapters/test_tokenizer.py)."""

from __future__ import annotations

import itertools
import random

import pytest

from agentmesh_memory.adapters.fakes import WordTokenizer
from agentmesh_memory.domain.chunking import CHUNK_OVERLAP, chunk_text


class CharTokenizer:
    """Every non-blank character is a token (as for Chinese in BERT's tokenizer)."""

    def __init__(self, window: int, extra_at_start: int = 0) -> None:
        self.window = window
        self._extra = extra_at_start  # tokens a text's first word gains on its own (as byte-level BPE)

    def token_spans(self, text: str) -> list[tuple[int, int]]:
        spans = [(i, i + 1) for i, c in enumerate(text) if not c.isspace()]
        return [(0, 0)] * self._extra + spans if spans else spans


def _text(seed: int, paragraphs: int = 20) -> str:
    rng = random.Random(seed)
    words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"]

    def sentence() -> str:
        return " ".join(rng.choice(words) for _ in range(rng.randint(3, 30))).capitalize() + rng.choice(".!?")

    return "\n\n".join(" ".join(sentence() for _ in range(rng.randint(1, 8))) for _ in range(paragraphs))


def _spans(text: str, chunks: list[str]) -> list[tuple[int, int]]:
    """Where each chunk sits in text: each found after the start of the one before, none skipping text."""
    spans: list[tuple[int, int]] = []
    for chunk in chunks:
        start = text.find(chunk, spans[-1][0] + 1 if spans else 0)
        assert start >= 0, f"chunk not in text, in order: {chunk[:40]!r}"
        assert not spans or not text[spans[-1][1] : start].strip(), "text left out between chunks"
        spans.append((start, start + len(chunk)))
    return spans


def test_short_text_is_one_stripped_chunk() -> None:
    assert chunk_text("  The capital of France is Paris.\n", WordTokenizer()) == ["The capital of France is Paris."]


def test_blank_text_has_no_chunks() -> None:
    assert chunk_text(" \n\t ", WordTokenizer()) == []


@pytest.mark.parametrize("seed", range(10))
def test_long_text_chunks_fit_the_window_and_cover_everything(seed: int) -> None:
    text, tokenizer = _text(seed), WordTokenizer(window=60)
    chunks = chunk_text(text, tokenizer)
    assert len(chunks) > 1
    assert all(0 < len(tokenizer.token_spans(c)) <= 60 for c in chunks)
    assert _spans(text, chunks)[-1][1] == len(text.rstrip())


@pytest.mark.parametrize("seed", range(10))
def test_chunks_overlap_by_at_most_the_overlap(seed: int) -> None:
    text, tokenizer = _text(seed), WordTokenizer(window=120)
    spans = _spans(text, chunk_text(text, tokenizer))
    overlaps = [
        len(tokenizer.token_spans(text[current[0] : previous[1]])) for previous, current in itertools.pairwise(spans)
    ]
    assert all(o <= CHUNK_OVERLAP for o in overlaps)
    assert sum(o > 0 for o in overlaps) >= len(overlaps) // 2  # most cuts repeat some context


def test_cuts_fall_on_sentence_ends_when_sentences_are_short() -> None:
    sentences = [f"Sentence number {i} talks about topic {i}." for i in range(200)]
    chunks = chunk_text(" ".join(sentences), WordTokenizer(window=100))
    assert len(chunks) > 10
    assert all(c.endswith(".") and c.startswith("Sentence") for c in chunks)


def test_chinese_sentences_end_without_whitespace() -> None:
    sentence = "机器学习是人工智能的一个分支，它让计算机从数据中学习。"  # noqa: RUF001 - 27 characters, 27 tokens
    chunks = chunk_text(sentence * 20, CharTokenizer(window=100))
    assert len(chunks) >= 6
    assert all(c.endswith("。") and len(c) <= 100 for c in chunks)


def test_code_is_cut_at_line_ends() -> None:
    body = "\n".join(f"    total_{i} = compute(items[{i}], factor={i})" for i in range(40))
    code = f"def run(items):\n{body}\n    return total_0"
    tokenizer = WordTokenizer(window=80)
    chunks = chunk_text(code, tokenizer)
    assert len(chunks) > 2 and all(len(tokenizer.token_spans(c)) <= 80 for c in chunks)
    assert all(code[end] == "\n" for _, end in _spans(code, chunks)[:-1])  # whole lines


def test_paragraph_breaks_are_boundaries() -> None:
    paragraph = "word " * 50  # 50 tokens, no sentence end
    chunks = chunk_text(paragraph + "\n\n" + paragraph, WordTokenizer(window=80))
    assert chunks[0] == paragraph.strip()


def test_a_huge_word_is_split_between_tokens() -> None:
    word = "x" * 2000
    chunks = chunk_text(word, CharTokenizer(window=800))
    assert len(chunks) == 3 and "".join(chunks) == word
    assert all(len(c) <= 800 for c in chunks)


def test_pieces_of_a_word_that_tokenize_longer_on_their_own_are_cut_again() -> None:
    word = "y" * 3000
    tokenizer = CharTokenizer(window=800, extra_at_start=6)
    chunks = chunk_text(word, tokenizer)
    assert "".join(chunks) == word
    assert all(len(tokenizer.token_spans(c)) <= 800 for c in chunks)


def test_a_long_sentence_is_split_at_whitespace() -> None:
    tokenizer = WordTokenizer(window=50)
    chunks = chunk_text(" ".join(["lorem"] * 400), tokenizer)
    assert all(len(tokenizer.token_spans(c)) <= 50 and set(c.split()) == {"lorem"} for c in chunks)


def test_rejects_an_overlap_that_does_not_fit() -> None:
    with pytest.raises(ValueError):
        chunk_text("text", WordTokenizer(window=100), overlap=100)

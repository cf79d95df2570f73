"""Chunking: sizes, boundaries and overlap."""

from __future__ import annotations

import itertools
import random

import pytest

from agentmesh_memory.domain.chunking import CHUNK_OVERLAP, CHUNK_SIZE, chunk_text


def _text(seed: int, paragraphs: int = 20) -> str:
    rng = random.Random(seed)
    words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"]

    def sentence() -> str:
        return " ".join(rng.choice(words) for _ in range(rng.randint(3, 30))).capitalize() + rng.choice(".!?")

    return "\n\n".join(" ".join(sentence() for _ in range(rng.randint(1, 8))) for _ in range(paragraphs))


def test_short_text_is_one_stripped_chunk() -> None:
    assert chunk_text("  The capital of France is Paris.\n") == ["The capital of France is Paris."]


def test_blank_text_has_no_chunks() -> None:
    assert chunk_text(" \n\t ") == []


@pytest.mark.parametrize("seed", range(10))
def test_long_text_chunks_fit_and_cover_everything(seed: int) -> None:
    text = _text(seed)
    chunks = chunk_text(text)
    assert len(chunks) > 1
    assert all(0 < len(c) <= CHUNK_SIZE for c in chunks)
    # Every word survives, in order: walking the text, each chunk is found at or after the last.
    position = 0
    for chunk in chunks:
        found = text.find(chunk, max(0, position - CHUNK_OVERLAP - 1))
        assert found >= 0
        position = found + len(chunk)
    assert position == len(text.rstrip())


@pytest.mark.parametrize("seed", range(10))
def test_chunks_overlap_by_at_most_the_overlap(seed: int) -> None:
    text = _text(seed)
    chunks = chunk_text(text)
    spans = []
    position = 0
    for chunk in chunks:
        start = text.find(chunk, max(0, position - CHUNK_OVERLAP - 1))
        spans.append((start, start + len(chunk)))
        position = start + len(chunk)
    overlaps = [previous[1] - current[0] for previous, current in itertools.pairwise(spans)]
    assert all(o <= CHUNK_OVERLAP for o in overlaps)
    assert sum(o > 0 for o in overlaps) >= len(overlaps) // 2  # most cuts repeat some context


def test_cuts_fall_on_sentence_ends_when_sentences_are_short() -> None:
    sentences = [f"Sentence number {i} talks about topic {i}." for i in range(200)]
    chunks = chunk_text(" ".join(sentences))
    assert all(c.endswith(".") for c in chunks)
    assert all(c.startswith("Sentence") for c in chunks)


def test_paragraph_breaks_are_boundaries() -> None:
    paragraph = "word " * 100  # 500 chars, no sentence end
    chunks = chunk_text(paragraph + "\n\n" + paragraph)
    assert chunks[0] == paragraph.strip()


def test_a_huge_word_is_split_hard() -> None:
    chunks = chunk_text("x" * 2000)
    assert [len(c) for c in chunks] == [800, 800, 400]


def test_a_long_sentence_is_split_at_whitespace() -> None:
    chunks = chunk_text(" ".join(["lorem"] * 400))
    assert all(len(c) <= CHUNK_SIZE and set(c.split()) == {"lorem"} for c in chunks)


def test_rejects_bad_parameters() -> None:
    with pytest.raises(ValueError):
        chunk_text("text", size=100, overlap=100)

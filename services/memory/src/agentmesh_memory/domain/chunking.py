"""Splitting long text into overlapping chunks that fit the embedding model's window.

Sizes are counted in the model's own tokens (ports.Tokenizer): the model reads
at most `window` tokens of a text and drops the rest without a word, so a chunk
cut by characters lost its tail (800 characters of Chinese are ~800 tokens,
three times the window; code about a third more than it).

Chunks are cut at paragraph or sentence ends where possible, then at line
ends, then at whitespace, and only between two tokens of one word when a
single word is longer than a chunk. Each chunk after the first starts with the
tail (whole sentences when they fit, else whole words) of the one before, at
most `overlap` tokens of it, so a fact split across a cut is still found whole
in one of them.
"""

from __future__ import annotations

import itertools
import re
from bisect import bisect_left

from agentmesh_memory.domain.ports import Tokenizer

CHUNK_OVERLAP = 32  # tokens (of a 254-token window: about the old 100 of 800 characters)
# Cut between words, a chunk tokenizes as it did inside the text, give or take a
# token at its edges (byte-level BPE marks a word that follows a space).
_EDGE_SLACK = 2

_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
# Latin sentence ends need whitespace after them (3.5, e.g.); CJK ones are followed by none.
_SENTENCE_END = re.compile(r"(?:(?<=[.!?])|(?<=[.!?][\"')\]]))\s+|(?<=[\u3002\uff01\uff1f])\s*")
_LINE_BREAK = re.compile(r"\n")
_WHITESPACE = re.compile(r"\s+")
_INSIDE_SENTENCE = (_LINE_BREAK, _WHITESPACE)  # finer and finer cuts for an over-long sentence

Span = tuple[int, int]


class _Tokens:
    """Where the tokens of one text start, to count the tokens of any span of it."""

    def __init__(self, spans: list[tuple[int, int]]) -> None:
        self._starts = [start for start, _ in spans]
        self.hard_cuts: set[int] = set()  # cuts made inside a word

    def count(self, start: int, end: int) -> int:
        """Tokens that start in text[start:end]."""
        return bisect_left(self._starts, end) - bisect_left(self._starts, start)

    def back(self, end: int, tokens: int, floor: int) -> int:
        """Where the last `tokens` tokens before `end` begin (not before floor)."""
        index = bisect_left(self._starts, end) - tokens
        return max(self._starts[index], floor) if index >= 0 else floor

    def cut(self, start: int, end: int, size: int) -> list[Span]:
        """text[start:end] in pieces of `size` tokens, cut only where a token starts."""
        first, last = bisect_left(self._starts, start), bisect_left(self._starts, end)
        cuts = [self._starts[i] for i in range(first + size, last, size)]
        self.hard_cuts.update(cuts)
        bounds = [start, *cuts, end]
        return list(itertools.pairwise(bounds))


def chunk_text(text: str, tokenizer: Tokenizer, overlap: int = CHUNK_OVERLAP) -> list[str]:
    """The chunks of text (stripped, non-empty), each at most the tokenizer's window."""
    size = tokenizer.window
    if size <= _EDGE_SLACK or overlap < 0 or overlap >= size - _EDGE_SLACK:
        raise ValueError("need 0 <= overlap < window - 2")
    if not text.strip():
        return []
    tokens = _Tokens(tokenizer.token_spans(text))
    chunks: list[str] = []
    for start, end in _chunk_spans(text, tokens, size - _EDGE_SLACK, overlap):
        chunk = text[start:end].strip()
        if start in tokens.hard_cuts or end in tokens.hard_cuts:
            # Cut inside a word: its pieces may tokenize differently on their own.
            chunks.extend(_within_window(chunk, tokenizer, size))
        elif chunk:
            chunks.append(chunk)
    return chunks


def _chunk_spans(text: str, tokens: _Tokens, size: int, overlap: int) -> list[Span]:
    if tokens.count(0, len(text)) <= size:
        return [(0, len(text))]
    spans: list[Span] = []
    start: int | None = None  # start of the chunk being built
    end = 0  # its end
    unit_starts: list[int] = []  # where the units in it begin (candidate overlap points)
    for unit_start, unit_end in _units(text, tokens, size):
        if start is not None and tokens.count(start, unit_end) > size:
            spans.append((start, end))
            start = _overlap_start(text, tokens, unit_starts, end, overlap)
            unit_starts = [] if start is None else [start]
            if start is not None and tokens.count(start, unit_end) > size:
                start, unit_starts = None, []
        if start is None:
            start = unit_start
        unit_starts.append(unit_start)
        end = unit_end
    if start is not None:
        spans.append((start, end))
    return spans


def _overlap_start(text: str, tokens: _Tokens, unit_starts: list[int], end: int, overlap: int) -> int | None:
    """Where the next chunk starts so that it repeats at most `overlap` tokens of this one."""
    if overlap == 0:
        return None
    limit = tokens.back(end, overlap, unit_starts[0])
    for unit_start in unit_starts[1:]:
        if unit_start >= limit:
            return unit_start  # whole trailing sentences
    match = _WHITESPACE.search(text, limit, end)
    if match is None or match.end() >= end:
        return None
    return match.end()  # whole trailing words


def _units(text: str, tokens: _Tokens, size: int) -> list[Span]:
    """Sentence spans (paragraph ends included), long ones split to fit size."""
    units: list[Span] = []
    for p_start, p_end in _split(text, _PARAGRAPH_BREAK, 0, len(text)):
        for s_start, s_end in _split(text, _SENTENCE_END, p_start, p_end):
            units.extend(_fit(text, tokens, s_start, s_end, size, 0))
    return units


def _split(text: str, separator: re.Pattern[str], start: int, end: int) -> list[Span]:
    """Non-blank spans of text[start:end] between separator matches."""
    spans: list[Span] = []
    position = start
    for match in separator.finditer(text, start, end):
        spans.append((position, match.start()))
        position = match.end()
    spans.append((position, end))
    return [(a, b) for a, b in spans if text[a:b].strip()]


def _fit(text: str, tokens: _Tokens, start: int, end: int, size: int, level: int) -> list[Span]:
    """Split an over-long span at line ends, then whitespace, then (huge words) between tokens."""
    if tokens.count(start, end) <= size:
        return [(start, end)]
    if level == len(_INSIDE_SENTENCE):
        return tokens.cut(start, end, size)
    pieces: list[Span] = []
    for w_start, w_end in _split(text, _INSIDE_SENTENCE[level], start, end):
        for piece in _fit(text, tokens, w_start, w_end, size, level + 1):
            if pieces and tokens.count(pieces[-1][0], piece[1]) <= size:
                pieces[-1] = (pieces[-1][0], piece[1])  # neighbours share a piece while they fit
            else:
                pieces.append(piece)
    return pieces


def _within_window(chunk: str, tokenizer: Tokenizer, size: int) -> list[str]:
    spans = tokenizer.token_spans(chunk)
    if len(spans) <= size:
        return [chunk]
    middle = spans[len(spans) // 2][0]
    pieces: list[str] = []
    for part in (chunk[:middle].strip(), chunk[middle:].strip()):
        if part:
            pieces.extend(_within_window(part, tokenizer, size))
    return pieces

"""Splitting long text into overlapping chunks on natural boundaries.

Chunks are cut at paragraph or sentence ends where possible, then at
whitespace, and only inside a word when a single word is longer than a chunk.
Each chunk after the first starts with the tail (whole sentences when they fit,
else whole words) of the one before, so a fact split across a cut is still
found whole in one of them.
"""

from __future__ import annotations

import re

CHUNK_SIZE = 800
CHUNK_OVERLAP = 100

_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
_END = "[.!?\u3002\uff01\uff1f]"
_SENTENCE_END = re.compile(rf"(?:(?<={_END})|(?<={_END}[\"')\]]))\s+")
_WHITESPACE = re.compile(r"\s+")

Span = tuple[int, int]


def chunk_text(text: str, size: int = CHUNK_SIZE, overlap: int = CHUNK_OVERLAP) -> list[str]:
    """The chunks of text (stripped, non-empty); text that fits is one chunk."""
    if size <= 0 or overlap < 0 or overlap >= size:
        raise ValueError("need 0 <= overlap < size")
    stripped = text.strip()
    if not stripped:
        return []
    if len(stripped) <= size:
        return [stripped]

    chunks: list[str] = []
    start: int | None = None  # start of the chunk being built
    end = 0  # its end
    unit_starts: list[int] = []  # where the units in it begin (candidate overlap points)
    for unit_start, unit_end in _units(text, size):
        if start is not None and unit_end - start > size:
            chunks.append(text[start:end].strip())
            start = _overlap_start(text, unit_starts, end, overlap)
            unit_starts = [] if start is None else [start]
            if start is not None and unit_end - start > size:
                start, unit_starts = None, []
        if start is None:
            start = unit_start
        unit_starts.append(unit_start)
        end = unit_end
    if start is not None:
        chunks.append(text[start:end].strip())
    return [c for c in chunks if c]


def _overlap_start(text: str, unit_starts: list[int], end: int, overlap: int) -> int | None:
    """Where the next chunk starts so that it repeats at most `overlap` chars of this one."""
    if overlap == 0:
        return None
    limit = max(end - overlap, unit_starts[0])
    for unit_start in unit_starts[1:]:
        if unit_start >= limit:
            return unit_start  # whole trailing sentences
    match = _WHITESPACE.search(text, limit, end)
    if match is None or match.end() >= end:
        return None
    return match.end()  # whole trailing words


def _units(text: str, size: int) -> list[Span]:
    """Sentence spans (paragraph ends included), long ones split to fit size."""
    units: list[Span] = []
    for p_start, p_end in _split(text, _PARAGRAPH_BREAK, 0, len(text)):
        for s_start, s_end in _split(text, _SENTENCE_END, p_start, p_end):
            units.extend(_fit(text, s_start, s_end, size))
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


def _fit(text: str, start: int, end: int, size: int) -> list[Span]:
    """Split an over-long sentence at whitespace, then (for huge words) anywhere."""
    if end - start <= size:
        return [(start, end)]
    pieces: list[Span] = []
    for w_start, w_end in _split(text, _WHITESPACE, start, end):
        if w_end - w_start <= size:
            if pieces and w_end - pieces[-1][0] <= size:
                pieces[-1] = (pieces[-1][0], w_end)
            else:
                pieces.append((w_start, w_end))
        else:
            pieces.extend((i, min(i + size, w_end)) for i in range(w_start, w_end, size))
    return pieces

"""The embedding model's own tokenizer, for chunk sizes and batch costs.

Two private copies of the model's fast (Rust) tokenizer: the model's own one
is used by the embedding thread and carries the truncation and padding saved
with the model (all-MiniLM-L6-v2's tokenizer.json truncates at 128), which
would hide exactly the overflow that chunking must see.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from tokenizers import Tokenizer

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer


class ModelTokenizer:
    """Token offsets (for chunking) and model input lengths (for batching) of one model."""

    def __init__(self, serialized: str, max_seq_length: int) -> None:
        self._serialized = serialized
        self._plain = Tokenizer.from_str(serialized)
        self._plain.no_truncation()
        self._plain.no_padding()
        self._truncating = Tokenizer.from_str(serialized)
        self._truncating.no_padding()
        self._truncating.enable_truncation(max_seq_length)
        special = len(self._plain.encode("", add_special_tokens=True).ids)  # [CLS] and [SEP] for BERT
        self._max_seq_length = max_seq_length
        self._window = max_seq_length - special
        self._prefix = 8 * max_seq_length  # characters: more than the model reads of any real text
        if self._window <= 0:
            raise ValueError(f"max_seq_length {max_seq_length} leaves no room for text")

    @classmethod
    def of(cls, model: SentenceTransformer) -> ModelTokenizer:
        """The tokenizer of a loaded sentence-transformers model and the window it reads."""
        backend = getattr(model.tokenizer, "backend_tokenizer", None)
        if backend is None or model.max_seq_length is None:
            raise ValueError("the embedding model needs a fast tokenizer (tokenizer.json) and a max_seq_length")
        return cls(backend.to_str(), model.max_seq_length)

    def batch_encoder(self, pad_id: int, pad_token: str) -> Tokenizer:
        """A copy that makes the model's inputs: truncated at its window, a batch padded to its longest text."""
        tokenizer = Tokenizer.from_str(self._serialized)
        tokenizer.enable_truncation(self._max_seq_length)
        tokenizer.enable_padding(pad_id=pad_id, pad_token=pad_token)
        return tokenizer

    @property
    def max_seq_length(self) -> int:
        """Tokens the model reads of one text, special tokens included."""
        return self._max_seq_length

    @property
    def window(self) -> int:
        """Tokens of text the model reads (its max_seq_length less its special tokens)."""
        return self._window

    def token_spans(self, text: str) -> list[tuple[int, int]]:
        """Character offsets of each token of text (no special tokens)."""
        # encode_batch lets go of the GIL (encode does not): the model's thread runs meanwhile.
        [encoding] = self._plain.encode_batch([text], add_special_tokens=False)
        return list(encoding.offsets)

    def input_lengths(self, texts: Sequence[str]) -> list[int]:
        """How many tokens the model will read of each text (special tokens included)."""
        # The model reads a prefix only; tokenizing a 10,000-character text whole to
        # learn that would cost milliseconds of the event loop per text.
        return [len(self._truncating.encode(text[: self._prefix]).ids) for text in texts]

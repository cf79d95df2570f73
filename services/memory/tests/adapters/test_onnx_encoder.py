"""The model on ONNX Runtime gives sentence-transformers' own vectors; other module stacks run on torch."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from agentmesh_memory.adapters.embedder import prepare_model
from agentmesh_memory.adapters.onnx_encoder import onnx_encoder
from agentmesh_memory.adapters.tokenizer import ModelTokenizer

TEXTS = [
    "  leading and trailing spaces  ",
    "UPPER case Words",
    "數據庫密碼重置流程先聯繫管理員再登錄控制台" * 20,  # past the 256-token window: truncated alike
    "def square(x):\n    return x ** 2  # code\n" * 40,
    "short",
    "",
    "Émigré café, naïve façade.",
]


def _reference(model, texts: list[str], normalize: bool = True) -> np.ndarray:
    return model.encode(texts, batch_size=len(texts), normalize_embeddings=normalize, convert_to_numpy=True)


def test_the_packaged_model_runs_on_onnxruntime(embedding_model) -> None:
    assert embedding_model.runtime == "onnxruntime"
    assert embedding_model.dimension == 384


def test_vectors_equal_sentence_transformers_one_at_a_time_and_padded_in_a_batch(
    sentence_model, embedding_model
) -> None:
    expected = _reference(sentence_model, TEXTS)
    batch = np.array(embedding_model.encode(TEXTS))  # padded to the longest text
    alone = np.array([embedding_model.encode([text])[0] for text in TEXTS])
    assert batch.shape == alone.shape == (len(TEXTS), 384)
    assert np.abs(batch - expected).max() < 1e-5
    assert np.abs(alone - expected).max() < 1e-5
    assert embedding_model.encode([]) == []


def test_concurrent_calls_from_two_threads_give_the_same_vectors(embedding_model) -> None:
    expected = np.array(embedding_model.encode(TEXTS))
    with ThreadPoolExecutor(max_workers=2) as threads:
        results = list(threads.map(lambda i: embedding_model.encode(TEXTS), range(8)))
    for result in results:
        assert np.abs(np.array(result) - expected).max() < 1e-6


def _rebuilt(*modules):
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(modules=list(modules), device="cpu")


def test_without_normalization_the_vectors_are_not_normalized(sentence_model) -> None:
    transformer, pooling, _ = sentence_model
    model = _rebuilt(transformer, pooling)
    encode = onnx_encoder(model, 1, ModelTokenizer.of(model))
    assert encode is not None
    vectors = np.array(encode(TEXTS[:3]))
    assert np.abs(vectors - _reference(model, TEXTS[:3], normalize=False)).max() < 1e-4
    assert not np.allclose(np.linalg.norm(vectors, axis=1), 1.0)


def test_cls_pooling_runs_on_onnxruntime_too(sentence_model) -> None:
    transformer, pooling, normalize = sentence_model
    model = _rebuilt(transformer, type(pooling)(384, pooling_mode="cls"), normalize)
    encode = onnx_encoder(model, 1, ModelTokenizer.of(model))
    assert encode is not None
    assert np.abs(np.array(encode(TEXTS[:3])) - _reference(model, TEXTS[:3])).max() < 1e-5


@pytest.mark.parametrize("stack", ["two poolings", "pooling of two modes"])
def test_other_module_stacks_run_on_torch(sentence_model, stack: str) -> None:
    transformer, pooling, normalize = sentence_model
    if stack == "two poolings":
        model = _rebuilt(transformer, pooling, normalize, normalize)
    else:
        model = _rebuilt(transformer, type(pooling)(384, pooling_mode=("mean", "max")), normalize)
    assert onnx_encoder(model, 1, ModelTokenizer.of(model)) is None
    prepared = prepare_model(model)
    assert prepared.runtime == "torch"
    assert np.abs(np.array(prepared.encode(TEXTS[:3])) - _reference(model, TEXTS[:3])).max() < 1e-6

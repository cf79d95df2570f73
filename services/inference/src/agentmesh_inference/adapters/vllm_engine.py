"""The Engine on vLLM's V1 async engine (AsyncLLM): continuous batching, streaming, structured output.

Every concurrent `generate` call is submitted to the one AsyncLLM, whose scheduler
batches all running requests into each model step (continuous batching). Outputs
are requested as deltas (RequestOutputKind.DELTA), so each chunk holds only the new
text and token ids. Prompts are tokenized here, with the model's chat template for
chat requests, so that length limits are checked before the engine sees them.

vLLM is imported only when an engine is started: creating one spawns processes,
which must happen inside main() or a test fixture, never at import time.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
from collections.abc import AsyncGenerator
from typing import TYPE_CHECKING, Any

from agentmesh_core.errors import InvalidInput, Unavailable
from agentmesh_inference.adapters.engine_config import EngineConfig, cache_vllm_environment, prepare_environment
from agentmesh_inference.adapters.engine_stats import StatsRecorder
from agentmesh_inference.domain.models import Chunk, EngineStats, FinishReason, ModelInfo, Usage, ValidatedRequest

if TYPE_CHECKING:
    from vllm.renderers.chat_utils import ChatCompletionMessageParam
    from vllm.v1.engine.async_llm import AsyncLLM

log = logging.getLogger(__name__)

_FINISH_REASONS = {"stop": FinishReason.STOP, "length": FinishReason.LENGTH, "abort": FinishReason.ABORT}
# Prompts up to this many characters are tokenized on the event loop: measured here, a short
# chat turn takes ~50 us inline, while a hop to a worker thread took 80-200 us per request in
# a burst of 64 (the effect on TTFT was within this machine's noise); a 30,000-character prompt
# takes ~10 ms, so long ones still go to a thread rather than stall every stream.
INLINE_TOKENIZE_CHARS = 2_000


def _finish_reason(reason: str | None) -> FinishReason:
    if reason == "error":  # vLLM: a retryable request-level failure (e.g. KV cache load)
        raise Unavailable("the engine failed this request; retry")
    # "repetition" (a degenerate loop was cut off) and anything newer end like a stop.
    return _FINISH_REASONS.get(reason or "stop", FinishReason.STOP)


def _client_errors() -> tuple[type[Exception], ...]:
    """The errors vLLM raises for a request it refuses (bad schema, sampling out of range)."""
    try:
        from vllm.exceptions import VLLMClientError
    except ImportError:  # vLLM < 0.27 (the CUDA build for torch 2.11): its refusals are ValueErrors
        return (ValueError,)
    return (VLLMClientError, ValueError)


def _prompt_chars(request: ValidatedRequest) -> int:
    if request.messages is None:
        return len(request.prompt or "")
    return sum(len(m.content) for m in request.messages)


class VllmEngine:
    """A loaded model on vLLM; build it with `await VllmEngine.start(config)`."""

    def __init__(self, llm: AsyncLLM, config: EngineConfig, device: str, recorder: StatsRecorder) -> None:
        self._llm = llm
        self._stopped = False  # after shutdown() the AsyncLLM is gone; figures read as idle
        self._recorder = recorder
        self._config = config
        self._tokenizer = llm.get_tokenizer()
        # A fast Hugging Face tokenizer's own Rust tokenizer gives the same ids without the
        # Python layers around it (transformers' and vLLM's pool of copies): measured here, a
        # short prompt took 15 us that way against 35 us, paid on the event loop by every
        # request of a burst before the next one reaches the engine. Only read from here
        # (no truncation or padding is set on it), so threads may share it.
        self._fast_tokenizer = getattr(self._tokenizer, "backend_tokenizer", None)
        self._max_model_len = int(llm.model_config.max_model_len)
        # The model's own generation defaults (generation_config.json) for unset fields.
        self._defaults: dict[str, Any] = {
            name: value
            for name, value in llm.model_config.get_diff_sampling_param().items()
            if name not in ("max_tokens", "max_new_tokens")
        }
        self._device = device

    @classmethod
    async def start(cls, config: EngineConfig) -> VllmEngine:
        """Load the model (tens of seconds) without blocking the event loop."""
        cache_vllm_environment(False)  # this engine's settings, as prepare_environment sets them
        prepare_environment(config)
        from transformers.utils import logging as hf_logging
        from vllm.platforms import current_platform
        from vllm.v1.engine.async_llm import AsyncLLM

        # transformers writes its warnings (e.g. a prompt longer than the model's window, from
        # the tokenizer used here) through a plain-text stderr handler of its own: hand them to
        # the service's JSON log instead.
        hf_logging.disable_default_handler()
        hf_logging.enable_propagation()

        started = time.monotonic()
        # In a thread so that health checks keep being answered while the model loads.
        # No local name holds the AsyncLLM: only the VllmEngine does, so that shutdown()
        # can release it (a lingering reference would run AsyncLLM.__del__ at interpreter
        # exit, where it fails).
        created: list[AsyncLLM] = []
        recorder = StatsRecorder(config.max_num_seqs)
        await asyncio.to_thread(
            lambda: created.append(
                AsyncLLM.from_engine_args(config.engine_args(), stat_loggers=[recorder.logger_factory])
            )
        )
        engine = cls(created.pop(), config, str(current_platform.device_type), recorder)
        cache_vllm_environment(True)
        log.info("model %s loaded in %.1fs", config.model, time.monotonic() - started)
        return engine

    def info(self) -> ModelInfo:
        """Describe the loaded model."""
        return ModelInfo(
            model=self._config.model,
            max_model_len=self._max_model_len,
            random_weights=self._config.random_weights,
            device=self._device,
        )

    def stats(self) -> EngineStats:
        """Batch size, waiting requests, KV cache use and tokens/s from vLLM's last steps."""
        stats = self._recorder.snapshot()
        if self._stopped:
            return EngineStats()  # a metrics scrape may come after the engine stopped
        if not self._llm.get_num_unfinished_requests():
            # vLLM reports figures only while it steps: once idle, its last ones are stale.
            return EngineStats(
                kv_cache_usage=stats.kv_cache_usage,
                generation_tokens_per_second=stats.generation_tokens_per_second,
                max_batch_size=stats.max_batch_size,
            )
        return stats

    @property
    def unfinished_requests(self) -> int:
        """Requests the engine is still working on (queued or running)."""
        return 0 if self._stopped else self._llm.get_num_unfinished_requests()

    async def generate(self, request: ValidatedRequest) -> AsyncGenerator[Chunk, None]:
        """Stream one request; vLLM batches it with every other running request."""
        from vllm.v1.engine.exceptions import EngineDeadError

        client_errors = _client_errors()

        if _prompt_chars(request) <= INLINE_TOKENIZE_CHARS:
            prompt_ids = self._encode(request)
        else:
            prompt_ids = await asyncio.to_thread(self._encode, request)
        if len(prompt_ids) >= self._max_model_len:
            raise InvalidInput(
                f"prompt too long: {len(prompt_ids)} tokens, the model's context is {self._max_model_len}"
            )
        # Leave room in the context rather than refuse: the last chunk then says "length".
        max_tokens = min(request.max_tokens, self._max_model_len - len(prompt_ids))
        params = self._sampling_params(request, max_tokens)
        # The synchronous renderer, vLLM's documented path for a tokenized prompt: its async twin
        # passes through the event loop six times a request, and with 64 requests arriving at
        # once each reached the engine 9 ms later (median, measured here).
        renderer = self._llm.renderer
        (engine_input,) = renderer.render_cmpl([{"prompt_token_ids": prompt_ids}], renderer.default_cmpl_tok_params)
        completion_tokens = 0
        stream = self._llm.generate(engine_input, params, request.request_id)
        try:
            # aclosing: an early exit closes vLLM's generator, which aborts the request.
            async with contextlib.aclosing(stream):
                async for output in stream:
                    completion = output.outputs[0]
                    completion_tokens += len(completion.token_ids)
                    finish = _finish_reason(completion.finish_reason) if output.finished else None
                    yield Chunk(
                        text=completion.text,
                        token_ids=tuple(completion.token_ids),
                        finish_reason=finish,
                        usage=Usage(len(prompt_ids), completion_tokens) if finish else None,
                    )
        except client_errors as error:
            if completion_tokens:
                raise
            log.info("engine rejected request %s: %s", request.request_id, error)
            raise InvalidInput("the engine rejected the request: check json_schema and sampling") from None
        except EngineDeadError:
            raise Unavailable("inference engine stopped") from None

    async def abort(self, request_id: str) -> None:
        """Stop a request and free its batch slot and KV cache (no-op when done)."""
        await self._llm.abort(request_id)

    def shutdown(self) -> None:
        """Stop the engine's processes."""
        self._llm.shutdown()
        self._stopped = True
        # AsyncLLM.__del__ shuts down again; run it now, not during interpreter teardown
        # (where it fails on half-torn-down modules).
        del self._llm
        gc.collect()

    def _encode(self, request: ValidatedRequest) -> list[int]:
        tokenizer = self._tokenizer
        if request.messages is None:
            return self._token_ids(request.prompt or "", special_tokens=True)
        turns: list[ChatCompletionMessageParam] = [{"role": m.role, "content": m.content} for m in request.messages]
        try:
            text = tokenizer.apply_chat_template(turns, tokenize=False, add_generation_prompt=True)
        except Exception as error:  # noqa: BLE001 - jinja and tokenizer errors have no common base
            log.info("chat template failed for request %s: %s", request.request_id, error)
            raise InvalidInput("the messages do not fit the model's chat template") from None
        assert isinstance(text, str)  # tokenize=False: the rendered text, not token ids
        # The template writes its own BOS; adding special tokens would double it.
        return self._token_ids(text, special_tokens=False)

    def _token_ids(self, text: str, special_tokens: bool) -> list[int]:
        if self._fast_tokenizer is not None:
            return self._fast_tokenizer.encode(text, add_special_tokens=special_tokens).ids  # a new list
        return list(self._tokenizer.encode(text, add_special_tokens=special_tokens))

    def _sampling_params(self, request: ValidatedRequest, max_tokens: int):
        from vllm import SamplingParams
        from vllm.sampling_params import RequestOutputKind, StructuredOutputsParams

        values = dict(self._defaults)
        for name in ("temperature", "top_p", "seed"):
            if (value := getattr(request, name)) is not None:
                values[name] = value
        structured = StructuredOutputsParams(json=request.json_schema) if request.json_schema else None
        return SamplingParams(
            **values,
            max_tokens=max_tokens,
            stop=list(request.stop) or None,
            structured_outputs=structured,
            output_kind=RequestOutputKind.DELTA,
            # Made for this request alone, so vLLM's input processing may copy it shallowly instead
            # of deep-copying it on the event loop (as vLLM's OpenAI server does for its requests).
            skip_clone=True,
        )

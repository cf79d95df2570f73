"""The inference service's parts, as the service skeleton (agentmesh_grpc.service) runs them.

The gRPC server starts at once (health NOT_SERVING, Generate UNAVAILABLE "model
loading"; GetEngineStatus says "loading"), the metrics port opens, the model loads
in the background, and health turns SERVING when it is ready. Requests pass the
project quotas and the fair queue (domain/) before they reach the engine. A stop
during the load waits for it (it runs in a thread that cannot be interrupted),
then shuts the engine down.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from contextlib import AsyncExitStack
from pathlib import Path

from agentmesh_core.startup import unless_stopped
from agentmesh_grpc.service import Listener, Registration
from agentmesh_grpc.trust import ServiceKeys
from agentmesh_inference.adapters.metrics import PrometheusMetrics, watch
from agentmesh_inference.adapters.quota_file import QuotaFile
from agentmesh_inference.adapters.vllm_engine import VllmEngine
from agentmesh_inference.domain.fair_queue import FairQueue
from agentmesh_inference.domain.inference import Inference
from agentmesh_inference.domain.quotas import ProjectQuotas
from agentmesh_inference.rpc.servicer import SERVICE_NAME, InferenceServicer, register
from agentmesh_inference.settings import InferenceSettings
from agentmesh_inference.tiny_model import ensure_tiny_model, is_complete

log = logging.getLogger(__name__)

GIBBERISH_WARNING = (
    "serving the tiny random-weight model %s: its text is random gibberish. "
    "Set AGENTMESH_MODEL=<path or Hugging Face id> to serve a real model and get real answers."
)
# How long in-flight streams get to finish on stop.
SHUTDOWN_GRACE_SECONDS = 5.0


async def load_engine(settings: InferenceSettings) -> VllmEngine:
    """Create the tiny model when it is the default and missing, then load the engine."""
    if settings.uses_default_model:
        path = Path(settings.model_path)
        if not is_complete(path):
            log.info("no model configured: creating the tiny random-weight model in %s", path)
            await asyncio.to_thread(ensure_tiny_model, path)
    config = settings.engine_config()
    if config.random_weights:
        log.warning(GIBBERISH_WARNING, config.model)
    log.info("loading model %s", config.model)
    return await VllmEngine.start(config)


class InferenceWiring:
    """The Inference use case behind the servicer; the engine is attached once loaded."""

    name = "inference"

    def __init__(self, settings: InferenceSettings) -> None:
        self._settings = settings
        self.listener = Listener(
            settings.inference_listen_addr,
            ServiceKeys.from_settings(self.name, settings),
            SHUTDOWN_GRACE_SECONDS,
            settings.inference_metrics_addr,
        )
        self._inference = Inference(
            settings.limits(),
            quotas=ProjectQuotas(settings.default_quota(), QuotaFile(settings.quota_file)),
            queue=FairQueue(settings.queue_slots),
            metrics=PrometheusMetrics(),
            model=settings.model_path,
            random_weights=settings.uses_default_model,
        )
        servicer = InferenceServicer(self._inference, self.listener.keys.trust, settings.stream_flush_seconds)
        self.registrations = [Registration(SERVICE_NAME, register, servicer)]

    async def start(self, stack: AsyncExitStack, stop: asyncio.Event) -> Sequence[asyncio.Task[None]]:
        if self._settings.inference_metrics_addr:  # the skeleton serves them (Listener.metrics_addr)
            watch(self._inference)
        loading = asyncio.create_task(load_engine(self._settings), name="model load")
        stack.push_async_callback(_shut_down_engine, loading)
        # Shielded: on stop the load goes on in its thread, and _shut_down_engine waits for it.
        engine = await unless_stopped(stop, asyncio.shield(loading))
        self._inference.attach(engine)
        log.info("model loaded")
        return ()


async def _shut_down_engine(loading: asyncio.Task[VllmEngine]) -> None:
    if not loading.done():
        log.info("stop requested while the model loads: stopping once the load ends")
    with contextlib.suppress(Exception):
        (await loading).shutdown()

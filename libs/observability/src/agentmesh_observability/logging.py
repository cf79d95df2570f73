"""JSON logs, one object per line, configured once per process."""

from __future__ import annotations

import json
import logging
import os
import sys
import time
import traceback
from pathlib import Path

from agentmesh_observability import context, tracing

# uvicorn adds "color_message" (the message with ANSI colours) to its records.
_STANDARD_ATTRS = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "color_message"}


class JsonFormatter(logging.Formatter):
    """Formats records as JSON with service name and bound request context."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self._service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "service": self._service,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(context.snapshot())
        entry.update(tracing.log_ids())
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


# Plain text a library would write to stderr, off (inherited by the processes a service
# starts, e.g. vLLM's engine): progress bars (tqdm, Hugging Face downloads) and PyTorch's
# C++ warnings (c10 logs straight to stderr; errors still show).
_QUIET_ENVIRONMENT = {
    "TQDM_DISABLE": "1",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "TRANSFORMERS_NO_ADVISORY_WARNINGS": "1",
    "TORCH_CPP_LOG_LEVEL": "ERROR",
}


def configure_logging(service: str, level: str = "INFO") -> None:
    """Send every logger's records to stderr as JSON lines, Python warnings included.

    Libraries' plain-text output is turned into records or off: `warnings.warn`
    goes through logging (logger `py.warnings`), progress bars are disabled.
    """
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.captureWarnings(True)
    for name, value in _QUIET_ENVIRONMENT.items():
        os.environ.setdefault(name, value)
    # alembic.runtime.plugins: one INFO line per autogenerate plugin whenever alembic is imported.
    for noisy in ("httpx", "httpcore", "urllib3", "filelock", "alembic.runtime.plugins"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def error_summary(error: BaseException, frames: int = 3) -> str:
    """An unexpected error in one short line: its type and where it was raised.

    Never the exception's text or a full traceback: those can carry tenant data
    (values, SQL) and turn every failing request into kilobytes of log.
    """
    where = [f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in traceback.extract_tb(error.__traceback__)]
    return f"{type(error).__name__} at " + " < ".join(reversed(where[-frames:])) if where else type(error).__name__

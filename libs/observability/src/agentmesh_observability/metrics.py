"""The process's Prometheus metrics, served on their own address.

One registry per process: prometheus-client's default, where every module
declares its series at import time (vLLM's `vllm:*` land there too), so one
scrape of `http://<address>/metrics` gets all of them. Series are named
`agentmesh_<area>_<what>_<unit>` (`_total` for counters, `_seconds`, `_bytes`).
"""

from __future__ import annotations

import logging
import threading
from wsgiref.simple_server import WSGIServer

from prometheus_client import start_http_server

log = logging.getLogger(__name__)


class MetricsServer:
    """`/metrics` of the default registry, served from a daemon thread."""

    def __init__(self, server: WSGIServer, thread: threading.Thread) -> None:
        self._server = server
        self._thread = thread
        self.port: int = server.server_port

    def stop(self) -> None:
        """Stop serving and release the port."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def serve_metrics(address: str) -> MetricsServer:
    """Serve the default registry at http://<address>/metrics (`host:port`; port 0 takes a free one)."""
    host, _, port = address.rpartition(":")
    server, thread = start_http_server(int(port), addr=host or "127.0.0.1")
    log.info("metrics on http://%s:%d/metrics", host or "127.0.0.1", server.server_port)
    return MetricsServer(server, thread)

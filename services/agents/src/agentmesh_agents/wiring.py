"""Builds the service's object graph from its adapters (build_components, also used by tests)
and AgentsWiring, what the service skeleton (agentmesh_grpc.service) starts and stops."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import timedelta

from nats.aio.client import Client
from nats.js import JetStreamContext

from agentmesh_agents.adapters.agent_repository import SqlAgentRepository
from agentmesh_agents.adapters.approval_repository import SqlApprovalRepository, SqlToolCallRepository
from agentmesh_agents.adapters.header_cipher import HeaderCipher, derived_key
from agentmesh_agents.adapters.inference_client import InferenceClient
from agentmesh_agents.adapters.mailbox_runtime import MailboxRuntime
from agentmesh_agents.adapters.mcp_client import SdkMcpClient
from agentmesh_agents.adapters.mcp_repository import SqlMcpServerRepository
from agentmesh_agents.adapters.memory_client import MemoryClient
from agentmesh_agents.adapters.message_repository import SqlMessageRepository
from agentmesh_agents.adapters.metrics import (
    BACKLOG_REFRESH_SECONDS,
    BacklogGauges,
    ObservedAlerts,
    ObservedProcessor,
    ObservedSystemEvents,
)
from agentmesh_agents.adapters.monitor_store import SqlMonitorAgents, SqlStaleWork
from agentmesh_agents.adapters.nats_events import NatsConversationEvents
from agentmesh_agents.adapters.nats_mailbox import NatsMailbox
from agentmesh_agents.adapters.prompt_scripts import PromptScriptedInference
from agentmesh_agents.adapters.queue_depth import SqlQueueDepth
from agentmesh_agents.adapters.system_events import (
    NatsSystemEvents,
    QuotaReports,
    ReportingAdmission,
    ReportingBacklog,
    ReportingEventPublisher,
)
from agentmesh_agents.adapters.tables import MIGRATIONS_DIR, SCHEMA
from agentmesh_agents.adapters.tool_repository import SqlGrantRepository, SqlToolRepository
from agentmesh_agents.adapters.topic_repository import SqlTopicRepository
from agentmesh_agents.adapters.turn_repository import SqlTurnRepository
from agentmesh_agents.adapters.web_fetcher import HttpxWebFetcher
from agentmesh_agents.domain.approvals import Approvals
from agentmesh_agents.domain.audit import ToolCallAudit
from agentmesh_agents.domain.builtin_tools import builtin_tools, definition_of
from agentmesh_agents.domain.calls import ToolCaller
from agentmesh_agents.domain.cancellation import Cancellation, RunningTurns
from agentmesh_agents.domain.delegation import Delegations
from agentmesh_agents.domain.grants import AgentToolGrants
from agentmesh_agents.domain.lanes import LaneRunner
from agentmesh_agents.domain.mcp_servers import McpServers, McpTools
from agentmesh_agents.domain.messaging import Messaging
from agentmesh_agents.domain.monitoring.events import SystemReporter
from agentmesh_agents.domain.monitoring.intake import SystemEventIntake
from agentmesh_agents.domain.monitoring.monitor import Monitor
from agentmesh_agents.domain.monitoring.rules import RuleBook
from agentmesh_agents.domain.monitoring.service import Monitoring
from agentmesh_agents.domain.monitoring.staleness import StalenessSweep
from agentmesh_agents.domain.monitoring.summary import DailySummary, Tally
from agentmesh_agents.domain.ports import Inference, Memory
from agentmesh_agents.domain.processor import MessageProcessor
from agentmesh_agents.domain.prompt import PromptBuilder
from agentmesh_agents.domain.react import ReactLoop
from agentmesh_agents.domain.readiness import Dependency, Readiness
from agentmesh_agents.domain.recovery import MailboxRecovery
from agentmesh_agents.domain.registry import AgentRegistry
from agentmesh_agents.domain.tool_models import ToolKind
from agentmesh_agents.domain.toolbox import ToolBox
from agentmesh_agents.domain.tools import ToolCatalog
from agentmesh_agents.domain.topics import Topics
from agentmesh_agents.rpc.servicer import SERVICE_NAME, AgentServicer, register
from agentmesh_agents.settings import AgentsSettings
from agentmesh_core.startup import wait_for
from agentmesh_db.database import Database
from agentmesh_db.migrations import migrate
from agentmesh_events import bus
from agentmesh_grpc.channel import check_health, create_channel
from agentmesh_grpc.late import LateServicer
from agentmesh_grpc.service import Listener, Registration
from agentmesh_grpc.trust import ServiceKeys


@dataclass
class Components:
    """Everything main() starts and stops."""

    servicer: AgentServicer
    runtime: MailboxRuntime
    recovery: MailboxRecovery
    messaging: Messaging
    registry: AgentRegistry
    catalog: ToolCatalog
    toolbox: ToolBox
    approvals: Approvals
    topics: Topics
    delegations: Delegations
    monitoring: Monitoring


def build_components(
    settings: AgentsSettings,
    db: Database,
    js: JetStreamContext,
    inference: Inference,
    memory: Memory,
    toolbox: ToolBox | None = None,
    readiness: Readiness | None = None,
) -> Components:
    """Wire repositories, bus adapters and service clients into the domain and the servicer.

    Without a readiness (tests with in-process doubles), only the database is checked.
    """
    limits = settings.limits()
    readiness = readiness or Readiness({Dependency.DATABASE: db.ping}, limits.dependency_wait_seconds)
    agents = SqlAgentRepository(db)
    messages = SqlMessageRepository(db)
    tools, grants = SqlToolRepository(db), SqlGrantRepository(db)
    events = NatsConversationEvents(js)
    system_events = NatsSystemEvents(js)
    observed_events = ObservedSystemEvents(system_events)  # what the runtime and other services report
    reporter = SystemReporter(observed_events)
    publisher = ReportingEventPublisher(events, reporter)  # counts tool calls, reports failures to the monitor
    mailbox = NatsMailbox(js, settings.inbox_partitions)
    registry = AgentRegistry(agents, limits)
    # One rate for direct messages and publishes; rejections are reported to the monitor.
    admission = ReportingAdmission(settings.project_message_rate, reporter)
    backlog = ReportingBacklog(SqlQueueDepth(db), limits, reporter)
    monitors = SqlMonitorAgents(db)  # the monitoring conversation is the admins'
    prompts = PromptBuilder(memory, limits, publisher)
    messaging = Messaging(
        agents,
        messages,
        mailbox,
        events,
        limits,
        admission=admission,
        backlog=backlog,
        monitors=monitors,
        preparation=prompts,
    )
    topic_store = SqlTopicRepository(db)
    topics = Topics(topic_store, messages, mailbox, limits, admission=admission, backlog=backlog, events=publisher)
    key = settings.mcp_headers_key
    cipher = HeaderCipher(
        key.get_secret_value().encode() if key else derived_key(settings.identity_private_key("agents"))
    )
    mcp_servers, mcp_client = SqlMcpServerRepository(db, cipher), SdkMcpClient()
    turns = SqlTurnRepository(db)
    delegations = Delegations(agents, messages, turns, messaging, publisher, limits)
    running = RunningTurns()
    cancellation = Cancellation(messages, turns, publisher, delegations, running)
    toolbox = toolbox or ToolBox(
        builtin_tools(memory, HttpxWebFetcher(), topics, delegations),
        {ToolKind.MCP: McpTools(mcp_servers, mcp_client)},
    )
    caller = ToolCaller(turns, grants, toolbox, publisher, limits)
    react = ReactLoop(
        messages,
        grants,
        caller,
        publisher,
        inference,
        prompts,
        limits,
        delegations=delegations,
        cancellation=cancellation,
        running=running,
    )
    processor = MessageProcessor(
        messages,
        publisher,
        inference,
        prompts,
        limits,
        react=react,
        readiness=readiness,
        delegations=delegations,
        running=running,
    )
    catalog = ToolCatalog(tools, limits)
    approvals = Approvals(SqlApprovalRepository(db), messaging, publisher, limits)
    runtime = MailboxRuntime(
        js,
        LaneRunner(ObservedProcessor(processor), limits.heartbeat_seconds),
        partitions=settings.inbox_partitions,
        batch=settings.inbox_fetch_batch,
        ack_wait=settings.ack_wait_seconds,
        max_deliver=settings.max_deliver,
        readiness=readiness,
    )
    servicer = AgentServicer(
        registry,
        messaging,
        catalog,
        AgentToolGrants(agents, grants, tools, toolbox, limits),
        ToolCallAudit(SqlToolCallRepository(db)),
        approvals,
        McpServers(mcp_servers, mcp_client, limits, settings.mcp_timeout_seconds),
        topics,
        cancellation,
        SystemEventIntake(agents, observed_events),
    )
    return Components(
        servicer=servicer,
        runtime=runtime,
        recovery=MailboxRecovery(messages, messaging, limits, approvals=approvals),
        messaging=messaging,
        registry=registry,
        catalog=catalog,
        toolbox=toolbox,
        approvals=approvals,
        topics=topics,
        delegations=delegations,
        monitoring=_monitoring(settings, db, monitors, agents, messages, messaging, system_events, reporter),
    )


def _monitoring(
    settings: AgentsSettings,
    db: Database,
    monitors: SqlMonitorAgents,
    agents: SqlAgentRepository,
    messages: SqlMessageRepository,
    messaging: Messaging,
    feed: NatsSystemEvents,
    reporter: SystemReporter,
) -> Monitoring:
    tally = Tally()
    return Monitoring(
        monitor=Monitor(RuleBook(settings.rules()), ObservedAlerts(monitors, agents, messages), tally),
        feed=feed,
        sweep=StalenessSweep(
            SqlStaleWork(db),
            reporter,
            timedelta(seconds=settings.monitor_mailbox_max_age_seconds),
            timedelta(seconds=settings.monitor_parked_max_age_seconds),
        ),
        summary=DailySummary(tally, monitors, agents, messaging, settings.monitor_summary_hour),
        sweep_seconds=settings.monitor_sweep_seconds,
    )


async def seed_builtin_tools(components: Components) -> None:
    """Bring the catalog's built-in entries in line with the code (idempotent, at every start)."""
    await components.catalog.seed(definition_of(tool) for tool in components.toolbox.builtins)


class AgentsWiring:
    """The servicer, the mailbox runtime and the recovery sweep over PostgreSQL, NATS and the other services.

    It waits for the database (then migrates) and NATS forever: the platform
    starts services in any order. The servicer needs the NATS connection, so a
    LateServicer stands in for it (UNAVAILABLE) until then.
    """

    name = "agents"

    def __init__(self, settings: AgentsSettings) -> None:
        self._settings = settings
        self.listener = Listener(
            settings.agents_listen_addr,
            ServiceKeys.from_settings(self.name, settings),
            settings.shutdown_grace_seconds,
            settings.agents_metrics_addr,
        )
        self._servicer = LateServicer(AgentServicer, "the agents service")
        self.registrations = [Registration(SERVICE_NAME, register, self._servicer)]

    async def start(self, stack: AsyncExitStack, stop: asyncio.Event) -> Sequence[asyncio.Task[None]]:
        settings = self._settings
        tokens = self.listener.keys.signer
        db = Database(settings.database_url)
        stack.callback(db.dispose)
        inference_channel = create_channel(settings.inference_service_addr, tokens)
        stack.push_async_callback(inference_channel.close)
        memory_channel = create_channel(settings.memory_service_addr, tokens)
        stack.push_async_callback(memory_channel.close)
        await migrate(db, MIGRATIONS_DIR, SCHEMA, stop=stop)
        password = settings.nats_password.get_secret_value()
        nc: Client = await wait_for(
            "nats", lambda: bus.connect(settings.nats_url, "agents", settings.nats_user, password), stop
        )
        stack.push_async_callback(_drain, nc)
        js = nc.jetstream()
        await wait_for("jetstream streams", lambda: bus.ensure_streams(js, settings.jetstream_replicas), stop)
        # The runtime consumes only while these answer (and turns wait for them, bounded).
        readiness = Readiness(
            {
                Dependency.INFERENCE: lambda: check_health(inference_channel),
                Dependency.MEMORY: lambda: check_health(memory_channel),
                Dependency.DATABASE: db.ping,
            },
            settings.dependency_wait_seconds,
        )
        components = build_components(
            settings,
            db,
            js,
            _model(
                settings,
                InferenceClient(
                    inference_channel,
                    tokens,
                    settings.inference_timeout_seconds,
                    readiness=readiness,
                    # The same minute's event as the message rate's (one per project a minute, by id).
                    quota_reports=QuotaReports(SystemReporter(ObservedSystemEvents(NatsSystemEvents(js)))),
                ),
            ),
            MemoryClient(memory_channel, settings.memory_timeout_seconds),
            readiness=readiness,
        )
        # Unwound after the runtime and the sweeps (pushed later) and before the pool closes.
        stack.push_async_callback(components.messaging.settle)
        await seed_builtin_tools(components)
        await components.runtime.start()
        # In-flight mailbox work winds down as soon as stop is set, side by side with the server's grace period.
        winding_down = asyncio.create_task(_stop_when_set(stop, components.runtime, settings.shutdown_grace_seconds))
        stack.push_async_callback(_joined, winding_down)
        sweeping = asyncio.create_task(components.recovery.run(stop, settings.recovery_interval_seconds))
        stack.push_async_callback(_joined, sweeping)
        expiring = asyncio.create_task(components.delegations.run(stop, settings.recovery_interval_seconds))
        stack.push_async_callback(_joined, expiring)
        if settings.agents_metrics_addr:
            backlog = BacklogGauges(js, db, settings.inbox_partitions).run(stop, BACKLOG_REFRESH_SECONDS)
            stack.push_async_callback(_joined, asyncio.create_task(backlog))
        if settings.monitor_enabled:
            for run in components.monitoring.runs(stop):
                stack.push_async_callback(_joined, asyncio.create_task(run))
        self._servicer.bind(components.servicer)
        return ()


async def _stop_when_set(stop: asyncio.Event, runtime: MailboxRuntime, grace: float) -> None:
    await stop.wait()
    await runtime.stop(grace=grace)


async def _joined(task: asyncio.Task[None]) -> None:
    await task


async def _drain(nc: Client) -> None:
    with contextlib.suppress(Exception):
        await nc.drain()


def _model(settings: AgentsSettings, inference: Inference) -> Inference:
    """The inference service, or (test meshes) it behind the agents' own prompt scripts."""
    return PromptScriptedInference(inference) if settings.prompt_scripts else inference

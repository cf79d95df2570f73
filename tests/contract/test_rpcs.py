"""Every RPC in protos/ has a server, and every RPC a client calls exists.

Servers: each service of the generated stubs has exactly one servicer in its
service package, and that class (not the generated base, which answers
UNIMPLEMENTED) defines every method. Clients: every `<...>_stub.<Rpc>(...)` call in
a service's source names a method of the one `<Service>Stub` that module builds.
"""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path
from types import ModuleType

import pytest

import agentmesh

REPO = Path(__file__).resolve().parents[2]
SERVICE_PACKAGES = {
    "AgentService": "agentmesh_agents",
    "MemoryService": "agentmesh_memory",
    "InferenceService": "agentmesh_inference",
    "SchedulerService": "agentmesh_scheduler",
}


def _generated(suffix: str) -> list[ModuleType]:
    # Namespace packages (directory = proto package, no __init__.py): walk the files.
    root = Path(next(iter(agentmesh.__path__)))
    paths = sorted(root.rglob(f"*{suffix}.py"))
    return [importlib.import_module(".".join(("agentmesh", *p.relative_to(root).with_suffix("").parts))) for p in paths]


def _services() -> dict[str, tuple[list[str], type]]:
    """Service name -> (its RPC names, the generated Servicer base)."""
    services = {}
    for module in _generated("_pb2"):
        for name, service in module.DESCRIPTOR.services_by_name.items():
            grpc_module = importlib.import_module(module.__name__ + "_grpc")
            services[name] = ([m.name for m in service.methods], getattr(grpc_module, f"{name}Servicer"))
    return services


SERVICES = _services()


def test_the_generated_stubs_hold_every_service_of_the_protos() -> None:
    declared = {
        match
        for proto in (REPO / "protos").rglob("*.proto")
        for match in re.findall(r"^service (\w+)", proto.read_text(), re.MULTILINE)
    }
    assert declared == set(SERVICES) == set(SERVICE_PACKAGES)


def _subclasses(base: type) -> list[type]:
    found = []
    for cls in base.__subclasses__():
        found += [cls, *_subclasses(cls)]
    return found


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_the_servicer_defines_every_rpc(service: str) -> None:
    rpcs, base = SERVICES[service]
    package = SERVICE_PACKAGES[service]
    importlib.import_module(f"{package}.rpc.servicer")
    # Test doubles elsewhere may subclass the base too; the service's own class counts.
    servicers = [cls for cls in _subclasses(base) if cls.__module__.startswith(package + ".")]
    assert len(servicers) == 1, f"{service}: servicers in {package}: {servicers}"
    servicer = servicers[0]
    inherited = [rpc for rpc in rpcs if next(c for c in servicer.__mro__ if rpc in vars(c)) is base]
    assert not inherited, f"{servicer.__qualname__} leaves {inherited} to the generated base (UNIMPLEMENTED)"


def _client_calls(path: Path) -> tuple[set[str], set[str]]:
    """(the `<Service>Stub` classes a module names, the methods it calls on a `*stub` attribute)."""
    stubs, calls = set(), set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Attribute) and node.attr.endswith("ServiceStub"):
            stubs.add(node.attr.removesuffix("Stub"))
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Attribute)
            and node.func.value.attr.endswith("stub")
        ):
            calls.add(node.func.attr)
    return stubs, calls


CLIENT_MODULES = sorted(
    path for path in (REPO / "services").glob("*/src/*/**/*.py") if _client_calls(path)[0] or _client_calls(path)[1]
)


def test_every_client_of_another_service_is_checked() -> None:
    names = {path.relative_to(REPO / "services").parts[0] for path in CLIENT_MODULES}
    # The gateway calls agents, memory and scheduler; agents calls memory and inference; the scheduler calls agents.
    assert {"gateway", "agents", "scheduler"} <= names


@pytest.mark.parametrize("path", CLIENT_MODULES, ids=lambda p: str(p.relative_to(REPO)))
def test_clients_call_only_rpcs_that_exist(path: Path) -> None:
    stubs, calls = _client_calls(path)
    assert len(stubs) == 1, f"{path.name}: one stub per client module, found {sorted(stubs)}"
    (service,) = stubs
    assert calls, f"{path.name} builds a {service}Stub but calls nothing on it"
    missing = calls - set(SERVICES[service][0])
    assert not missing, f"{path.name} calls {sorted(missing)}, which {service} does not have"

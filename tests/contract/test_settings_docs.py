"""The environment-variable tables in the docs say what the settings classes do.

Every markdown table whose first column is `variable` is read. Each AGENTMESH_*
name in it must be a field of a settings class (README.md and docs/DEVELOPING.md:
of any service; services/<svc>/README.md: of that service); a default written as
a literal (`value` without a `<placeholder>`, a bare number or word, `required`,
`unset ...`) must be the default of every class that has the variable; a `used by`
column may name only services whose settings have it. Every setting is documented
somewhere.

Shorthand such as `AGENTMESH_GATEWAY_HOST / _PORT` names AGENTMESH_GATEWAY_PORT:
`_PORT` replaces the longest tail of the previous name that gives a real setting.
`<SVC>` stands for each of the four gRPC services.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pydantic import AliasChoices, SecretStr
from pydantic_settings import BaseSettings

from agentmesh_agents.settings import AgentsSettings
from agentmesh_gateway.settings import GatewaySettings
from agentmesh_inference.settings import InferenceSettings
from agentmesh_memory.settings import MemorySettings
from agentmesh_scheduler.settings import SchedulerSettings

REPO = Path(__file__).resolve().parents[2]
SETTINGS: dict[str, type[BaseSettings]] = {
    "gateway": GatewaySettings,
    "agents": AgentsSettings,
    "memory": MemorySettings,
    "inference": InferenceSettings,
    "scheduler": SchedulerSettings,
}
GRPC_SERVICES = ("AGENTS", "MEMORY", "INFERENCE", "SCHEDULER")
REQUIRED, UNSET = object(), object()


def env_names(cls: type[BaseSettings]) -> dict[str, Any]:
    """Environment variable -> default, for one settings class."""
    prefix = cls.model_config.get("env_prefix", "")
    names = {}
    for field_name, field in cls.model_fields.items():
        default = REQUIRED if field.is_required() else field.default
        if isinstance(default, SecretStr):
            default = default.get_secret_value()
        if isinstance(field.validation_alias, AliasChoices):
            aliases = [a for a in field.validation_alias.choices if isinstance(a, str) and a.startswith(prefix)]
        else:
            aliases = [prefix + field_name.upper()]
        names.update(dict.fromkeys(aliases, default))
    return names


ENV = {service: env_names(cls) for service, cls in SETTINGS.items()}
ALL_NAMES = {name for names in ENV.values() for name in names}


@dataclass
class Row:
    doc: str
    line: int
    names: list[list[str]]  # one group per name written (a <SVC> name is four)
    default: str
    used_by: str | None


def _expand(token: str, previous: str | None, known: set[str]) -> list[str]:
    if token.startswith("_"):
        if previous is None:
            return [token]
        parts = previous.split("_")
        candidates = ["_".join(parts[:cut]) + token for cut in range(len(parts) - 1, 0, -1)]
        return [next((c for c in candidates if c in known), candidates[-1])]
    if "<SVC>" in token:
        return [token.replace("<SVC>", service) for service in GRPC_SERVICES]
    return [token]


def tables(path: Path, known: set[str]) -> list[Row]:
    rows, header = [], None
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.startswith("|"):
            header = None
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if header is None:
            header = [cell.lower() for cell in cells]
            continue
        if header[0] != "variable" or set(line) <= set("|- "):
            continue
        names, previous = [], None
        for token in re.findall(r"AGENTMESH_[A-Z0-9_<>]+|(?<![A-Z0-9])_[A-Z][A-Z0-9_]*", cells[0]):
            group = _expand(token.rstrip("_") if token.endswith("_") else token, previous, known)
            names.append(group)
            previous = group[0]
        used_by = cells[header.index("used by")] if "used by" in header else None
        rows.append(Row(str(path.relative_to(REPO)), number, names, cells[1] if len(cells) > 1 else "", used_by))
    return rows


def literal(part: str) -> object | str | None:
    """The default a cell states, or None when it describes it in words."""
    part = part.strip()
    if quoted := re.fullmatch(r"`([^`]*)`(\s*\(.*\))?", part):
        return None if "<" in quoted[1] else quoted[1]  # `<run_dir>/qdrant` is a template
    if part.startswith("required"):
        return REQUIRED
    if part.startswith("unset"):
        return UNSET
    if re.fullmatch(r"[\w.:/@-]+", part):
        return part
    return None


def shown(default: Any) -> object | str:
    if default is REQUIRED:
        return REQUIRED
    if default is None:
        return UNSET
    if isinstance(default, bool):
        return str(default).lower()
    if isinstance(default, float) and default.is_integer():
        return str(int(default))
    return str(default)


DOCS = [REPO / "README.md", REPO / "docs" / "DEVELOPING.md"]
SERVICE_DOCS = {service: REPO / "services" / service / "README.md" for service in SETTINGS}


def _check(rows: list[Row], scope: dict[str, dict[str, Any]]) -> list[str]:
    problems = []
    for row in rows:
        where = f"{row.doc}:{row.line}"
        parts = row.default.split(" / ")
        if len(parts) != len(row.names):
            parts = [row.default] * len(row.names)
        for group, part in zip(row.names, parts, strict=True):
            for name in group:
                holders = {service: names[name] for service, names in scope.items() if name in names}
                if not holders:
                    problems.append(f"{where}: {name} is no setting")
                    continue
                stated = literal(part)
                if stated is not None and any(shown(default) != stated for default in holders.values()):
                    problems.append(f"{where}: {name} defaults to {holders}, the doc says {part!r}")
                if row.used_by is not None:
                    listed = {w.strip(" ()") for w in re.split(r",|\s", row.used_by) if w.strip(" ()")}
                    users = set(SETTINGS) if "all" in listed else listed & set(SETTINGS)
                    if not users <= set(holders):
                        problems.append(f"{where}: {name} is used by {sorted(holders)}, the doc says {row.used_by!r}")
    return problems


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_global_docs_match_the_settings(doc: Path) -> None:
    rows = tables(doc, ALL_NAMES)
    assert rows, f"{doc.name} has no environment-variable table"
    assert _check(rows, ENV) == []


@pytest.mark.parametrize("service", SETTINGS)
def test_service_readmes_match_their_settings(service: str) -> None:
    rows = tables(SERVICE_DOCS[service], set(ENV[service]))
    assert rows, f"services/{service}/README.md has no environment-variable table"
    assert _check(rows, {service: ENV[service]}) == []


def test_every_setting_is_documented() -> None:
    documented = {
        name
        for path in [*DOCS, *SERVICE_DOCS.values()]
        for row in tables(path, ALL_NAMES)
        for group in row.names
        for name in group
    }
    assert ALL_NAMES - documented == set()

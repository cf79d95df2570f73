"""Fixtures shared by the agents tests: a database with the agents schema at head."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from agentmesh_agents.adapters.tables import MIGRATIONS_DIR, SCHEMA
from agentmesh_devstack.templates import Build, migrations


@pytest.fixture
def migrated_database_url(database_from_template: Callable[[str, Build], str]) -> str:
    """A fresh database with the agents schema migrated: a clone of a template migrated once per session."""
    return database_from_template(SCHEMA, migrations(MIGRATIONS_DIR, SCHEMA))

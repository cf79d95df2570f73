"""Template databases: built once per session, cloned per test, each clone independent."""

from __future__ import annotations

from collections.abc import Callable

import psycopg2

from agentmesh_devstack.templates import Build

builds: list[str] = []


def _build(url: str) -> None:
    builds.append(url)
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute("CREATE SCHEMA demo; CREATE TABLE demo.items (name text); INSERT INTO demo.items VALUES ('seed')")
    conn.close()


def _names(url: str) -> list[str]:
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute("SELECT name FROM demo.items ORDER BY name")
        names = [row[0] for row in cur.fetchall()]
    conn.close()
    return names


def test_clones_share_the_build_but_not_their_writes(database_from_template: Callable[[str, Build], str]) -> None:
    first = database_from_template("demo", _build)
    second = database_from_template("demo", _build)

    assert len(builds) == 1 and first != second
    with psycopg2.connect(first) as conn, conn.cursor() as cur:
        cur.execute("INSERT INTO demo.items VALUES ('only in the first')")
    conn.close()
    assert _names(first) == ["only in the first", "seed"]
    assert _names(second) == ["seed"]
    assert _names(database_from_template("demo", _build)) == ["seed"]  # the template itself is untouched

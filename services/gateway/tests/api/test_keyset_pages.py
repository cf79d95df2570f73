"""The gateway's own lists (users, projects, members) page by keyset over PostgreSQL.

Rows added or removed between two page reads neither repeat nor skip items, and a
cursor is opaque and tamper-evident: an edited one, or an offset cursor from before, is 400.
"""

from __future__ import annotations

import base64

import httpx
import pytest


async def _pages(api: httpx.AsyncClient, path: str, headers: dict[str, str], between) -> list[str]:
    """Every page of path, two at a time, calling between(page number) after each page read; the ids seen."""
    seen: list[str] = []
    cursor: str | None = None
    for number in range(20):
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        response = await api.get(path, headers=headers, params=params)
        assert response.status_code == 200, response.text
        body = response.json()
        seen += [item.get("id") or item["user_id"] for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            return seen
        await between(number)
    raise AssertionError("the pages never ended")


async def _project(api: httpx.AsyncClient, headers: dict[str, str], name: str) -> str:
    created = await api.post("/projects", headers=headers, json={"name": name})
    assert created.status_code == 201, created.text
    return created.json()["id"]


async def test_users_added_while_paging_are_neither_repeated_nor_skipped(api, admin, make_user) -> None:
    before = [(await make_user(f"before-{n}"))[0] for n in range(3)]
    added: list[str] = []

    async def add_one(number: int) -> None:
        added.append((await make_user(f"during-{number}"))[0])

    seen = await _pages(api, "/users", admin, add_one)
    me = (await api.get("/auth/me", headers=admin)).json()["id"]
    assert seen == [me, *before, *added]  # oldest first, each once


async def test_projects_changed_while_paging_are_neither_repeated_nor_skipped(api, admin) -> None:
    made = [await _project(api, admin, f"p{n}") for n in range(5)]
    gone: list[str] = []

    async def change(number: int) -> None:
        if number == 0:  # delete a project already read: an offset would now skip the next one
            gone.append(made[0])
            assert (await api.delete(f"/projects/{made[0]}", headers=admin)).status_code == 204
        made.append(await _project(api, admin, f"added-{number}"))

    seen = await _pages(api, "/projects", admin, change)
    assert seen == made  # the deleted one was read before it went


async def test_members_changed_while_paging_are_neither_repeated_nor_skipped(api, admin, make_user) -> None:
    project = await _project(api, admin, "team")
    me = (await api.get("/auth/me", headers=admin)).json()["id"]
    joined = [me]
    for n in range(3):
        user_id, _ = await make_user(f"member-{n}")
        assert (await api.post(f"/projects/{project}/members", headers=admin,
                               json={"user_id": user_id, "role": "user"})).status_code == 201  # fmt: skip
        joined.append(user_id)

    async def change(number: int) -> None:
        if number == 0:  # remove a member already read
            assert (await api.delete(f"/projects/{project}/members/{joined[1]}", headers=admin)).status_code == 204
        user_id, _ = await make_user(f"joined-{number}")
        assert (await api.post(f"/projects/{project}/members", headers=admin,
                               json={"user_id": user_id, "role": "user"})).status_code == 201  # fmt: skip
        joined.append(user_id)

    assert await _pages(api, f"/projects/{project}/members", admin, change) == joined


def _offset_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode()


@pytest.mark.parametrize("path", ["/users", "/projects", "/projects/{project}/members"])
async def test_edited_and_offset_cursors_are_400(api, admin, make_user, path) -> None:
    project = await _project(api, admin, "p")
    for n in range(2):
        await make_user(f"user-{n}")
        await _project(api, admin, f"q{n}")
    path = path.format(project=project)
    cursor = (await api.get(path, headers=admin, params={"limit": 1})).json()["next_cursor"]
    assert cursor
    edited = cursor[:-2] + ("AA" if not cursor.endswith("AA") else "BB")
    for bad in (edited, _offset_cursor(1)):
        response = await api.get(path, headers=admin, params={"cursor": bad})
        assert response.status_code == 400, (bad, response.text)
        assert response.json()["error"] == {"code": "invalid_argument", "message": "invalid cursor"}

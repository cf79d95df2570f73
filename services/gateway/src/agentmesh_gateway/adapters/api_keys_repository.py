"""Project API keys and API usage in PostgreSQL (schema `gateway`); each method is one transaction."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Connection, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Row

from agentmesh_db.database import Database, affected_rows
from agentmesh_gateway.accounts.api_keys import ApiKey
from agentmesh_gateway.accounts.usage import UsageRow
from agentmesh_gateway.adapters.api_key_tables import api_keys, api_usage


def _key(row: Row) -> ApiKey:
    return ApiKey(
        id=row.id,
        project_id=row.project_id,
        name=row.name,
        prefix=row.prefix,
        created_by=row.created_by,
        created_at=row.created_at,
        expires_at=row.expires_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
    )


class SqlApiKeyStore:
    """Implements accounts.api_keys.ApiKeyStore."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, key: ApiKey, key_hash: str) -> None:
        values = {
            "id": key.id,
            "project_id": key.project_id,
            "name": key.name,
            "prefix": key.prefix,
            "key_hash": key_hash,
            "created_by": key.created_by,
            "created_at": key.created_at,
            "expires_at": key.expires_at,
        }
        await self._db.run(lambda s: s.execute(insert(api_keys).values(**values)), transaction=False)

    async def count_active(self, project_id: str) -> int:
        query = select(func.count()).where(api_keys.c.project_id == project_id, api_keys.c.revoked_at.is_(None))
        return await self._db.run(lambda s: s.execute(query).scalar_one(), transaction=False)

    async def list_active(self, project_id: str) -> list[ApiKey]:
        query = (
            select(api_keys)
            .where(api_keys.c.project_id == project_id, api_keys.c.revoked_at.is_(None))
            .order_by(api_keys.c.created_at.desc(), api_keys.c.id)
        )
        return await self._db.run(lambda s: [_key(row) for row in s.execute(query)], transaction=False)

    async def by_hash(self, key_hash: str) -> ApiKey | None:
        query = select(api_keys).where(api_keys.c.key_hash == key_hash)
        return await self._db.run(lambda s: next((_key(row) for row in s.execute(query)), None), transaction=False)

    async def revoke(self, project_id: str, key_id: str, at: datetime) -> bool:
        statement = (
            update(api_keys)
            .where(api_keys.c.id == key_id, api_keys.c.project_id == project_id, api_keys.c.revoked_at.is_(None))
            .values(revoked_at=at)
        )
        return await self._db.run(lambda s: affected_rows(s, statement) == 1, transaction=False)

    async def touch(self, key_id: str, at: datetime) -> None:
        statement = update(api_keys).where(api_keys.c.id == key_id).values(last_used_at=at)
        await self._db.run(lambda s: s.execute(statement), transaction=False)


class SqlUsageStore:
    """Implements accounts.usage.UsageStore: one row per project, day and caller, summed by upsert."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(
        self,
        project_id: str,
        day: date,
        key_id: str | None,
        user_id: str | None,
        prompt: int,
        completion: int,
        requests: int,
    ) -> None:
        caller = f"key:{key_id}" if key_id else f"user:{user_id}"
        statement = pg_insert(api_usage).values(
            project_id=project_id,
            day=day,
            caller=caller,
            key_id=key_id,
            user_id=user_id,
            prompt_tokens=prompt,
            completion_tokens=completion,
            requests=requests,
        )
        statement = statement.on_conflict_do_update(
            index_elements=[api_usage.c.project_id, api_usage.c.day, api_usage.c.caller],
            set_={
                "prompt_tokens": api_usage.c.prompt_tokens + statement.excluded.prompt_tokens,
                "completion_tokens": api_usage.c.completion_tokens + statement.excluded.completion_tokens,
                "requests": api_usage.c.requests + statement.excluded.requests,
            },
        )
        await self._db.run(lambda s: s.execute(statement), transaction=False)

    async def rows(self, project_id: str, since: date) -> list[UsageRow]:
        query = (
            select(api_usage, api_keys.c.name.label("key_name"), api_keys.c.prefix.label("key_prefix"))
            .select_from(api_usage.outerjoin(api_keys, api_usage.c.key_id == api_keys.c.id))
            .where(api_usage.c.project_id == project_id, api_usage.c.day >= since)
            .order_by(api_usage.c.day.desc(), api_usage.c.caller)
        )

        def work(s: Connection) -> list[UsageRow]:
            return [
                UsageRow(
                    day=row.day,
                    key_id=row.key_id,
                    key_name=row.key_name,
                    key_prefix=row.key_prefix,
                    user_id=row.user_id,
                    prompt_tokens=row.prompt_tokens,
                    completion_tokens=row.completion_tokens,
                    requests=row.requests,
                )
                for row in s.execute(query)
            ]

        return await self._db.run(work)

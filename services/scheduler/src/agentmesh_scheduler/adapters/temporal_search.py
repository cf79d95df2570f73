"""The custom search attributes on the scheduler's workflows and schedules.

Operators list one project's (agent's, job's) runs in the Temporal UI with a
query such as `AgentmeshProjectId = "<p>"`. They must be registered on the
namespace first: the local dev server gets them from the devstack
(`--search-attribute`), and start-up registers them where the server allows it
(self-hosted); on Temporal Cloud register them once with `tcld` or the Cloud UI.
Without them workflows still run, only unlisted by attribute.
"""

from __future__ import annotations

import logging
from typing import Any

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest, ListSearchAttributesRequest
from temporalio.client import Client
from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes
from temporalio.service import RPCError

log = logging.getLogger(__name__)

PROJECT_ID = SearchAttributeKey.for_keyword("AgentmeshProjectId")
AGENT_ID = SearchAttributeKey.for_keyword_list("AgentmeshAgentId")
JOB_ID = SearchAttributeKey.for_keyword("AgentmeshJobId")

_TYPES = {
    PROJECT_ID.name: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
    AGENT_ID.name: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST,
    JOB_ID.name: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
}


async def ensure_registered(client: Client, namespace: str) -> bool:
    """True when the namespace has every attribute (registering missing ones if allowed)."""
    try:
        listed = await client.operator_service.list_search_attributes(ListSearchAttributesRequest(namespace=namespace))
        missing = {name: kind for name, kind in _TYPES.items() if name not in listed.custom_attributes}
        if missing:
            await client.operator_service.add_search_attributes(
                AddSearchAttributesRequest(namespace=namespace, search_attributes=missing)
            )
            log.info("registered search attributes %s on namespace %s", sorted(missing), namespace)
    except RPCError as error:
        log.warning(
            "search attributes %s are not registered on namespace %s (%s); workflows run without them",
            sorted(_TYPES), namespace, error.status.name,
        )  # fmt: skip
        return False
    return True


class SearchAttributes:
    """Builds the attributes a workflow or schedule carries; empty when the namespace lacks them."""

    def __init__(self, enabled: bool = False) -> None:
        self.enabled = enabled

    def of(self, project_id: str, agent_ids: list[str], job_id: str | None = None) -> TypedSearchAttributes:
        """Project, agents and (for jobs) the job."""
        if not self.enabled:
            return TypedSearchAttributes.empty
        pairs: list[SearchAttributePair[Any]] = [
            SearchAttributePair(PROJECT_ID, project_id),
            SearchAttributePair(AGENT_ID, sorted(set(agent_ids))),
        ]
        if job_id:
            pairs.append(SearchAttributePair(JOB_ID, job_id))
        return TypedSearchAttributes(pairs)

"""Per-project quotas: concurrency, the token window, overrides, and who may charge which project."""

from __future__ import annotations

import pytest

from agentmesh_core.errors import InvalidInput, NotFound, PermissionDenied
from agentmesh_core.identity import GlobalRole, Identity, ProjectRole
from agentmesh_inference.domain.ports import InMemoryQuotaStore
from agentmesh_inference.domain.quotas import UNSCOPED, ProjectQuotas, Quota, QuotaExceeded, charged_project

SUPERADMIN = Identity("root", GlobalRole.SUPERADMIN)
SERVICE = Identity("agents", GlobalRole.SERVICE)
MEMBER_A = Identity("u1", GlobalRole.USER, project_id="a", project_role=ProjectRole.USER)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def quotas(clock: Clock, tokens: int = 100, concurrent: int = 2, store: InMemoryQuotaStore | None = None):
    return ProjectQuotas(Quota(tokens, concurrent), store or InMemoryQuotaStore(), clock)


def test_concurrency_is_per_project_and_refusals_say_when_to_retry(clock):
    book = quotas(clock)
    book.acquire("a")
    book.acquire("a")
    with pytest.raises(QuotaExceeded) as refused:
        book.acquire("a")
    assert refused.value.reason == "concurrency" and refused.value.retry_after == 1.0
    book.acquire("b")  # another project is not affected
    book.release("a")
    book.acquire("a")
    assert book.state(SUPERADMIN, "a").in_flight == 2
    assert book.state(SUPERADMIN, "a").totals.rejections == 1


def test_tokens_per_minute_is_a_moving_window(clock):
    book = quotas(clock, tokens=100, concurrent=10)
    book.acquire("a")
    book.record("a", 30, 50)  # 80 used
    book.release("a")
    clock.now += 20
    book.acquire("a")  # 80 < 100: admitted
    book.record("a", 10, 20)  # 110 used
    book.release("a")
    clock.now += 10
    with pytest.raises(QuotaExceeded) as refused:
        book.acquire("a")
    assert refused.value.reason == "tokens"
    # The first 80 tokens leave the window 60 s after they were used: 30 s from now.
    assert refused.value.retry_after == pytest.approx(30.0)
    clock.now += 30
    book.acquire("a")
    state = book.state(SUPERADMIN, "a")
    assert state.tokens_last_minute == 30
    assert (state.totals.prompt_tokens, state.totals.completion_tokens, state.totals.requests) == (40, 70, 2)


def test_overrides_replace_defaults_field_by_field_and_are_stored(clock):
    store = InMemoryQuotaStore()
    book = quotas(clock, tokens=100, concurrent=2, store=store)
    state = book.override(SUPERADMIN, "a", Quota(max_concurrent=0))
    assert state.overridden and state.quota == Quota(100, 0)
    with pytest.raises(QuotaExceeded):
        book.acquire("a")  # 0 requests at once: the project is paused
    assert store.overrides == {"a": Quota(None, 0)}
    # A new process reads the stored overrides.
    assert quotas(clock, store=store).quota_for("a") == Quota(100, 0)
    state = book.override(SUPERADMIN, "a", Quota())
    assert not state.overridden and store.overrides == {}
    book.acquire("a")


def test_only_superadmins_override_and_members_read_their_own(clock):
    book = quotas(clock)
    for caller in (SERVICE, MEMBER_A):
        with pytest.raises(PermissionDenied):
            book.override(caller, "a", Quota(1, 1))
    assert book.state(MEMBER_A, "a").quota == Quota(100, 2)
    with pytest.raises(NotFound):
        book.state(MEMBER_A, "b")
    with pytest.raises(InvalidInput):
        book.override(SUPERADMIN, "a", Quota(tokens_per_minute=-1))
    with pytest.raises(InvalidInput):
        book.override(SUPERADMIN, "", Quota(1, 1))


def test_charged_project():
    assert charged_project(MEMBER_A, "") == "a"
    assert charged_project(MEMBER_A, "a") == "a"
    with pytest.raises(NotFound):
        charged_project(MEMBER_A, "b")  # a member cannot spend another project's quota
    assert charged_project(SERVICE, "b") == "b"  # the agents service names the turn's project
    assert charged_project(SERVICE, "") == UNSCOPED
    assert charged_project(None, "c") == "c"

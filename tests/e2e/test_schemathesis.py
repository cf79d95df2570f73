"""schemathesis over the gateway's whole OpenAPI document, against the real mesh: no 5xx.

Every operation gets positive (schema-valid) and negative (schema-breaking)
cases, as each of three callers: the Superadmin, a project admin and a
non-member. Path ids are the real project and agent for half of the cases (so
they reach the services) and generated for the rest. Bounded in time: a few
examples per operation, mode and caller, no shrinking (a failure is reported
with its request instead): one pass of one example each covers everything, then
more passes run while the time budget lasts (the machine may be busy).

Kept out of the real ids: deletes (they would remove what later cases need)
and /users/{user_id} (a generated password or role would lock the callers out).
The callers are users of their own (the session's admin token is shared with
other tests), and POST /auth/logout runs last: it ends the caller's session.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from agentmesh_devstack.stack import Stack

pytestmark = pytest.mark.slow

REQUEST_TIMEOUT = 20.0
EXTRA_PASSES_SECONDS = 90.0  # more examples while the whole run is younger than this


@dataclass
class Failure:
    caller: str
    method: str
    path: str
    status: int | str
    body: str


def _bearer(api: httpx.Client, username: str, password: str) -> dict[str, str]:
    response = api.post("/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest.fixture(scope="module")
def callers(api: httpx.Client, admin: dict[str, str]) -> tuple[dict[str, dict[str, str]], dict[str, str]]:
    """Bearer headers of the three callers, and the real ids cases may use."""
    tag = uuid.uuid4().hex[:6]
    password = "password-123"
    ids = {}
    for name, role in (("super", "superadmin"), ("padmin", "user"), ("outsider", "user")):
        body = {"username": f"st_{name}_{tag}", "password": password, "role": role}
        created = api.post("/users", headers=admin, json=body)
        assert created.status_code == 201, created.text
        ids[name] = created.json()["id"]
    project = api.post("/projects", headers=admin, json={"name": f"schemathesis-{tag}"}).json()["id"]
    member = api.post(f"/projects/{project}/members", headers=admin, json={"user_id": ids["padmin"], "role": "admin"})
    assert member.status_code == 201, member.text
    # Paused: accepted messages queue instead of keeping the model busy for the rest of the suite.
    agent = api.post(f"/projects/{project}/agents", headers=admin, json={"name": "target", "status": "paused"})
    assert agent.status_code == 201, agent.text
    headers = {
        "superadmin": _bearer(api, f"st_super_{tag}", password),
        "project admin": _bearer(api, f"st_padmin_{tag}", password),
        "non-member": _bearer(api, f"st_outsider_{tag}", password),
    }
    return headers, {"project_id": project, "agent_id": agent.json()["id"]}


class Driver:
    """Runs an operation's generated cases as one caller, counting cases and recording 5xx answers."""

    def __init__(self, base_url: str, real_ids: dict[str, str]) -> None:
        self.base_url = base_url
        self.real_ids = real_ids
        self.ran = 0
        self.failures: list[Failure] = []
        self.unsatisfiable: set[str] = set()  # operations with no cases of a mode (no input to break)
        self.seconds: dict[str, float] = {}  # time spent per operation

    def drive(self, operation, mode: GenerationMode, caller: str, headers: dict[str, str], examples: int) -> None:
        # Deletes and /users/{id} keep generated ids: see the module docstring.
        may_use_real = operation.method.upper() != "DELETE" and not operation.path.startswith("/users/")

        @settings(max_examples=examples, deadline=None, database=None, phases=[Phase.generate],
                  suppress_health_check=list(HealthCheck))  # fmt: skip
        @given(case=operation.as_strategy(generation_mode=mode), use_real=st.booleans())
        def run(case, use_real: bool) -> None:
            if use_real and may_use_real:
                for name, value in self.real_ids.items():
                    if name in (case.path_parameters or {}):
                        case.path_parameters[name] = value
            self.ran += 1
            try:
                response = case.call(base_url=self.base_url, headers=headers, timeout=REQUEST_TIMEOUT)
            except Exception as error:  # noqa: BLE001 - a broken connection is a failure to report
                self.failures.append(Failure(caller, case.method, case.formatted_path, type(error).__name__, ""))
                return
            if response.status_code >= 500:
                failure = Failure(caller, case.method, case.formatted_path, response.status_code, response.text[:300])
                self.failures.append(failure)

        name = f"{operation.method.upper()} {operation.path}"
        started = time.monotonic()
        try:
            run()
        except Unsatisfiable:
            self.unsatisfiable.add(f"{mode.value} {name}")
        self.seconds[name] = self.seconds.get(name, 0.0) + time.monotonic() - started


def test_no_server_errors_for_any_operation_or_caller(
    mesh: Stack, api: httpx.Client, admin: dict[str, str], callers
) -> None:
    headers_of, real_ids = callers
    schema = schemathesis.openapi.from_url(f"{mesh.config.gateway_url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    # Logout ends the callers' sessions: it runs once, after everything else.
    logout = [operation for operation in operations if operation.path == "/auth/logout"]
    operations = [operation for operation in operations if operation.path != "/auth/logout"]
    driver = Driver(mesh.config.gateway_url, real_ids)
    started = time.monotonic()

    def one_pass(targets: list, examples: int, until: float = float("inf")) -> None:
        for operation in targets:
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                for caller, headers in headers_of.items():
                    if time.monotonic() - started > until:
                        return
                    driver.drive(operation, mode, caller, headers, examples)

    one_pass(operations, 1)
    covered = driver.ran
    while time.monotonic() - started < EXTRA_PASSES_SECONDS:
        one_pass(operations, 2, until=EXTRA_PASSES_SECONDS)
    one_pass(logout, 1)
    elapsed = time.monotonic() - started
    slowest = sorted(driver.seconds.items(), key=lambda item: -item[1])[:5]
    print(
        f"schemathesis: {len(operations) + len(logout)} operations, {driver.ran} cases ({covered} in the first pass), "
        f"{len(driver.failures)} server errors in {elapsed:.0f}s; slowest: "
        + ", ".join(f"{name} {seconds:.0f}s" for name, seconds in slowest)
    )
    assert driver.failures == []
    # Every operation ran schema-valid cases; only operations without inputs have no negative ones.
    assert not any(name.startswith("positive") for name in driver.unsatisfiable)
    assert covered >= len(operations) * len(headers_of)
    assert api.get("/projects", headers=admin).status_code == 200  # the mesh still answers

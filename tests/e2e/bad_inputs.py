"""The bad inputs the e2e suite drives (test_bad_input.py): the classes, and a case per route and field.

Classes: nesting depth, NUL, lone surrogates, non-finite numbers, huge numbers,
edge datetimes, oversize bodies and headers, foreign ids, loose booleans. Bodies
are raw JSON text written by hand, because json.dumps cannot write lone
surrogates, or NaN in strict mode.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx

LONE = "\\udc80"  # JSON text of a lone surrogate
V = "@V@"  # where a template takes the bad value


def deep(levels: int, *, lists: bool = False) -> str:
    return ("[" * levels + "1" + "]" * levels) if lists else ('{"k":' * levels + "1" + "}" * levels)


# Free-form JSON values (JSON text), each breaking one rule of agentmesh_core.json_values.
BAD_JSON = {
    "depth 21": deep(21),
    "depth 33": deep(33),
    "depth 255": deep(255),
    "list depth 60": deep(60, lists=True),
    "NUL": '{"k":"a\\u0000b"}',
    "NUL key": '{"a\\u0000":1}',
    "surrogate": '{"k":["' + LONE + '"]}',
    "surrogate key": '{"' + LONE + '":1}',
    "NaN": '{"n":NaN}',
    "Infinity": '{"n":[Infinity]}',
    "-Infinity": '{"n":-Infinity}',
    "1e400": '{"n":1e400}',
    "huge int": '{"n":' + "9" * 30 + "}",
    "2**64": '{"n":18446744073709551616}',
}
# Text (inside a JSON string), each breaking the one text rule.
BAD_TEXT = {"NUL": "a\\u0000b", "NUL only": "\\u0000", "surrogate": "a" + LONE + "b", "high surrogate": "\\ud800"}
EDGE_TIMES = ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "10000-01-01T00:00:00Z", "2030-02-30T00:00:00Z",
              "0000-01-01T00:00:00Z", "1970-01-01T00:00:00Z", "9999-12-31T23:59:59Z"]  # fmt: skip
TOPIC = "daily_report"  # the target agents subscribe to it
OPENAI_ERROR_FIELDS = {"message", "type", "param", "code"}
HUGE = ["18446744073709551616", "9223372036854775808", "1" + "0" * 400, "-1", "1e400"]


@dataclass
class World:
    admin: dict[str, str]
    project: str
    other_project: str
    agent: str
    other_agent: str
    other_entry: str
    user: str
    schedule: str = ""  # disabled, for the PATCH cases
    other_message: str = ""  # queued in the other project (its agent is paused)
    finished_message: str = ""  # cancelled already: finished
    lists: list[str] = field(default_factory=list)

    def snapshot(self, api: httpx.Client) -> dict[str, object]:
        """Every list as it is now (each must answer 200)."""
        seen = {}
        for path in self.lists:
            response = api.get(path, headers=self.admin, params={"limit": 200})
            assert response.status_code == 200, (path, response.status_code, response.text)
            seen[path] = response.json()
        return seen


@dataclass(frozen=True)
class Case:
    """One bad request: raw JSON body text (or none), extra headers, the list it must not change."""

    name: str
    method: str
    path: str
    body: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    auth: bool = True
    expect: int | None = None  # a specific status, when the class has one (404 for foreign ids)
    openai: bool = False  # /v1 answers OpenAI's error shape ({"message", "type", "param", "code"})


def method_needs_auth(path: str) -> bool:
    """Login and refresh are the routes a caller reaches without a token."""
    return path not in ("/auth/login", "/auth/refresh")


def _project_header(w: World, path: str) -> tuple[tuple[str, str], ...]:
    """The OpenAI and /llm routes take their project from a header (a user's token names none)."""
    return (("X-Agentmesh-Project", w.project),) if path.startswith(("/v1/", "/llm/")) else ()


def _json_cases(w: World) -> Iterator[Case]:
    p, a = w.project, w.agent
    schedule = '{"agent_id":"' + a + '","interval_seconds":60,"payload":@V@}'
    templates = {
        "project settings": ("POST", "/projects", '{"name":"x","settings":@V@}'),
        "project settings patch": ("PATCH", f"/projects/{p}", '{"settings":@V@}'),
        "model_config": ("POST", f"/projects/{p}/agents", '{"name":"x","model_config":@V@}'),
        "model_config patch": ("PATCH", f"/projects/{p}/agents/{a}", '{"model_config":@V@}'),
        "message content": ("POST", f"/projects/{p}/agents/{a}/messages", '{"content":@V@}'),
        "topic content": ("POST", f"/projects/{p}/topics/{TOPIC}/messages", '{"content":@V@}'),
        "memory metadata": ("POST", f"/projects/{p}/memory", '{"content":"c","metadata":@V@}'),
        "document metadata": ("POST", f"/projects/{p}/memory", '{"documents":[{"content":"c","metadata":@V@}]}'),
        "search filter": ("POST", f"/projects/{p}/memory/search", '{"query":"q","filter":@V@}'),
        "schedule payload": ("POST", f"/projects/{p}/schedules", schedule),
        "schedule payload patch": ("PATCH", f"/projects/{p}/schedules/{w.schedule}", '{"payload":@V@}'),
        "job step input": ("POST", f"/projects/{p}/jobs",
                           '{"name":"j","steps":[{"id":"s","agent_id":"' + a + '","input":@V@}]}'),
        "tool parameters": ("POST", "/tools", '{"name":"bad_tool","description":"d","parameters":@V@}'),
        "tool parameters patch": ("PATCH", "/tools/calculator", '{"parameters":@V@}'),
        "grant config": ("PUT", f"/projects/{p}/agents/{a}/tools", '[{"name":"calculator","config":@V@}]'),
        "llm json_schema": ("POST", "/llm/generate", '{"prompt":"x","json_schema":@V@}'),
        "v1 response schema": ("POST", "/v1/chat/completions",
                               '{"model":"m","messages":[{"role":"user","content":"x"}],'
                               '"response_format":{"type":"json_schema","json_schema":{"name":"n","schema":@V@}}}'),
        "schedule job step input": ("POST", f"/projects/{p}/schedules",
                                    '{"interval_seconds":60,"job":{"name":"j","steps":[{"id":"s","agent_id":"' + a
                                    + '","input":@V@}]}}'),
    }  # fmt: skip
    for where, (method, path, template) in templates.items():
        for kind, value in BAD_JSON.items():
            yield Case(f"{where}: {kind}", method, path, template.replace(V, value), headers=_project_header(w, path),
                       openai=path.startswith("/v1/"))  # fmt: skip


def _text_cases(w: World) -> Iterator[Case]:
    p, a, u = w.project, w.agent, w.user
    templates = {
        "login username": ("POST", "/auth/login", '{"username":"@V@","password":"password-123"}'),
        "login password": ("POST", "/auth/login", '{"username":"admin","password":"@V@"}'),
        "user name": ("POST", "/users", '{"username":"@V@","password":"password-123"}'),
        "user password": ("POST", "/users", '{"username":"someone","password":"@V@-password"}'),
        "user password patch": ("PATCH", f"/users/{u}", '{"password":"@V@-password"}'),
        "project name": ("POST", "/projects", '{"name":"@V@"}'),
        "project description": ("POST", "/projects", '{"name":"x","description":"@V@"}'),
        "project name patch": ("PATCH", f"/projects/{p}", '{"name":"@V@"}'),
        "member user_id": ("POST", f"/projects/{p}/members", '{"user_id":"@V@"}'),
        "agent name": ("POST", f"/projects/{p}/agents", '{"name":"@V@"}'),
        "agent purpose": ("POST", f"/projects/{p}/agents", '{"name":"x","purpose":"@V@"}'),
        "agent system_prompt": ("POST", f"/projects/{p}/agents", '{"name":"x","system_prompt":"@V@"}'),
        "agent type": ("POST", f"/projects/{p}/agents", '{"name":"x","agent_type":"@V@"}'),
        "agent topic": ("POST", f"/projects/{p}/agents", '{"name":"x","topics":["@V@"]}'),
        "agent prompt patch": ("PATCH", f"/projects/{p}/agents/{a}", '{"system_prompt":"@V@"}'),
        "message text": ("POST", f"/projects/{p}/agents/{a}/messages", '{"content":"@V@"}'),
        "idempotency key": ("POST", f"/projects/{p}/agents/{a}/messages", '{"content":"x","idempotency_key":"@V@"}'),
        "topic text": ("POST", f"/projects/{p}/topics/{TOPIC}/messages", '{"content":"@V@"}'),
        "topic key": ("POST", f"/projects/{p}/topics/{TOPIC}/messages", '{"content":"x","idempotency_key":"@V@"}'),
        "memory content": ("POST", f"/projects/{p}/memory", '{"content":"@V@"}'),
        "document content": ("POST", f"/projects/{p}/memory", '{"documents":[{"content":"@V@"}]}'),
        "search query": ("POST", f"/projects/{p}/memory/search", '{"query":"@V@"}'),
        "schedule cron": ("POST", f"/projects/{p}/schedules", '{"agent_id":"' + a + '","cron":"@V@","payload":"x"}'),
        "schedule timezone": ("POST", f"/projects/{p}/schedules",
                              '{"agent_id":"' + a + '","interval_seconds":60,"timezone":"@V@","payload":"x"}'),
        "refresh token": ("POST", "/auth/refresh", '{"refresh_token":"@V@"}'),
        "schedule cron patch": ("PATCH", f"/projects/{p}/schedules/{w.schedule}", '{"cron":"@V@"}'),
        "job name": ("POST", f"/projects/{p}/jobs", '{"name":"@V@","steps":[{"id":"s","agent_id":"' + a
                     + '","input":"x"}]}'),
        "job key": ("POST", f"/projects/{p}/jobs", '{"name":"j","idempotency_key":"@V@","steps":[{"id":"s",'
                    '"agent_id":"' + a + '","input":"x"}]}'),
        "api key name": ("POST", f"/projects/{p}/api-keys", '{"name":"@V@"}'),
        "approval comment": ("POST", f"/projects/{p}/approvals/{uuid.uuid4()}",
                             '{"decision":"approve","comment":"@V@"}'),
        "tool description": ("POST", "/tools", '{"name":"bad_tool","description":"@V@","parameters":{}}'),
        "tool description patch": ("PATCH", "/tools/calculator", '{"description":"@V@"}'),
        "grant name": ("PUT", f"/projects/{p}/agents/{a}/tools", '[{"name":"@V@"}]'),
        "mcp server name": ("POST", "/tools/mcp-servers", '{"name":"@V@","url":"http://127.0.0.1:9/mcp"}'),
        "mcp header": ("POST", "/tools/mcp-servers",
                       '{"name":"m","url":"http://127.0.0.1:9/mcp","headers":{"X-Key":"@V@"}}'),
        "embed text": ("POST", "/llm/embed", '{"text":"@V@"}'),
        "generate prompt": ("POST", "/llm/generate", '{"prompt":"@V@"}'),
        "v1 message": ("POST", "/v1/chat/completions", '{"model":"m","messages":[{"role":"user","content":"@V@"}]}'),
        "schedule job name": ("POST", f"/projects/{p}/schedules",
                              '{"interval_seconds":60,"job":{"name":"@V@","steps":[{"id":"s","agent_id":"' + a
                              + '","input":"x"}]}}'),
    }  # fmt: skip
    for where, (method, path, template) in templates.items():
        for kind, value in BAD_TEXT.items():
            yield Case(f"{where}: {kind}", method, path, template.replace(V, value), auth=method_needs_auth(path),
                       headers=_project_header(w, path), openai=path.startswith("/v1/"))  # fmt: skip


def _other_cases(w: World) -> Iterator[Case]:
    p, a, u = w.project, w.agent, w.user
    events = f"/projects/{p}/conversations/{uuid.uuid4()}/events"
    schedule = '{"agent_id":"' + a + '","run_at":"@V@","payload":"x"}'
    for when in EDGE_TIMES:
        yield Case(f"run_at {when}", "POST", f"/projects/{p}/schedules", schedule.replace(V, when))
    for number in HUGE:
        yield Case(f"after={number}", "GET", f"{events}?after={number}")
        yield Case(f"limit={number}", "GET", f"/projects/{p}/agents?limit={number}")
        interval = '{"agent_id":"' + a + '","interval_seconds":' + number + ',"payload":"x"}'
        yield Case(f"interval {number}", "POST", f"/projects/{p}/schedules", interval)
        yield Case(f"k {number}", "POST", f"/projects/{p}/memory/search", '{"query":"q","k":' + number + "}")
        yield Case(f"quota {number}", "PUT", f"/projects/{p}/quota", '{"tokens_per_minute":' + number + "}")
    for resume in ("18446744073709551616", "9223372036854775808", "1" * 32, "\u00b2", "-1", "1e3"):
        yield Case(f"Last-Event-ID {resume!r}", "GET", events, headers=(("Last-Event-ID", resume),))
    for value in ("0", "1", '"false"', '"no"', "null"):
        if value != "null":  # is_active: null means "leave it"
            yield Case(f"is_active {value}", "PATCH", f"/users/{u}", '{"is_active":' + value + "}")
        yield Case(f"enabled {value}", "POST", f"/projects/{p}/schedules",
                   '{"agent_id":"' + a + '","interval_seconds":60,"payload":"x","enabled":' + value + "}")  # fmt: skip
    yield Case("schedule without payload", "POST", f"/projects/{p}/schedules",
               '{"agent_id":"' + a + '","interval_seconds":60}')  # fmt: skip
    job = '{"name":"j","steps":[{"id":"s","agent_id":"' + a + '","input":"x"}]}'
    yield Case("schedule without a target", "POST", f"/projects/{p}/schedules", '{"interval_seconds":60}')
    yield Case("schedule with both targets", "POST", f"/projects/{p}/schedules",
               '{"agent_id":"' + a + '","interval_seconds":60,"payload":"x","job":' + job + "}")  # fmt: skip
    cycle = ('{"interval_seconds":60,"job":{"name":"j","steps":[{"id":"s","agent_id":"' + a + '","input":"x",'
             '"depends_on":["t"]},{"id":"t","agent_id":"' + a + '","input":"y","depends_on":["s"]}]}}')  # fmt: skip
    yield Case("schedule job with a cycle", "POST", f"/projects/{p}/schedules", cycle, expect=400)
    big = '"' + "x" * (1024 * 1024 + 1) + '"'
    for method, path, template in (
        ("POST", "/auth/login", '{"username":@V@,"password":"p"}'),
        ("POST", "/projects", '{"name":"x","description":@V@}'),
        ("POST", f"/projects/{p}/agents/{a}/messages", '{"content":@V@}'),
        ("POST", f"/projects/{p}/topics/{TOPIC}/messages", '{"content":@V@}'),
        ("POST", f"/projects/{p}/memory", '{"content":@V@}'),
        ("POST", f"/projects/{p}/schedules", '{"agent_id":"' + a + '","interval_seconds":60,"payload":@V@}'),
    ):
        yield Case(f"oversize body {path}", method, path, template.replace(V, big), auth=path != "/auth/login")
    topic = f"/projects/{p}/topics/{TOPIC}/messages"
    over_cap = '"' + "x" * (32 * 1024 + 1) + '"'  # under the body limit, over the agents service's message cap
    yield Case("topic content over the message cap", "POST", topic, '{"content":' + over_cap + "}")
    for body in ('{"content":""}', '{"content":{}}', "{}", '{"content":"x","idempotency_key":""}',
                 '{"content":"x","idempotency_key":"' + "k" * 201 + '"}', '{"content":"x","extra":1}'):  # fmt: skip
        yield Case(f"topic body {body[:40]}", "POST", topic, body)
    for name in ("-leading", "has%20space", "dot*star", "%C3%BC", "x" * 65, "a%00b", "..%2F..%2Fagents"):
        yield Case(f"topic name {name[:20]}", "POST", f"/projects/{p}/topics/{name}/messages", '{"content":"x"}')
    yield Case("oversize header", "GET", f"/projects/{p}/agents", headers=(("X-Junk", "x" * 64 * 1024),))
    yield Case("many headers", "GET", f"/projects/{p}/agents", headers=tuple((f"X-J{i}", "x") for i in range(300)))


def _foreign_cases(w: World) -> Iterator[Case]:
    p, a, theirs, stranger = w.project, w.agent, w.other_agent, str(uuid.uuid4())
    for agent_id in (theirs, stranger):
        yield Case(f"memory for agent {agent_id}", "POST", f"/projects/{p}/memory",
                   '{"content":"c","agent_id":"' + agent_id + '"}', expect=404)  # fmt: skip
        yield Case(f"documents for agent {agent_id}", "POST", f"/projects/{p}/memory",
                   '{"documents":[{"content":"c"}],"agent_id":"' + agent_id + '"}', expect=404)  # fmt: skip
        yield Case(f"schedule for agent {agent_id}", "POST", f"/projects/{p}/schedules",
                   '{"agent_id":"' + agent_id + '","interval_seconds":60,"payload":"x"}', expect=404)  # fmt: skip
        # As POST /jobs: a step's unknown or foreign agent is a 400 naming the step.
        yield Case(f"schedule job step for agent {agent_id}", "POST", f"/projects/{p}/schedules",
                   '{"interval_seconds":60,"job":{"name":"j","steps":[{"id":"s","agent_id":"' + agent_id
                   + '","input":"x"}]}}', expect=400)  # fmt: skip
        yield Case(f"message to agent {agent_id}", "POST", f"/projects/{p}/agents/{agent_id}/messages",
                   '{"content":"hi"}', expect=404)  # fmt: skip
        yield Case(f"patch agent {agent_id}", "PATCH", f"/projects/{p}/agents/{agent_id}", '{"name":"x"}', expect=404)
        yield Case(f"get agent {agent_id}", "GET", f"/projects/{p}/agents/{agent_id}", expect=404)
    yield Case("delete their memory", "DELETE", f"/projects/{p}/memory/{w.other_entry}", expect=404)
    yield Case("cancel their message", "POST", f"/projects/{p}/messages/{w.other_message}/cancel", expect=404)
    yield Case("cancel an unknown message", "POST", f"/projects/{p}/messages/{stranger}/cancel", expect=404)
    yield Case("cancel a message id not a uuid", "POST", f"/projects/{p}/messages/not-a-uuid/cancel", expect=404)
    yield Case("cancel a finished message", "POST", f"/projects/{p}/messages/{w.finished_message}/cancel", expect=409)
    yield Case("member unknown user", "POST", f"/projects/{p}/members", '{"user_id":"' + stranger + '"}', expect=404)
    yield Case("conversation id not a uuid", "POST", f"/projects/{p}/agents/{a}/messages",
               '{"content":"x","conversation_id":"not-a-uuid"}')  # fmt: skip


def all_cases(w: World) -> list[Case]:
    return [*_json_cases(w), *_text_cases(w), *_other_cases(w), *_foreign_cases(w)]

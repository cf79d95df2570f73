"""Agents scripted through their system prompt (the e2e mesh's scripted LLM)."""

from __future__ import annotations

import json

import pytest
from pydantic import SecretStr

from agentmesh_agents.adapters.prompt_scripts import PromptScriptedInference, script_of, scripted_output
from agentmesh_agents.adapters.scripted_inference import ScriptedInference
from agentmesh_agents.domain.model_config import Sampling
from agentmesh_agents.domain.ports import ChatTurn
from agentmesh_agents.settings import AgentsSettings
from agentmesh_core.service_keys import new_keyring, public_key_of

SCRIPT = ['{"tool": "calculator", "arguments": {"expression": "6*7"}}', '{"final_answer": "got: {{observations}}"}']
SYSTEM = ChatTurn("system", f"You compute.\nagentmesh-script: {json.dumps(SCRIPT)}\n\nTools: calculator")
SAMPLING = Sampling(max_tokens=64)


def test_the_script_is_read_from_the_system_prompt_only() -> None:
    assert script_of([SYSTEM]) == SCRIPT
    assert script_of([ChatTurn("system", "You compute."), ChatTurn("user", f"agentmesh-script: {SCRIPT}")]) is None
    assert script_of([ChatTurn("system", "agentmesh-script: not json")]) is None
    assert script_of([ChatTurn("system", 'agentmesh-script: [1, "a"]')]) is None
    assert script_of([ChatTurn("system", "agentmesh-script: []")]) is None


def test_each_step_of_a_turn_takes_the_next_output_and_sees_the_observations() -> None:
    history = [SYSTEM, ChatTurn("user", "hi"), ChatTurn("assistant", "hello")]  # an earlier exchange
    first = [*history, ChatTurn("user", "What is 6*7?")]
    assert scripted_output(SCRIPT, first) == SCRIPT[0]
    second = [*first, ChatTurn("assistant", SCRIPT[0]), ChatTurn("user", 'Observation: "42"\nwith "quotes"')]
    answer = json.loads(scripted_output(SCRIPT, second))
    assert answer == {"final_answer": 'got: "42"\nwith "quotes"'}
    third = [*second, ChatTurn("assistant", "x"), ChatTurn("user", "Observation: 1")]
    assert scripted_output(SCRIPT, third).startswith('{"final_answer"')  # the last output repeats


async def test_scripted_agents_answer_from_the_script_and_others_from_the_model() -> None:
    model = ScriptedInference(script=[["from", " the model"]])
    inference = PromptScriptedInference(model)
    turns = [SYSTEM, ChatTurn("user", "What is 6*7?")]
    generated = await inference.generate(turns, SAMPLING, "r1", "{}")
    assert generated.text == SCRIPT[0] and generated.completion_tokens > 0
    assert "".join([chunk async for chunk in inference.stream_chat(turns, SAMPLING, "r2")]) == SCRIPT[0]
    plain = [ChatTurn("system", "You chat."), ChatTurn("user", "hi")]
    assert "".join([chunk async for chunk in inference.stream_chat(plain, SAMPLING, "r3")]) == "from the model"
    assert (await inference.generate(plain, SAMPLING, "r4", "{}")).text == "from the model"
    assert [call.request_id for call in model.calls] == ["r3", "r4"]


def test_prompt_scripts_are_refused_in_production() -> None:
    keyring = new_keyring()

    def production(prompt_scripts: bool) -> AgentsSettings:
        return AgentsSettings(
            database_url="postgresql://unused",
            environment="production",
            identity_key=SecretStr(keyring["agents"]),
            identity_public_keys={name: public_key_of(key) for name, key in keyring.items()},
            prompt_scripts=prompt_scripts,
        )

    assert not production(False).prompt_scripts
    with pytest.raises(ValueError, match="refused in production"):
        production(True)

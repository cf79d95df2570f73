"""The vLLM plugin that asks for the AMX tile registers in each of vLLM's processes."""

from __future__ import annotations

import logging
from importlib.metadata import entry_points

import pytest
import torch

from agentmesh_inference.adapters import vllm_plugin


def test_vllm_runs_it_in_each_of_its_processes():
    plugins = {e.name: e for e in entry_points(group="vllm.general_plugins")}
    assert plugins["agentmesh_grant_amx"].load() is vllm_plugin.grant_amx


@pytest.mark.parametrize(
    ("has_amx", "kernel_grants", "held"),
    [(False, True, False), (True, True, True), (True, False, False)],
)
def test_amx_is_asked_for_only_where_the_cpu_has_it(monkeypatch, caplog, has_amx, kernel_grants, held):
    asked = []
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: has_amx)
    monkeypatch.setattr(torch.cpu, "_init_amx", lambda: asked.append(True) or kernel_grants)
    with caplog.at_level(logging.WARNING):
        assert vllm_plugin.grant_amx() is held
    assert bool(asked) is has_amx
    assert ("refused" in caplog.text) is (has_amx and not kernel_grants)


def test_a_torch_without_the_amx_calls_asks_for_nothing(monkeypatch):
    monkeypatch.delattr(torch.cpu, "_init_amx")
    assert vllm_plugin.grant_amx() is False

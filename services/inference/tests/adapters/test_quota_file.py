"""Quota overrides in a JSON file survive a restart; a damaged file stops the service."""

from __future__ import annotations

import pytest

from agentmesh_inference.adapters.quota_file import QuotaFile
from agentmesh_inference.domain.quotas import Quota


def test_round_trip_and_missing_file(tmp_path):
    store = QuotaFile(tmp_path / "inference" / "quotas.json")
    assert store.load() == {}
    store.save({"a": Quota(100, None), "b": Quota(None, 0)})
    assert QuotaFile(store.path).load() == {"a": Quota(100, None), "b": Quota(None, 0)}
    store.save({})
    assert QuotaFile(store.path).load() == {}
    assert [p.name for p in store.path.parent.iterdir()] == ["quotas.json"]  # no temp files left


def test_a_damaged_file_is_an_error_not_an_empty_quota_book(tmp_path):
    path = tmp_path / "quotas.json"
    path.write_text("{not json")
    with pytest.raises(RuntimeError, match="quota overrides"):
        QuotaFile(path).load()

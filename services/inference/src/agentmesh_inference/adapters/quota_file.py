"""Per-project quota overrides in one JSON file (`<run_dir>/inference/quotas.json`).

The inference service has no database; its few overrides (set by superadmins)
live in a small file, replaced atomically on every change. Each replica reads
its own file: give replicas a shared volume, or set the same overrides on each.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

from agentmesh_inference.domain.quotas import Quota

log = logging.getLogger(__name__)


class QuotaFile:
    """QuotaStore in a JSON file: {"<project id>": {"tokens_per_minute": n, "max_concurrent": n}}."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> Mapping[str, Quota]:
        """Every override in the file (none when it does not exist yet)."""
        try:
            raw = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as error:
            # Refuse to start on a damaged file rather than silently drop every override.
            raise RuntimeError(f"cannot read quota overrides from {self.path}: {error}") from None
        return {
            str(project): Quota(_number(limits.get("tokens_per_minute")), _number(limits.get("max_concurrent")))
            for project, limits in raw.items()
        }

    def save(self, overrides: Mapping[str, Quota]) -> None:
        """Replace the file's contents (write a temp file, then rename over)."""
        data = {
            project: {
                key: value
                for key, value in (("tokens_per_minute", q.tokens_per_minute), ("max_concurrent", q.max_concurrent))
                if value is not None
            }
            for project, q in overrides.items()
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=self.path.parent, prefix=".quotas-", suffix=".json")
        with os.fdopen(fd, "w") as handle:
            json.dump(data, handle, indent=2, sort_keys=True)
        os.replace(temp, self.path)
        log.info("saved quota overrides of %d project(s)", len(data))


def _number(value: object) -> int | None:
    return int(value) if isinstance(value, int) and not isinstance(value, bool) else None

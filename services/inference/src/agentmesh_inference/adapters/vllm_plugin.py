"""A vLLM plugin, run in each process vLLM starts: the AMX tile registers granted before its kernels use them.

Linux gives a process the AMX tile registers only once it asks for them
(arch_prctl ARCH_REQ_XCOMP_PERM); until then an AMX instruction is an illegal
instruction. vLLM's CPU attention uses AMX for bfloat16 wherever the CPU reports it
(Xeon Sapphire Rapids and later) and does not ask: measured here, on such a host the
engine process died of SIGILL on its first short prompt (a longer one passed through
a oneDNN kernel first, which asks), and every request after it failed as the engine
having stopped. vLLM runs its general plugins (entry point group `vllm.general_plugins`,
services/inference/pyproject.toml) in every process it starts, the engine's included.
"""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)


def grant_amx() -> bool:
    """Ask for the AMX tile registers where the CPU has them; True once this process holds them."""
    import torch

    supported = getattr(torch.cpu, "_is_amx_tile_supported", None)
    request = getattr(torch.cpu, "_init_amx", None)
    if supported is None or request is None or not supported():
        return False
    granted = bool(request())
    if not granted:
        log.warning("the CPU has AMX but the kernel refused it to this process; vLLM's AMX kernels will fail")
    return granted

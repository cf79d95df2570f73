"""A tiny random-weight Llama with a locally trained tokenizer, for runs without a model hub.

No model hub is reachable on the machines agentmesh is developed on, yet the
service must run vLLM's real engine. This module writes a complete Hugging Face
model directory (config, safetensors weights, tokenizer.json, tokenizer_config.json
with a chat template, generation config) for a 2-layer Llama whose weights are
random: it exercises every code path, and its text is gibberish.

    python -m agentmesh_inference.tiny_model <dir>

Creation is idempotent (a complete directory is left alone) and atomic (written to
a temp directory, then renamed). A marker file tells the service the weights are random.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import tempfile
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

MARKER_FILE = "agentmesh_tiny_model.json"
VOCAB_SIZE = 512
SEED = 1234
BOS, EOS, PAD = "<s>", "</s>", "<pad>"
ROLE_TOKENS = ("<|system|>", "<|user|>", "<|assistant|>")
SPECIAL_TOKENS = (BOS, EOS, PAD, *ROLE_TOKENS)
# Layer shapes: "tiny" for every test and the CPU run; "1b", a Llama-3.2-1B-sized body (with the
# tiny vocabulary), for benchmarks on a GPU, where the tiny one measures only overheads.
SHAPES: dict[str, dict[str, Any]] = {  # Any: LlamaConfig takes them as keyword arguments
    # head_dim 64: vLLM's CPU attention rejects small head sizes such as 16
    "tiny": {"hidden_size": 128, "intermediate_size": 256, "num_hidden_layers": 2, "num_attention_heads": 2,
             "num_key_value_heads": 2, "head_dim": 64},
    "1b": {"hidden_size": 2048, "intermediate_size": 8192, "num_hidden_layers": 16, "num_attention_heads": 32,
           "num_key_value_heads": 8, "head_dim": 64},
}  # fmt: skip
_REQUIRED_FILES = ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", MARKER_FILE)

# Renders system/user/assistant turns; add_generation_prompt opens an assistant turn.
CHAT_TEMPLATE = (
    "{{ bos_token }}"
    "{% for message in messages %}"
    "{% if message['role'] not in ['system', 'user', 'assistant'] %}"
    "{{ raise_exception('roles must be system, user or assistant') }}"
    "{% endif %}"
    "{{ '<|' + message['role'] + '|>\\n' + message['content'] + eos_token + '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% endif %}"
)

# Training text for the byte-level BPE; any English prose gives sensible merges.
_CORPUS = """
The agents live inside projects. Each agent has a name, a purpose, a system prompt and a set of
tools it may use. A user sends a message to an agent, and the agent thinks about the question,
recalls what the project knows, calls a tool when it needs one, and writes a reply. Agents can
also talk to each other: the manager asks the data agent and the analysis agent for help, waits
for both answers, and then writes the daily report for the team.
The scheduler starts jobs at the right time. Every morning at nine it asks the report agent to
summarise what happened yesterday. If a step fails, the workflow retries it, and if the service
restarts, nothing that was accepted is lost. Operators can see every run in the web interface.
Memory holds the knowledge of a project: documents are split into chunks, each chunk is turned
into a vector, and a search returns the chunks closest in meaning to the question.
The inference service runs the language model. Requests from many agents arrive at the same
time, and the engine puts them together in one batch, so that the machine does more useful work
in each step. Tokens are streamed back to the caller as soon as they are produced. When the
caller goes away, the request is stopped and its memory is given back.
It was a bright cold day in April, and the clocks were striking thirteen. The quick brown fox
jumps over the lazy dog. She sells sea shells by the sea shore. Once upon a time there was a
small house near the river, and in the house lived an old man who liked to read books about the
stars, the weather, the history of the world and the people who built the first machines.
What is the weather like today? How many people work in this team? Please write a short answer
in plain English, with numbers where they help: one, two, three, four, five, ten, one hundred.
Hello! Thank you for your message. I will look into it and get back to you with the results as
soon as they are ready. Here is the summary you asked for, with the main points and next steps.
{"name": "search", "arguments": {"query": "sales report", "limit": 5}, "ok": true, "items": []}
"""


def is_complete(model_dir: Path) -> bool:
    """True when model_dir holds every file of a tiny model."""
    return all((model_dir / name).is_file() for name in _REQUIRED_FILES)


def is_random_model(model_dir: Path) -> bool:
    """True when model_dir was written by this module (its text is gibberish)."""
    return (model_dir / MARKER_FILE).is_file()


def _train_tokenizer():
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    lines = [line for line in _CORPUS.splitlines() if line.strip()]
    tokenizer.train_from_iterator(lines * 4, trainer=trainer)
    bos_id = tokenizer.token_to_id(BOS)
    # Raw prompts start with BOS, as Llama tokenizers do.
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{BOS} $A", pair=f"{BOS} $A {BOS} $B", special_tokens=[(BOS, bos_id)]
    )
    return tokenizer


def _write(target: Path, shape_name: str) -> None:
    import torch
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # its bars would break the service's JSON log lines
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=_train_tokenizer(),
        bos_token=BOS,
        eos_token=EOS,
        pad_token=PAD,
        additional_special_tokens=list(ROLE_TOKENS),
        chat_template=CHAT_TEMPLATE,
        model_max_length=2048,
    )
    # save_jinja_files=False keeps the chat template inside tokenizer_config.json.
    tokenizer.save_pretrained(target, save_jinja_files=False)
    _portable_tokenizer_class(target / "tokenizer_config.json")
    dtype = "float32" if shape_name == "tiny" else "bfloat16"
    config = LlamaConfig(
        vocab_size=VOCAB_SIZE,
        **SHAPES[shape_name],
        max_position_embeddings=2048,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=False,
        dtype=dtype,
    )
    torch.manual_seed(SEED)
    model = LlamaForCausalLM(config).to(getattr(torch, dtype))
    model.generation_config = GenerationConfig(
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    model.save_pretrained(target)
    marker = {
        "random_weights": True,
        "note": "agentmesh tiny random-weight Llama: its text is gibberish; "
        "set AGENTMESH_MODEL=<path or HF id> for real answers",
        "parameters": sum(p.numel() for p in model.parameters()),
    }
    (target / MARKER_FILE).write_text(json.dumps(marker, indent=2) + "\n")


def _portable_tokenizer_class(path: Path) -> None:
    # transformers 5 writes "TokenizersBackend", which 4.x cannot load; this name loads in both.
    config = json.loads(path.read_text())
    config["tokenizer_class"] = "PreTrainedTokenizerFast"
    path.write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n")


def ensure_tiny_model(model_dir: Path, shape: str = "tiny") -> Path:
    """Create the random model (of SHAPES[shape]) in model_dir unless a complete one is already there."""
    model_dir = Path(model_dir)
    if is_complete(model_dir):
        return model_dir
    model_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{model_dir.name}-", dir=model_dir.parent))
    staging.chmod(0o755)  # mkdtemp makes it private; a model directory is not secret
    try:
        _write(staging, shape)
        if model_dir.exists():  # an incomplete leftover of an interrupted run
            shutil.rmtree(model_dir)
        staging.rename(model_dir)
    except OSError:
        if not is_complete(model_dir):  # not a concurrent creator winning the rename
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    log.info("created tiny random-weight model in %s", model_dir)
    return model_dir


def main(argv: list[str] | None = None) -> int:
    """CLI: python -m agentmesh_inference.tiny_model <dir> [--shape tiny|1b]."""
    parser = argparse.ArgumentParser(prog="python -m agentmesh_inference.tiny_model")
    parser.add_argument("dir", type=Path)
    parser.add_argument("--shape", choices=sorted(SHAPES), default="tiny")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    ensure_tiny_model(args.dir, args.shape)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Proto <-> domain mapping: optional fields stay optional, enums map one to one."""

from __future__ import annotations

from agentmesh.inference.v1 import inference_service_pb2 as pb
from agentmesh_inference.domain.models import ChatMessage, Chunk, FinishReason, ModelInfo, Usage
from agentmesh_inference.rpc.mapping import chunk_to_proto, model_info_to_proto, request_from_proto


def test_unset_optional_sampling_fields_stay_none():
    request = request_from_proto(pb.GenerateRequest(prompt="hi"))
    assert request.prompt == "hi" and request.messages == ()
    sampling = request.sampling
    assert (sampling.max_tokens, sampling.temperature, sampling.top_p, sampling.seed) == (0, None, None, None)


def test_set_fields_are_carried_over():
    message = pb.GenerateRequest(
        messages=[pb.ChatMessage(role="user", content="hello")],
        sampling=pb.SamplingParams(max_tokens=7, temperature=0.0, top_p=0.5, seed=3, stop=["\n"]),
        json_schema='{"type": "object"}',
        request_id="trace",
    )
    request = request_from_proto(message)
    assert request.messages == (ChatMessage("user", "hello"),)
    assert request.sampling.temperature == 0.0 and request.sampling.top_p == 0.5
    assert (request.sampling.max_tokens, request.sampling.seed, request.sampling.stop) == (7, 3, ("\n",))
    assert request.json_schema == '{"type": "object"}' and request.request_id == "trace"


def test_chunks_map_to_responses():
    middle = chunk_to_proto(Chunk(text="he", token_ids=(1, 2)))
    assert middle.text == "he" and list(middle.token_ids) == [1, 2]
    assert middle.finish_reason == pb.FINISH_REASON_UNSPECIFIED and not middle.HasField("usage")
    last = chunk_to_proto(Chunk(text="", finish_reason=FinishReason.LENGTH, usage=Usage(4, 9)))
    assert last.finish_reason == pb.FINISH_REASON_LENGTH
    assert (last.usage.prompt_tokens, last.usage.completion_tokens) == (4, 9)
    for reason in FinishReason:
        assert chunk_to_proto(Chunk(text="", finish_reason=reason)).finish_reason != 0


def test_model_info_maps():
    info = model_info_to_proto(ModelInfo("m", 2048, True, "cpu"))
    assert (info.model, info.max_model_len, info.random_weights, info.device) == ("m", 2048, True, "cpu")

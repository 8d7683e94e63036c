"""Thinking through google-genai (Python) against a fake reasoning upstream in each dialect
(test/support/reasoning-upstream.ts: vLLM's and llama-server's `reasoning_content`, the newer
`reasoning`): thought parts first and as generated, `.text` only the answer, thoughts counted as
Google counts them, and signatures that survive an SDK chat with function calling."""

from __future__ import annotations

import json
import time
import urllib.request

import pytest
from google.genai import types

from conftest import REPO_ROOT, fake_engine, serving

REASONING_UPSTREAM = REPO_ROOT / "test" / "support" / "reasoning-upstream.ts"
DIALECTS = {"think-vllm": "vllm", "think-llama": "llama-server", "think-reasoning": "openrouter"}
THOUGHT = "Let me add two and two."
ANSWER = "The answer is 4."
PACE_MS = 60


@pytest.fixture(scope="module")
def reasoning_upstream():
    with fake_engine(REASONING_UPSTREAM, str(PACE_MS)) as url:
        yield url


@pytest.fixture(scope="module")
def thinking_server(reasoning_upstream):
    upstreams = [arg for model, dialect in DIALECTS.items() for arg in ("--upstream", f"{model}=openai:{reasoning_upstream},model={model},reasoning={dialect}")]
    with serving(*upstreams) as srv:
        yield srv


def upstream_requests(url: str) -> list[dict]:
    with urllib.request.urlopen(f"{url}/_requests", timeout=10) as response:
        return json.loads(response.read())


def parts_of(chunk: types.GenerateContentResponse) -> list[types.Part]:
    return list(chunk.candidates[0].content.parts or []) if chunk.candidates and chunk.candidates[0].content else []


@pytest.mark.parametrize("model", list(DIALECTS))
def test_thoughts_first_and_as_generated_text_only_the_answer(thinking_server, model):
    client = thinking_server.client()
    config = types.GenerateContentConfig(thinking_config=types.ThinkingConfig(include_thoughts=True))
    started = time.monotonic()
    arrivals: list[tuple[float, types.GenerateContentResponse]] = []
    for chunk in client.models.generate_content_stream(model=model, contents="What is two and two?", config=config):
        arrivals.append((time.monotonic() - started, chunk))
    kinds = [("thought" if part.thought else "answer") for _, chunk in arrivals for part in parts_of(chunk) if part.text]
    assert "thought" in kinds and kinds.index("answer") > max(i for i, k in enumerate(kinds) if k == "thought")
    thought_chunks = [(at, chunk) for at, chunk in arrivals if any(p.thought for p in parts_of(chunk))]
    assert len(thought_chunks) > 1, "thoughts came in one piece, not as generated"
    assert "".join(p.text for _, c in thought_chunks for p in parts_of(c) if p.thought) == THOUGHT
    # The first thought arrives while the rest is still being generated (6 thoughts + 4 answer pieces, PACE_MS apart).
    assert arrivals[-1][0] - thought_chunks[0][0] > 4 * PACE_MS / 1000
    assert "".join(chunk.text or "" for _, chunk in arrivals) == ANSWER
    usage = arrivals[-1][1].usage_metadata
    assert usage.thoughts_token_count == 6
    assert usage.total_token_count == usage.prompt_token_count + usage.candidates_token_count + usage.thoughts_token_count
    assert usage.prompt_tokens_details[0].modality == types.MediaModality.TEXT
    assert usage.prompt_tokens_details[0].token_count == usage.prompt_token_count


@pytest.mark.parametrize("model", list(DIALECTS))
def test_no_thought_part_without_include_thoughts(thinking_server, model):
    client = thinking_server.client()
    config = types.GenerateContentConfig(thinking_config=types.ThinkingConfig(include_thoughts=False))
    chunks = list(client.models.generate_content_stream(model=model, contents="What is two and two?", config=config))
    assert not any(part.thought for chunk in chunks for part in parts_of(chunk))
    assert "".join(chunk.text or "" for chunk in chunks) == ANSWER
    assert chunks[-1].usage_metadata.thoughts_token_count == 6
    whole = client.models.generate_content(model=model, contents="What is two and two?", config=config)
    assert not any(part.thought for part in parts_of(whole)) and whole.text == ANSWER


def test_budget_and_level_reach_the_upstream(thinking_server, reasoning_upstream):
    client = thinking_server.client()
    client.models.generate_content(model="think-vllm", contents="Hi", config=types.GenerateContentConfig(thinking_config=types.ThinkingConfig(thinking_budget=0)))
    assert upstream_requests(reasoning_upstream)[-1]["chat_template_kwargs"] == {"enable_thinking": False}
    client.models.generate_content(
        model="think-reasoning", contents="Hi", config=types.GenerateContentConfig(thinking_config=types.ThinkingConfig(thinking_level=types.ThinkingLevel.LOW))
    )
    assert upstream_requests(reasoning_upstream)[-1]["reasoning"] == {"effort": "low"}


def get_weather(city: str) -> str:
    """The weather in a city."""
    return "sunny"


def test_signatures_survive_a_chat_with_function_calling(thinking_server, reasoning_upstream):
    client = thinking_server.client()
    config = types.GenerateContentConfig(
        tools=[get_weather],
        automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
        thinking_config=types.ThinkingConfig(include_thoughts=True),
    )
    chat = client.chats.create(model="think-vllm", config=config)
    first = chat.send_message("What is the weather in Paris?")
    call = next(p for p in parts_of(first) if p.function_call)
    assert call.function_call.name == "get_weather"
    assert call.thought_signature, "no thoughtSignature on the first functionCall part"
    second = chat.send_message(types.Part.from_function_response(name="get_weather", response={"result": "sunny"}))
    assert second.text == ANSWER
    assistant = next(m for m in upstream_requests(reasoning_upstream)[-1]["messages"] if m["role"] == "assistant")
    assert assistant.get("reasoning_content") == THOUGHT, "the call's thoughts did not reach the model's next step"
    third = chat.send_message("Thanks. And tomorrow?")
    assert third.text == ANSWER
    # A new question starts a new turn: the earlier call's thoughts are not given back any more.
    assert not any(m.get("reasoning_content") for m in upstream_requests(reasoning_upstream)[-1]["messages"])
    assert len(chat.get_history()) >= 6


def test_function_call_history_reaches_the_engine_as_tool_calls_and_tool_messages(thinking_server, reasoning_upstream):
    """The chat's call and its result (sent without an id) go up as OpenAI's own messages, paired by the call's id."""
    client = thinking_server.client()
    config = types.GenerateContentConfig(tools=[get_weather], automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True))
    chat = client.chats.create(model="think-vllm", config=config)
    call = next(p for p in parts_of(chat.send_message("What is the weather in Paris?")) if p.function_call).function_call
    chat.send_message(types.Part.from_function_response(name="get_weather", response={"result": "sunny"}))
    messages = upstream_requests(reasoning_upstream)[-1]["messages"]
    assistant = next(m for m in messages if m["role"] == "assistant")
    assert assistant["tool_calls"] == [{"id": call.id, "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}}]
    assert messages[-1] == {"role": "tool", "tool_call_id": call.id, "content": '{"result":"sunny"}'}


def test_automatic_function_calling_runs_several_steps(thinking_server):
    """google-genai's own loop sends the signed call back with the result; the chat still ends in an answer."""
    client = thinking_server.client()
    config = types.GenerateContentConfig(tools=[get_weather], thinking_config=types.ThinkingConfig(include_thoughts=True))
    response = client.models.generate_content(model="think-llama", contents="What is the weather in Paris?", config=config)
    assert response.text == ANSWER
    history = response.automatic_function_calling_history or []
    assert any(p.function_call and p.thought_signature for content in history for p in (content.parts or []))


@pytest.fixture(scope="module")
def local_thinking_server():
    """The real chat model (SmolLM2) through node-llama-cpp's Qwen 3.5 wrapper: a local thinking
    model whose thought opens at the response start and which only a budget closes."""
    with serving("--model", "smol-think=SmolLM2-135M-Instruct.Q4_1.gguf,chat-wrapper=qwen3.5") as srv:
        yield srv


def test_local_thinking_budget_ends_the_thought_and_the_answer_follows(local_thinking_server):
    client = local_thinking_server.client()
    config = types.GenerateContentConfig(
        thinking_config=types.ThinkingConfig(include_thoughts=True, thinking_budget=4), temperature=0, max_output_tokens=40
    )
    chunks = list(client.models.generate_content_stream(model="smol-think", contents="Write a short story about a cat.", config=config))
    kinds = [("thought" if part.thought else "answer") for chunk in chunks for part in parts_of(chunk) if part.text]
    assert kinds and kinds[0] == "thought"
    assert "answer" in kinds and kinds.index("answer") > max(i for i, k in enumerate(kinds) if k == "thought")
    answer = "".join(chunk.text or "" for chunk in chunks)
    assert answer.strip() and "</think>" not in answer
    usage = chunks[-1].usage_metadata
    assert usage.thoughts_token_count == 4
    assert usage.total_token_count == usage.prompt_token_count + usage.candidates_token_count + usage.thoughts_token_count

    hidden = types.GenerateContentConfig(
        thinking_config=types.ThinkingConfig(include_thoughts=False, thinking_budget=4), temperature=0, max_output_tokens=40
    )
    whole = client.models.generate_content(model="smol-think", contents="Write a short story about a cat.", config=hidden)
    assert not any(p.thought for p in parts_of(whole))
    # Not compared with the streamed answer: llama.cpp's greedy pick can differ once the prompt comes from the KV cache.
    assert whole.text.strip() and "</think>" not in whole.text
    assert whole.usage_metadata.thoughts_token_count == 4

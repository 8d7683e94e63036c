"""google-genai against a real instruction-tuned chat model (SmolLM2-135M-Instruct, ChatML): what
only a chat model shows. Its template is applied, its end of turn reads as STOP, MAX_TOKENS comes
only at the limit, a chat's history reaches it, and the SDK's automatic function calling runs."""

from __future__ import annotations

import re

from google.genai import types
from pydantic import BaseModel, Field

from conftest import CHAT_MODEL

MARKERS = re.compile(r"<\|im_(start|end)\|>|<\|endoftext\|>")
GREEDY = dict(temperature=0, seed=1)


def test_a_natural_end_is_stop_and_the_limit_is_max_tokens(chat_client):
    whole = chat_client.models.generate_content(model="gemini-2.5-flash", contents="Say hello.", config=types.GenerateContentConfig(**GREEDY))
    assert whole.candidates[0].finish_reason == types.FinishReason.STOP
    assert 0 < whole.usage_metadata.candidates_token_count < 200
    assert not MARKERS.search(whole.text)
    assert whole.model_version == CHAT_MODEL

    chunks = list(chat_client.models.generate_content_stream(model="gemini-2.5-flash", contents="Say hello.", config=types.GenerateContentConfig(**GREEDY)))
    assert chunks[-1].candidates[0].finish_reason == types.FinishReason.STOP
    assert "".join(c.text or "" for c in chunks) == whole.text

    cut = chat_client.models.generate_content(
        model="gemini-2.5-flash", contents="Tell me a long story about a dragon.", config=types.GenerateContentConfig(max_output_tokens=5, **GREEDY)
    )
    assert cut.candidates[0].finish_reason == types.FinishReason.MAX_TOKENS
    assert cut.usage_metadata.candidates_token_count == 5


def test_count_tokens_is_the_templated_prompt_generation_sees(chat_client):
    contents = "What is the capital of France?"
    counted = chat_client.models.count_tokens(model=CHAT_MODEL, contents=contents)
    generated = chat_client.models.generate_content(model=CHAT_MODEL, contents=contents, config=types.GenerateContentConfig(max_output_tokens=3, **GREEDY))
    assert generated.usage_metadata.prompt_token_count == counted.total_tokens
    assert counted.total_tokens > 7 + 4  # the bare question is 7 tokens; the template adds its turns


def test_a_chat_sends_its_history_and_reuses_the_first_turns_kv_prefix(chat_client):
    chat = chat_client.chats.create(model=CHAT_MODEL, config=types.GenerateContentConfig(max_output_tokens=40, **GREEDY))
    first = chat.send_message("My name is Ada. Say hi to me.")
    second = chat.send_message("What is my name?")
    assert second.usage_metadata.prompt_token_count > first.usage_metadata.prompt_token_count + first.usage_metadata.candidates_token_count
    assert (second.usage_metadata.cached_content_token_count or 0) > 0
    history = chat.get_history(curated=True)
    assert [c.role for c in history] == ["user", "model", "user", "model"]
    assert not any(MARKERS.search(p.text or "") for c in history for p in c.parts)


class City(BaseModel):
    name: str = Field(max_length=20)
    population: int


def test_structured_output_parses_into_pydantic(chat_client):
    response = chat_client.models.generate_content(
        model=CHAT_MODEL,
        contents="Name a city and its population, in JSON.",
        config=types.GenerateContentConfig(response_mime_type="application/json", response_schema=City, **GREEDY),
    )
    assert isinstance(response.parsed, City), response.text
    assert response.candidates[0].finish_reason == types.FinishReason.STOP


calls: list[tuple[str, int]] = []


def get_weather(city: str, days: int) -> dict:
    """The weather forecast for a city over some days."""
    calls.append((city, days))
    return {"forecast": "sunny", "days": days}


def test_automatic_function_calling_runs_the_python_function(chat_client):
    calls.clear()
    response = chat_client.models.generate_content(
        model=CHAT_MODEL,
        contents="What is the weather in Paris for the next 2 days?",
        config=types.GenerateContentConfig(
            tools=[get_weather],
            tool_config=types.ToolConfig(function_calling_config=types.FunctionCallingConfig(mode="ANY")),
            automatic_function_calling=types.AutomaticFunctionCallingConfig(maximum_remote_calls=2),
            max_output_tokens=60,
            **GREEDY,
        ),
    )
    assert calls, "the SDK never called get_weather"
    city, days = calls[0]
    assert isinstance(city, str) and isinstance(days, int)
    history = response.automatic_function_calling_history or []
    assert any(p.function_response for c in history for p in (c.parts or [])), history


def test_declarations_with_advisory_keywords_stream_in_auto(chat_client):
    declaration = types.FunctionDeclaration(
        name="get_weather",
        description="The weather forecast for a city.",
        parameters_json_schema={
            "type": "object",
            "title": "WeatherQuery",
            "properties": {"city": {"type": "string", "pattern": "^[A-Z]"}, "days": {"type": "integer", "minimum": 1, "maximum": 7, "default": 1}},
            "required": ["city"],
        },
    )
    chunks = list(
        chat_client.models.generate_content_stream(
            model=CHAT_MODEL,
            contents="What is the weather in Paris?",
            config=types.GenerateContentConfig(tools=[types.Tool(function_declarations=[declaration])], max_output_tokens=40, **GREEDY),
        )
    )
    assert chunks[-1].candidates[0].finish_reason in (types.FinishReason.STOP, types.FinishReason.MAX_TOKENS, types.FinishReason.MALFORMED_FUNCTION_CALL)

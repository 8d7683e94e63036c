"""Beyond text: structured output into pydantic, function calling (with the SDK's automatic loop),
candidates, logprobs and embeddings, as the Python SDK's own users write them."""

from __future__ import annotations

import math
from typing import Literal

from google.genai import types
from pydantic import BaseModel, Field

from genai_checks import MODEL_ID


class Person(BaseModel):
    name: str = Field(max_length=12)
    age: int
    happy: bool
    color: Literal["red", "green", "blue"]


def test_response_schema_with_a_pydantic_model_fills_parsed(client):
    for seed in range(5):
        response = client.models.generate_content(
            model=MODEL_ID,
            contents="Describe a person.",
            config=types.GenerateContentConfig(
                response_mime_type="application/json", response_schema=Person, seed=seed, max_output_tokens=200
            ),
        )
        assert isinstance(response.parsed, Person), response.text
        assert response.parsed.color in ("red", "green", "blue")


def get_weather(city: str, unit: str) -> dict:
    """The weather forecast for a city, in "celsius" or "fahrenheit"."""
    calls.append((city, unit))
    return {"forecast": "sunny", "unit": unit}


calls: list[tuple[str, str]] = []


def test_function_declarations_yield_function_calls(client):
    declaration = types.FunctionDeclaration.from_callable(client=client, callable=get_weather)
    response = client.models.generate_content(
        model=MODEL_ID,
        contents="Weather in Paris?",
        config=types.GenerateContentConfig(
            tools=[types.Tool(function_declarations=[declaration])],
            tool_config=types.ToolConfig(function_calling_config=types.FunctionCallingConfig(mode="ANY")),
            automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
        ),
    )
    assert response.function_calls, response
    call = response.function_calls[0]
    assert call.name == "get_weather"
    assert isinstance(call.args["city"], str)
    assert isinstance(call.args["unit"], str)


def test_a_call_of_an_undeclared_function_is_malformed_function_call(client):
    """The response schema makes the model write a call of a function nobody declared: the
    candidate ends MALFORMED_FUNCTION_CALL with no content, streamed and whole, and a chat
    keeps no model turn for it."""
    declaration = types.FunctionDeclaration.from_callable(client=client, callable=get_weather)
    config = types.GenerateContentConfig(
        tools=[types.Tool(function_declarations=[declaration])],
        automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
        response_mime_type="application/json",
        response_schema={
            "type": "OBJECT",
            "properties": {"name": {"type": "STRING", "enum": ["delete_everything"]}, "args": {"type": "OBJECT", "properties": {}}},
            "required": ["name", "args"],
        },
    )
    chunks = list(client.models.generate_content_stream(model=MODEL_ID, contents="Clean up.", config=config))
    assert len(chunks) == 1, chunks
    candidate = chunks[0].candidates[0]
    assert candidate.finish_reason == types.FinishReason.MALFORMED_FUNCTION_CALL
    assert not (candidate.content and candidate.content.parts)
    assert chunks[0].text is None and chunks[0].function_calls is None
    whole = client.models.generate_content(model=MODEL_ID, contents="Clean up.", config=config)
    assert whole.candidates[0].finish_reason == types.FinishReason.MALFORMED_FUNCTION_CALL
    assert whole.text is None
    chat = client.chats.create(model=MODEL_ID, config=config)
    chat.send_message("Clean up.")
    assert [turn for turn in chat.get_history(curated=True) if turn.role == "model"] == []


def test_automatic_function_calling_runs_the_python_function(client):
    calls.clear()
    response = client.models.generate_content(
        model=MODEL_ID,
        contents="Weather in Paris?",
        config=types.GenerateContentConfig(
            tools=[get_weather],
            tool_config=types.ToolConfig(function_calling_config=types.FunctionCallingConfig(mode="ANY")),
            automatic_function_calling=types.AutomaticFunctionCallingConfig(maximum_remote_calls=2),
        ),
    )
    assert calls, f"the SDK never called the function: {response.function_calls} {response.automatic_function_calling_history}"
    history = response.automatic_function_calling_history
    assert any(part.function_response for content in history for part in (content.parts or []))


def test_candidates_and_logprobs(client):
    response = client.models.generate_content(
        model=MODEL_ID,
        contents="Once upon a time",
        config=types.GenerateContentConfig(
            candidate_count=2, seed=4, max_output_tokens=10, response_logprobs=True, logprobs=2
        ),
    )
    assert [c.index for c in response.candidates] == [0, 1]
    for candidate in response.candidates:
        chosen = candidate.logprobs_result.chosen_candidates
        assert len(chosen) == 10
        assert all(c.log_probability <= 0 for c in chosen)
        assert math.isclose(candidate.avg_logprobs, sum(c.log_probability for c in chosen) / 10, rel_tol=1e-6)
    assert response.usage_metadata.candidates_token_count == 20


def test_embed_content_returns_unit_vectors_of_the_asked_dimension(client):
    # The SDK sends a list of strings to a "gemini-*" model as one multimodal content (one
    # vector): a model id without "gemini" gets one vector per string, as text-embedding-004 does.
    result = client.models.embed_content(
        model="stories-260k",
        contents=["a cat", "a dog"],
        config=types.EmbedContentConfig(output_dimensionality=16),
    )
    assert len(result.embeddings) == 2
    for embedding in result.embeddings:
        assert len(embedding.values) == 16
        assert math.isclose(math.sqrt(sum(v * v for v in embedding.values)), 1.0, rel_tol=1e-5)

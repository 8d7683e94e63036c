"""generate_content_stream (sync and aio; the SDK default version, v1beta and v1), generate_content, count_tokens."""

from __future__ import annotations

import time

import pytest
from google.genai import types

from genai_checks import MODEL_ID, check_response, check_stream

# google-genai 3.6.1 sends Gemini Developer API requests to /v1/ unless told otherwise
# (GOOGLE_AI_API_DEFAULT_VERSION = "v1"); the quickstart's client is made that way.
API_VERSIONS = [pytest.param(None, id="sdk-default"), pytest.param("v1beta", id="v1beta"), pytest.param("v1", id="v1")]
STORY = "Tell me a story in 300 words."


def routed_requests(server, api_version) -> float | None:
    """Requests the server counted under /<api_version>/ routes (None if it has no such counter)."""
    if api_version is None:
        return None
    return server.metric("genai_local_requests_total", f'route="/{api_version}/') or 0.0


def check_routed(server, api_version, before) -> None:
    """The request must have been counted under a /<api_version>/ route (the count may land a
    moment after the client has read the last byte, so poll briefly)."""
    if api_version is None or server.metric("genai_local_requests_total") is None:
        return
    deadline = time.monotonic() + 3
    while routed_requests(server, api_version) <= before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert routed_requests(server, api_version) > before, f"the request did not reach a /{api_version}/ route"


@pytest.mark.parametrize("api_version", API_VERSIONS)
def test_sync_stream(server, api_version):
    client = server.client(api_version=api_version)
    before = routed_requests(server, api_version)
    chunks = list(
        client.models.generate_content_stream(
            model=MODEL_ID,
            contents=STORY,
            config=types.GenerateContentConfig(max_output_tokens=48),
        )
    )
    summary = check_stream(chunks)
    assert summary.candidates_tokens <= 48
    if summary.finish_reason == types.FinishReason.MAX_TOKENS:
        assert summary.candidates_tokens == 48, "stopped for MAX_TOKENS before maxOutputTokens tokens"
    check_routed(server, api_version, before)
    client.close()


@pytest.mark.parametrize("api_version", API_VERSIONS)
async def test_aio_stream(server, api_version):
    client = server.client(api_version=api_version)
    before = routed_requests(server, api_version)
    chunks = []
    async for chunk in await client.aio.models.generate_content_stream(
        model=MODEL_ID,
        contents=STORY,
        config=types.GenerateContentConfig(max_output_tokens=48),
    ):
        chunks.append(chunk)
    summary = check_stream(chunks)
    assert summary.candidates_tokens <= 48
    check_routed(server, api_version, before)
    await client.aio.aclose()


@pytest.mark.parametrize("api_version", ["v1beta", "v1"])
def test_stream_joins_to_the_same_reply_as_generate_content(server, api_version):
    """Greedy decoding (temperature 0): the streamed chunks, joined, are exactly the reply
    generate_content gives for the same request, with the same token counts."""
    client = server.client(api_version=api_version)
    config = types.GenerateContentConfig(temperature=0, max_output_tokens=40)
    contents = "Once upon a time, there was a little dog"
    streamed = check_stream(list(client.models.generate_content_stream(model=MODEL_ID, contents=contents, config=config)))
    whole = client.models.generate_content(model=MODEL_ID, contents=contents, config=config)
    text = check_response(whole)
    assert streamed.text == text
    assert streamed.prompt_tokens == whole.usage_metadata.prompt_token_count
    assert streamed.candidates_tokens == whole.usage_metadata.candidates_token_count
    assert streamed.finish_reason == whole.candidates[0].finish_reason
    client.close()


def test_generate_content(client):
    response = client.models.generate_content(
        model=MODEL_ID,
        contents="Tell me a story about a cat.",
        config=types.GenerateContentConfig(max_output_tokens=16),
    )
    check_response(response)
    usage = response.usage_metadata
    assert usage.candidates_token_count <= 16
    if response.candidates[0].finish_reason == types.FinishReason.MAX_TOKENS:
        assert usage.candidates_token_count == 16
    assert response.model_version, "no modelVersion"


@pytest.mark.parametrize(
    "contents",
    [
        pytest.param("Once upon a time", id="text"),
        pytest.param(
            [
                types.Content(role="user", parts=[types.Part(text="Tell me about a frog.")]),
                types.Content(role="model", parts=[types.Part(text="The frog was green and liked to jump.")]),
                types.Content(role="user", parts=[types.Part(text="What did the frog eat?")]),
            ],
            id="conversation",
        ),
    ],
)
def test_count_tokens_matches_prompt_token_count(client, contents):
    counted = client.models.count_tokens(model=MODEL_ID, contents=contents)
    assert counted.total_tokens and counted.total_tokens > 0
    response = client.models.generate_content(
        model=MODEL_ID, contents=contents, config=types.GenerateContentConfig(max_output_tokens=4)
    )
    assert counted.total_tokens == response.usage_metadata.prompt_token_count


def test_count_tokens_grows_with_the_text(client):
    short = client.models.count_tokens(model=MODEL_ID, contents="A dog.").total_tokens
    long = client.models.count_tokens(model=MODEL_ID, contents="A dog ran to the park and played with a red ball.").total_tokens
    assert 0 < short < long

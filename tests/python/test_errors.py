"""Errors reach the SDK as google.genai.errors.ClientError with the Gemini code and status.

Where the SDK cannot send the request at all (no API key: it refuses to build such a client;
`contents=[]` or a temperature given as a string: it rejects them before sending), the request
is made raw with urllib and the server's error body is handed to the SDK's own error parser
(errors.APIError.raise_error), so the check is still "what would the SDK make of this reply".
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from google.genai import errors, types

from genai_checks import MODEL_ID

STREAM_PATH = f"/v1beta/models/{MODEL_ID}:streamGenerateContent?alt=sse"
GENERATE_PATH = f"/v1beta/models/{MODEL_ID}:generateContent"
VALID_BODY = {"contents": [{"role": "user", "parts": [{"text": "Once upon a time"}]}], "generationConfig": {"maxOutputTokens": 4}}


def raw_request(server, path: str, body: dict | None = None, api_key: str | None = None) -> tuple[int, dict]:
    headers = {"content-type": "application/json"}
    if api_key is not None:
        headers["x-goog-api-key"] = api_key
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(server.url + path, data=data, headers=headers, method="GET" if data is None else "POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def as_sdk_error(status: int, body: dict) -> errors.APIError:
    """What the SDK raises for this HTTP status and body."""
    with pytest.raises(errors.APIError) as raised:
        errors.APIError.raise_error(status, body, None)
    return raised.value


def assert_client_error(error: BaseException, code: int, status: str) -> None:
    assert isinstance(error, errors.ClientError), f"{type(error).__name__}: {error}"
    assert error.code == code, f"code {error.code}, expected {code}: {error}"
    assert error.status == status, f"status {error.status!r}, expected {status!r}: {error}"
    assert error.message, "the error has no message"


def check_error_body(status: int, body: dict, code: int, grpc_status: str) -> None:
    assert status == code, f"HTTP {status}, expected {code}: {body}"
    assert set(body) == {"error"}, f"error body is not {{'error': ...}}: {body}"
    assert body["error"]["code"] == code and body["error"]["status"] == grpc_status, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"], body
    assert_client_error(as_sdk_error(status, body), code, grpc_status)


# ---- API key -------------------------------------------------------------------------------

CALLS = {
    "generate_content": lambda c: c.models.generate_content(model=MODEL_ID, contents="Once upon a time"),
    "generate_content_stream": lambda c: list(c.models.generate_content_stream(model=MODEL_ID, contents="Once upon a time")),
    "count_tokens": lambda c: c.models.count_tokens(model=MODEL_ID, contents="Once upon a time"),
    "models.list": lambda c: list(c.models.list()),
    "models.get": lambda c: c.models.get(model=MODEL_ID),
}


@pytest.mark.parametrize("call", CALLS.values(), ids=CALLS.keys())
def test_wrong_api_key_is_invalid_argument(server, call):
    client = server.client(api_key="not-the-key")
    with pytest.raises(errors.ClientError) as raised:
        call(client)
    assert_client_error(raised.value, 400, "INVALID_ARGUMENT")
    client.close()


async def test_wrong_api_key_aio_stream(server):
    client = server.client(api_key="not-the-key")
    with pytest.raises(errors.ClientError) as raised:
        async for _ in await client.aio.models.generate_content_stream(model=MODEL_ID, contents="Once upon a time"):
            pass
    assert_client_error(raised.value, 400, "INVALID_ARGUMENT")
    await client.aio.aclose()


@pytest.mark.parametrize(
    "path,body",
    [("/v1beta/models", None), (GENERATE_PATH, VALID_BODY), (STREAM_PATH, VALID_BODY), (f"/v1/models/{MODEL_ID}:countTokens", VALID_BODY)],
    ids=["list", "generateContent", "streamGenerateContent", "v1-countTokens"],
)
def test_missing_api_key_is_permission_denied(server, path, body):
    # The SDK will not send a request without a key, so this one is raw.
    status, reply = raw_request(server, path, body, api_key=None)
    check_error_body(status, reply, 403, "PERMISSION_DENIED")


def test_key_in_query_string_is_accepted(server):
    status, reply = raw_request(server, f"/v1beta/models?key={server.api_key}")
    assert status == 200, reply
    assert "models/stories-260k" in [model["name"] for model in reply["models"]]
    status, reply = raw_request(server, "/v1beta/models?key=not-the-key")
    check_error_body(status, reply, 400, "INVALID_ARGUMENT")


# ---- unknown model -------------------------------------------------------------------------

UNKNOWN = "no-such-model-xyz"
MODEL_CALLS = {
    "generate_content": lambda c: c.models.generate_content(model=UNKNOWN, contents="Once upon a time"),
    "generate_content_stream": lambda c: list(c.models.generate_content_stream(model=UNKNOWN, contents="Once upon a time")),
    "count_tokens": lambda c: c.models.count_tokens(model=UNKNOWN, contents="Once upon a time"),
    "models.get": lambda c: c.models.get(model=UNKNOWN),
}


@pytest.mark.parametrize("call", MODEL_CALLS.values(), ids=MODEL_CALLS.keys())
def test_unknown_model_is_not_found(client, call):
    with pytest.raises(errors.ClientError) as raised:
        call(client)
    assert_client_error(raised.value, 404, "NOT_FOUND")


# ---- bad request bodies --------------------------------------------------------------------

@pytest.mark.parametrize(
    "config",
    [
        types.GenerateContentConfig(temperature=-1),
        types.GenerateContentConfig(max_output_tokens=-5),
        types.GenerateContentConfig(top_p=1.5),
    ],
    ids=["temperature=-1", "max_output_tokens=-5", "top_p=1.5"],
)
def test_invalid_generation_config_is_invalid_argument(client, config):
    with pytest.raises(errors.ClientError) as raised:
        client.models.generate_content(model=MODEL_ID, contents="Once upon a time", config=config)
    assert_client_error(raised.value, 400, "INVALID_ARGUMENT")
    with pytest.raises(errors.ClientError) as raised:
        list(client.models.generate_content_stream(model=MODEL_ID, contents="Once upon a time", config=config))
    assert_client_error(raised.value, 400, "INVALID_ARGUMENT")


def test_sdk_refuses_empty_contents_itself(client):
    # Documents why the empty-contents case below is raw: the SDK never sends it.
    with pytest.raises(ValueError):
        client.models.generate_content(model=MODEL_ID, contents=[])


@pytest.mark.parametrize(
    "body",
    [
        {"contents": []},
        {},
        {"contents": [{"role": "user", "parts": [{"text": "hi"}]}], "generationConfig": {"temperature": "hot"}},
        {"contents": [{"role": "user", "parts": [{"text": "hi"}]}], "generationConfig": {"maxOutputTokens": "many"}},
        {"contents": "not a list"},
    ],
    ids=["empty-contents", "no-contents", "temperature-string", "maxOutputTokens-string", "contents-string"],
)
@pytest.mark.parametrize("path", [GENERATE_PATH, STREAM_PATH], ids=["generateContent", "streamGenerateContent"])
def test_bad_body_is_invalid_argument(server, path, body):
    status, reply = raw_request(server, path, body, api_key=server.api_key)
    check_error_body(status, reply, 400, "INVALID_ARGUMENT")


def test_prompt_longer_than_the_context_is_invalid_argument(client):
    long_prompt = "the dog ran to the park " * 600
    limit = client.models.get(model=MODEL_ID).input_token_limit
    assert client.models.count_tokens(model=MODEL_ID, contents=long_prompt).total_tokens > limit
    with pytest.raises(errors.ClientError) as raised:
        client.models.generate_content(model=MODEL_ID, contents=long_prompt)
    assert_client_error(raised.value, 400, "INVALID_ARGUMENT")
    with pytest.raises(errors.ClientError) as raised:
        list(client.models.generate_content_stream(model=MODEL_ID, contents=long_prompt))
    assert_client_error(raised.value, 400, "INVALID_ARGUMENT")

"""The Live API through google-genai's `client.aio.live.connect`, over wss:// to a TLS port.

google-genai (Python) always opens Live over wss://, so this server is started with a throwaway
self-signed certificate made by openssl here, and the client trusts it through SSL_CERT_FILE,
as docs/live-api.md tells users to. The model is SmolLM2-135M-Instruct, a real chat model.
"""

from __future__ import annotations

import asyncio
import os
import re
import ssl
import subprocess
import urllib.request
from pathlib import Path

import pytest
from google import genai
from google.genai import errors, types

from conftest import REPO_ROOT, REQUEST_TIMEOUT_MS, fake_engine, models_dir, start_genai_local, stop_genai_local

MODEL = "smol"
MODEL_SPEC = f"{MODEL}=SmolLM2-135M-Instruct.Q4_1.gguf"
TEXT = types.LiveConnectConfig(response_modalities=[types.Modality.TEXT], temperature=0)
# An engine that calls the first tool it is given, then answers quoting the result (test/support/tool-upstream.ts).
TOOL_UPSTREAM = REPO_ROOT / "test" / "support" / "tool-upstream.ts"
CALLER = "caller"


def make_certificate(directory: Path) -> tuple[Path, Path]:
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.fixture(scope="module")
def tool_upstream():
    with fake_engine(TOOL_UPSTREAM) as url:
        yield url


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory, tool_upstream):
    cert, key = make_certificate(tmp_path_factory.mktemp("tls"))
    before = os.environ.get("SSL_CERT_FILE")
    os.environ["SSL_CERT_FILE"] = str(cert)  # read by google-genai when a Client is made
    srv = start_genai_local(
        [
            "--models-dir", str(models_dir()), "--threads", "1", "--model", MODEL_SPEC,
            "--upstream", f"{CALLER}=openai:{tool_upstream},model={CALLER}",
            "--tls-cert", str(cert), "--tls-key", str(key),
        ]
    )
    srv.ssl_context = ssl.create_default_context(cafile=str(cert))
    try:
        assert srv.url.startswith("https://")
        yield srv
    finally:
        stop_genai_local(srv)
        if before is None:
            os.environ.pop("SSL_CERT_FILE", None)
        else:
            os.environ["SSL_CERT_FILE"] = before


def client(srv, api_key: str | None = None) -> genai.Client:
    options = types.HttpOptions(base_url=srv.url, timeout=REQUEST_TIMEOUT_MS)
    return genai.Client(api_key=srv.api_key if api_key is None else api_key, http_options=options)


def metric(srv, name: str) -> float:
    with urllib.request.urlopen(f"{srv.url}/metrics", timeout=10, context=srv.ssl_context) as response:
        text = response.read().decode("utf-8")
    match = re.search(rf"^{re.escape(name)} (\S+)$", text, re.M)
    assert match, f"{name} is not in /metrics"
    return float(match.group(1))


async def one_turn(session) -> list[types.LiveServerMessage]:
    """Messages up to and including turnComplete (receive() stops after it)."""
    return [message async for message in session.receive()]


def texts(messages) -> list[str]:
    return [part.text for m in messages if m.server_content and m.server_content.model_turn for part in m.server_content.model_turn.parts or [] if part.text]


def test_rest_works_over_https(tls_server):
    rest = client(tls_server)  # kept: a Client closes its HTTP client when it is collected
    response = rest.models.generate_content(model=MODEL, contents="Say hi.", config=types.GenerateContentConfig(max_output_tokens=4))
    assert response.text


async def test_two_turns_stream_and_the_second_sees_the_first(tls_server):
    config = TEXT.model_copy(update={"max_output_tokens": 24})
    async with client(tls_server).aio.live.connect(model=MODEL, config=config) as session:
        await session.send_client_content(turns=types.Content(role="user", parts=[types.Part(text="My name is Ada. Say hello to me.")]))
        first = await one_turn(session)
        await session.send_client_content(turns=types.Content(role="user", parts=[types.Part(text="What is my name?")]))
        second = await one_turn(session)
    for reply in (first, second):
        assert len(texts(reply)) > 1, "a reply should arrive as several serverContent messages"
        assert reply[-1].server_content.turn_complete
        assert any(m.server_content and m.server_content.generation_complete for m in reply)
    u1, u2 = first[-1].usage_metadata, second[-1].usage_metadata
    assert u2.prompt_token_count >= u1.prompt_token_count + u1.response_token_count
    assert (u2.cached_content_token_count or 0) >= u1.prompt_token_count


async def test_a_tool_call_round_trip(tls_server):
    weather = types.FunctionDeclaration(
        name="get_weather",
        description="The weather in a city.",
        parameters=types.Schema(type=types.Type.OBJECT, properties={"city": types.Schema(type=types.Type.STRING)}, required=["city"]),
    )
    config = types.LiveConnectConfig(response_modalities=[types.Modality.TEXT], tools=[types.Tool(function_declarations=[weather])])
    async with client(tls_server).aio.live.connect(model=CALLER, config=config) as session:
        await session.send_client_content(turns=types.Content(role="user", parts=[types.Part(text="What is the weather in Paris?")]))
        call = None
        async for message in session.receive():
            if message.tool_call:
                call = message.tool_call.function_calls[0]
                break
        assert call is not None and call.name == "get_weather" and call.args == {"city": "Paris"}
        await session.send_tool_response(function_responses=[types.FunctionResponse(id=call.id, name=call.name, response={"forecast": "sunny, 21 C"})])
        reply = await one_turn(session)
    assert reply[-1].server_content.turn_complete
    assert "sunny, 21 C" in "".join(texts(reply))


async def test_interruption_stops_the_generation(tls_server):
    config = TEXT.model_copy(update={"max_output_tokens": 2000})
    async with client(tls_server).aio.live.connect(model=MODEL, config=config) as session:
        await session.send_client_content(turns=types.Content(role="user", parts=[types.Part(text="Tell me a very long story about a dragon.")]))
        seen = 0
        interrupted = False
        async for message in session.receive():
            if texts([message]):
                seen += 1
                if seen == 3:
                    await session.send_client_content(turns=types.Content(role="user", parts=[types.Part(text="Stop.")]), turn_complete=False)
            if message.server_content and message.server_content.interrupted:
                interrupted = True
                break
        assert interrupted
        for _ in range(100):
            if metric(tls_server, "genai_local_active_streams") == 0:
                break
            await asyncio.sleep(0.05)
        assert metric(tls_server, "genai_local_active_streams") == 0
        await session.send_realtime_input(text="Say ok.")
        assert texts(await one_turn(session))


async def test_audio_setup_is_refused_with_a_reason(tls_server):
    config = types.LiveConnectConfig(response_modalities=[types.Modality.AUDIO])
    with pytest.raises(errors.APIError) as caught:
        async with client(tls_server).aio.live.connect(model=MODEL, config=config):
            pass
    assert caught.value.code == 1007
    assert "no speech engine" in str(caught.value)


async def test_wrong_key_is_refused(tls_server):
    with pytest.raises(errors.APIError) as caught:
        async with client(tls_server, api_key="wrong").aio.live.connect(model=MODEL, config=TEXT):
            pass
    assert caught.value.code == 1007
    assert "API key not valid" in str(caught.value)


def test_the_live_example_chats_over_wss(tls_server):
    example = Path(__file__).resolve().parents[2] / "examples" / "python" / "live.py"
    run = subprocess.run(
        [os.sys.executable, str(example), "--url", tls_server.url, "--api-key", tls_server.api_key, "--model", MODEL],
        env={**os.environ, "SSL_CERT_FILE": os.environ["SSL_CERT_FILE"]},
        capture_output=True,
        text=True,
        timeout=300,  # the sample sets no output limit: the tiny model may write at length
    )
    assert run.returncode == 0, run.stderr[-2000:]
    lines = run.stdout.splitlines()
    assert sum(line.startswith("> ") for line in lines) == 2
    assert sum(line == "_" * 80 for line in lines) == 2

"""genai-local fronting an engine we did not write: llama.cpp's Python server (llama-cpp-python).

`genai-local serve --upstream llama-cpp-python=openai:http://127.0.0.1:PORT/v1,model=stories260K`
in front of `python -m llama_cpp.server` serving the shared stories260K.gguf, driven with the
google-genai SDK: streams, whole replies, a cancelled aio stream (the engine must see the
disconnect), and the engine killed (the SDK must get 503 UNAVAILABLE).

Opt-in, because llama-cpp-python compiles llama.cpp from source on install (~10 min on 2 cores)
and must not be built by the ordinary suite or by CI:

    python3 -m venv .venv-engines
    CMAKE_BUILD_PARALLEL_LEVEL=2 .venv-engines/bin/pip install -r tests/python/requirements-engines.txt
    GENAI_LOCAL_ENGINE_TESTS=1 .venv/bin/python -m pytest tests/python/test_upstream_engines.py -v

GENAI_LOCAL_ENGINE_PYTHON names another interpreter that has llama-cpp-python[server].

What the tiny model writes is nonsense, so no test looks at its words; the texts are compared
with what the engine itself answers (greedy) to the same request.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest
from google.genai import errors, types

from conftest import REPO_ROOT, Server, models_dir, start_genai_local, stop_genai_local
from genai_checks import MODEL_ID, check_response, check_stream

if os.environ.get("GENAI_LOCAL_ENGINE_TESTS") != "1":
    pytest.skip(
        "third-party engine tests are opt-in: set GENAI_LOCAL_ENGINE_TESTS=1 after installing the engine venv "
        "(python3 -m venv .venv-engines && CMAKE_BUILD_PARALLEL_LEVEL=2 "
        ".venv-engines/bin/pip install -r tests/python/requirements-engines.txt; "
        "GENAI_LOCAL_ENGINE_PYTHON=/path/to/python to use another one)",
        allow_module_level=True,
    )

ENGINE_PYTHON = Path(os.environ.get("GENAI_LOCAL_ENGINE_PYTHON", REPO_ROOT / ".venv-engines" / "bin" / "python"))
MODEL_FILE = "stories260K.gguf"
ENGINE_MODEL = "stories260K"  # the engine's --model_alias; genai-local asks for it with model=
UPSTREAM_ID = "llama-cpp-python"
ENGINE_READY_S = 60
# llama-cpp-python prints this (to stdout) when it stops a stream because its client went away.
ENGINE_SAW_DISCONNECT = "Disconnected from client"

LONG = 2000  # tokens: about 6 s of llama-cpp-python on one thread, so a stream is still running when left
PROMPT = "Once upon a time"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Engine:
    proc: subprocess.Popen
    base_url: str  # .../v1
    log_path: Path

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"

    def chat(self, max_tokens: int) -> dict:
        """The engine's own (non-streamed, greedy) answer to the request genai-local makes."""
        body = {
            "model": ENGINE_MODEL,
            "messages": [{"role": "user", "content": PROMPT}],
            "max_tokens": max_tokens,
            "temperature": 0,
        }
        request = urllib.request.Request(
            f"{self.base_url}/chat/completions", data=json.dumps(body).encode(), headers={"content-type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read())

    def kill(self) -> None:
        """SIGKILL the engine's whole process group and reap it."""
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        self.kill()
        self.log_path.unlink(missing_ok=True)


def start_engine() -> Engine:
    if not ENGINE_PYTHON.exists():
        pytest.fail(
            f"GENAI_LOCAL_ENGINE_TESTS=1 but {ENGINE_PYTHON} does not exist: install the engine venv with\n"
            "    python3 -m venv .venv-engines && CMAKE_BUILD_PARALLEL_LEVEL=2 "
            ".venv-engines/bin/pip install -r tests/python/requirements-engines.txt\n"
            "or point GENAI_LOCAL_ENGINE_PYTHON at a python with llama-cpp-python[server].",
            pytrace=False,
        )
    model = models_dir() / MODEL_FILE
    if not model.is_file():
        pytest.fail(f"{model} is missing (set GENAI_LOCAL_MODELS_DIR to the shared models dir)", pytrace=False)
    port = free_port()
    log_file = tempfile.NamedTemporaryFile(prefix="llama-cpp-python-", suffix=".log", delete=False)
    command = [
        str(ENGINE_PYTHON), "-m", "llama_cpp.server",
        "--model", str(model),
        "--model_alias", ENGINE_MODEL,
        "--host", "127.0.0.1", "--port", str(port),
        "--n_threads", "1",
        "--n_ctx", "2048",
        # stories260K has no chat template; llama-2 is what llama-cpp-python falls back to anyway.
        "--chat_format", "llama-2",
        # By default a new request ends the running stream with [DONE] and no finish_reason; off,
        # requests wait their turn, so an upstream stream left running would hold up the next one.
        "--interrupt_requests", "False",
    ]
    proc = subprocess.Popen(
        command,
        cwd=REPO_ROOT,
        stdin=subprocess.DEVNULL,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        start_new_session=True,
    )
    log_file.close()
    engine = Engine(proc=proc, base_url=f"http://127.0.0.1:{port}/v1", log_path=Path(log_file.name))
    deadline = time.monotonic() + ENGINE_READY_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        try:
            with urllib.request.urlopen(f"{engine.base_url}/models", timeout=2) as response:
                if ENGINE_MODEL in response.read().decode():
                    return engine
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    log = engine.log()[-6000:]
    rc = proc.poll()
    engine.stop()
    pytest.fail(
        f"llama-cpp-python did not serve {engine.base_url}/models within {ENGINE_READY_S}s (exit code {rc}).\n"
        f"command: {' '.join(command)}\nlog:\n{log}",
        pytrace=False,
    )


def front(engine: Engine) -> Server:
    return start_genai_local(["--upstream", f"{UPSTREAM_ID}=openai:{engine.base_url},model={ENGINE_MODEL}"])


@pytest.fixture(scope="module")
def engine():
    e = start_engine()
    try:
        yield e
    finally:
        e.stop()


@pytest.fixture(scope="module")
def fronted(engine):
    srv = front(engine)
    try:
        yield srv
    finally:
        stop_genai_local(srv)


@pytest.fixture
def gclient(fronted):
    fronted.wait_idle()
    c = fronted.client()
    try:
        yield c
    finally:
        c.close()


def greedy(max_tokens: int) -> types.GenerateContentConfig:
    return types.GenerateContentConfig(max_output_tokens=max_tokens, temperature=0)


# ---- through genai-local ---------------------------------------------------------------------


def test_models_lists_the_upstream(gclient):
    ids = [m.name for m in gclient.models.list()]
    assert f"models/{UPSTREAM_ID}" in ids, ids


def test_stream(gclient, engine):
    chunks = list(gclient.models.generate_content_stream(model=MODEL_ID, contents=PROMPT, config=greedy(200)))
    # llama-cpp-python 0.3.36 sends no usage in streams (it ignores stream_options.include_usage),
    # so the prompt count is not checked here; see test_prompt_tokens_are_not_made_up.
    summary = check_stream(chunks, prompt_counted=False)
    direct = engine.chat(200)
    choice = direct["choices"][0]
    assert summary.text == choice["message"]["content"], "the streamed text differs from the engine's own answer"
    expected_finish = types.FinishReason.MAX_TOKENS if choice["finish_reason"] == "length" else types.FinishReason.STOP
    assert summary.finish_reason == expected_finish
    # One content delta per token from this engine, so the count genai-local keeps is exact.
    assert summary.candidates_tokens == direct["usage"]["completion_tokens"]
    assert all(c.model_version == UPSTREAM_ID for c in chunks), {c.model_version for c in chunks}


def test_generate_content(gclient, engine):
    response = gclient.models.generate_content(model=MODEL_ID, contents=PROMPT, config=greedy(50))
    text = check_response(response, prompt_counted=False)
    direct = engine.chat(50)
    assert text == direct["choices"][0]["message"]["content"]
    assert response.usage_metadata.candidates_token_count == direct["usage"]["completion_tokens"]


def test_chat_turns_reach_the_engine(gclient):
    chat = gclient.chats.create(model=MODEL_ID, config=greedy(20))
    first = chat.send_message(PROMPT)
    second = chat.send_message("The end.")
    for reply in (first, second):
        check_response(reply, prompt_counted=False)
    assert len(chat.get_history()) == 4


def test_prompt_tokens_are_not_made_up(gclient):
    response = gclient.models.generate_content(model=MODEL_ID, contents=PROMPT, config=greedy(10))
    count = response.usage_metadata.prompt_token_count
    assert count is None or count > 0, f"promptTokenCount is {count!r} for a non-empty prompt"


async def test_aio_stream_cancel_ends_the_upstream_request(fronted, engine):
    """task.cancel() on an aio stream: genai-local's stream ends, it aborts its upstream request,
    and llama-cpp-python sees the disconnect and stops generating (its next request is served at once)."""
    fronted.wait_idle()
    seen_before = engine.log().count(ENGINE_SAW_DISCONNECT)
    client = fronted.client()
    received = 0
    chunks_seen = asyncio.Event()

    async def consume():
        nonlocal received
        async for _ in await client.aio.models.generate_content_stream(model=MODEL_ID, contents=PROMPT, config=greedy(LONG)):
            received += 1
            if received >= 3:
                chunks_seen.set()

    task = asyncio.create_task(consume())
    try:
        await asyncio.wait_for(chunks_seen.wait(), timeout=30)
        assert fronted.active_streams() >= 1, "the stream had already finished before it was cancelled"
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        left_at = time.monotonic()

        while fronted.active_streams() > 0 and time.monotonic() - left_at < 5:
            await asyncio.sleep(0.05)
        assert fronted.active_streams() == 0, "genai_local_active_streams did not return to 0 within 5 s"

        while engine.log().count(ENGINE_SAW_DISCONNECT) == seen_before and time.monotonic() - left_at < 5:
            await asyncio.sleep(0.05)
        assert engine.log().count(ENGINE_SAW_DISCONNECT) > seen_before, (
            "llama-cpp-python never logged that its client went away: genai-local did not abort the upstream request\n"
            + engine.log()[-3000:]
        )
    finally:
        task.cancel()
        await client.aio.aclose()
        client.close()

    # The engine serves one request at a time (--interrupt_requests False): had it kept generating
    # the 2000 tokens (~6 s), this short request would wait for them.
    started = time.monotonic()
    engine.chat(5)
    assert time.monotonic() - started < 2, "the engine was still busy with the cancelled stream"


# ---- the engine goes away ------------------------------------------------------------------


def assert_unavailable(error: BaseException) -> None:
    assert isinstance(error, errors.ServerError), f"{type(error).__name__}: {error}"
    assert error.code == 503 and error.status == "UNAVAILABLE", f"{error.code} {error.status}: {error}"


def test_engine_killed_gives_503_unavailable():
    """Killed mid-stream, then gone: every call gets ServerError 503 UNAVAILABLE, and genai-local
    itself keeps running with no stream left open."""
    engine = start_engine()
    srv = None
    try:
        srv = front(engine)
        client = srv.client()
        check_response(client.models.generate_content(model=MODEL_ID, contents=PROMPT, config=greedy(10)), prompt_counted=False)

        # Mid-stream: the SDK raises from the iteration, after the chunks already received.
        received = 0
        with pytest.raises(errors.APIError) as raised:
            for _ in client.models.generate_content_stream(model=MODEL_ID, contents=PROMPT, config=greedy(LONG)):
                received += 1
                if received == 3:
                    engine.kill()
        assert received >= 3
        assert_unavailable(raised.value)

        # Before the first byte: the HTTP status itself is 503.
        with pytest.raises(errors.APIError) as raised:
            client.models.generate_content(model=MODEL_ID, contents=PROMPT, config=greedy(10))
        assert_unavailable(raised.value)
        with pytest.raises(errors.APIError) as raised:
            list(client.models.generate_content_stream(model=MODEL_ID, contents=PROMPT, config=greedy(10)))
        assert_unavailable(raised.value)

        srv.wait_idle(5)
        assert srv.proc.poll() is None, "genai-local exited when its upstream went away"
        client.close()
    finally:
        engine.stop()
        if srv is not None:
            stop_genai_local(srv)

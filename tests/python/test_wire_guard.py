"""The suite would go red if genai-local broke the wire.

A tiny fake Gemini server (http.server in a thread on 127.0.0.1:0) serves hand-written SSE
streams: one well-formed (the control: the checks must accept it, so the rig itself is sound)
and several broken in ways a server could plausibly break them. The same SDK calls and the same
check_stream() helper the real tests use must reject every broken one, either because the SDK
raises or because check_stream() raises AssertionError.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from google import genai
from google.genai import errors, types

from genai_checks import MODEL_ID, check_stream


def chunk(text: str, candidates: int, prompt: int = 5, finish: str | None = None, total: int | None = None) -> dict:
    candidate: dict = {"content": {"role": "model", "parts": [{"text": text}]}, "index": 0}
    if finish:
        candidate["finishReason"] = finish
    return {
        "candidates": [candidate],
        "usageMetadata": {
            "promptTokenCount": prompt,
            "candidatesTokenCount": candidates,
            "totalTokenCount": prompt + candidates if total is None else total,
        },
        "modelVersion": "fake",
        "responseId": "fake-response",
    }


def event(payload: dict) -> str:
    return f"data: {json.dumps(payload)}\r\n\r\n"


GOOD = [chunk("Once", 1), chunk(" upon", 2), chunk(" a time.", 3, finish="STOP")]

STREAMS: dict[str, str] = {
    # The control: what genai-local is supposed to send.
    "well-formed": "".join(event(c) for c in GOOD),
    # An SSE comment (a keep-alive, say) between events: valid SSE, but the SDK's reader takes
    # any line that does not start with "data: " for a piece of a JSON error body.
    "comment-line": event(GOOD[0]) + ": keep-alive\r\n\r\n" + event(GOOD[1]) + event(GOOD[2]),
    # "data:" without the space: valid SSE, but the SDK only strips "data: ".
    "data-without-space": "".join(f"data:{json.dumps(c)}\r\n\r\n" for c in GOOD),
    # The stream just stops: no finishReason on the last chunk.
    "no-finish-reason": "".join(event(c) for c in GOOD[:2]),
    # finishReason before the end.
    "early-finish-reason": event(chunk("Once", 1, finish="STOP")) + event(GOOD[1]) + event(GOOD[2]),
    # usage that does not add up.
    "total-not-prompt-plus-candidates": event(GOOD[0]) + event(GOOD[1]) + event(chunk(" a time.", 3, finish="STOP", total=99)),
    # candidatesTokenCount going backwards.
    "candidates-count-decreasing": event(chunk("Once", 2)) + event(chunk(" upon", 1)) + event(chunk(".", 3, finish="STOP")),
    # no usageMetadata on a chunk.
    "missing-usage": event({k: v for k, v in GOOD[0].items() if k != "usageMetadata"}) + event(GOOD[1]) + event(GOOD[2]),
    # a single event holding the whole reply.
    "single-chunk": event(chunk("Once upon a time.", 3, finish="STOP")),
    # a chunk with no text part.
    "part-without-text": event(GOOD[0]) + event({**GOOD[1], "candidates": [{"content": {"role": "model", "parts": [{}]}, "index": 0}]}) + event(GOOD[2]),
    # an error object in the middle of a 200 stream.
    "error-mid-stream": event(GOOD[0]) + event({"error": {"code": 500, "message": "boom", "status": "INTERNAL"}}),
}


class FakeGemini(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):  # noqa: N802 (http.server's naming)
        self.rfile.read(int(self.headers.get("content-length") or 0))
        self.server.paths.append(self.path)
        payload = self.server.stream_body.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):  # keep pytest's output clean
        pass


@pytest.fixture(scope="module")
def fake_server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), FakeGemini)
    httpd.daemon_threads = True
    httpd.stream_body = ""
    httpd.paths = []
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield httpd
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def fake_client(httpd) -> genai.Client:
    host, port = httpd.server_address[:2]
    return genai.Client(api_key="fake", http_options=types.HttpOptions(base_url=f"http://{host}:{port}", api_version="v1beta", timeout=10_000))


def stream_sync(httpd, name: str):
    httpd.stream_body = STREAMS[name]
    httpd.paths.clear()
    client = fake_client(httpd)
    try:
        return check_stream(list(client.models.generate_content_stream(model=MODEL_ID, contents="hi")))
    finally:
        client.close()


async def stream_aio(httpd, name: str):
    httpd.stream_body = STREAMS[name]
    httpd.paths.clear()
    client = fake_client(httpd)
    try:
        chunks = [c async for c in await client.aio.models.generate_content_stream(model=MODEL_ID, contents="hi")]
        return check_stream(chunks)
    finally:
        await client.aio.aclose()


# What rejects each broken stream with google-genai 3.6.1: the SDK or check_stream().
REJECTED_BY = {
    "comment-line": errors.UnknownApiResponseError,
    "data-without-space": errors.UnknownApiResponseError,
    "no-finish-reason": AssertionError,
    "early-finish-reason": AssertionError,
    "total-not-prompt-plus-candidates": AssertionError,
    "candidates-count-decreasing": AssertionError,
    "missing-usage": AssertionError,
    "single-chunk": AssertionError,
    "part-without-text": AssertionError,
    "error-mid-stream": errors.ServerError,
}


def test_control_well_formed_stream_passes(fake_server):
    summary = stream_sync(fake_server, "well-formed")
    assert summary.text == "Once upon a time."
    assert summary.total_tokens == 8
    assert fake_server.paths == [f"/v1beta/models/{MODEL_ID}:streamGenerateContent?alt=sse"]


async def test_control_well_formed_stream_passes_aio(fake_server):
    summary = await stream_aio(fake_server, "well-formed")
    assert summary.text == "Once upon a time."


@pytest.mark.parametrize("name", REJECTED_BY)
def test_broken_stream_is_rejected(fake_server, name):
    with pytest.raises(REJECTED_BY[name]):
        stream_sync(fake_server, name)


@pytest.mark.parametrize("name", ["comment-line", "no-finish-reason", "total-not-prompt-plus-candidates"])
async def test_broken_stream_is_rejected_aio(fake_server, name):
    with pytest.raises(REJECTED_BY[name]):
        await stream_aio(fake_server, name)

"""The Files API and media parts through google-genai: client.files.upload/get/list/download/delete,
and uploaded or inline parts reaching an OpenAI-compatible upstream as OpenAI content parts.

The upstream is a small recording engine in this file: it keeps each chat-completions body it gets
and answers "seen", so the test sees exactly which bytes arrived in which content part.
"""

from __future__ import annotations

import base64
import hashlib
import json
import struct
import tempfile
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from google.genai import errors, types

from conftest import models_dir, start_genai_local, stop_genai_local


def make_png(width: int = 3, height: int = 2) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + bytes([10, 200, 90]) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def make_wav(samples: int = 4000, rate: int = 8000) -> bytes:
    data = b"".join(struct.pack("<h", (i * 97) % 20000 - 10000) for i in range(samples))
    return b"RIFF" + struct.pack("<I", 36 + len(data)) + b"WAVEfmt " + struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16) + b"data" + struct.pack("<I", len(data)) + data


def make_pdf() -> bytes:
    stream = b"BT /F1 12 Tf 20 50 Td (python pdf) Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 100] /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
    ]
    out, offsets = b"%PDF-1.4\n", []
    for i, body in enumerate(objects):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % (i + 1) + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1) + b"".join(b"%010d 00000 n \n" % o for o in offsets)
    return out + b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)


class Recorder(BaseHTTPRequestHandler):
    requests: list[dict] = []

    def log_message(self, *args) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        body = json.dumps({"object": "list", "data": []}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        length = int(self.headers["content-length"])
        Recorder.requests.append(json.loads(self.rfile.read(length)))
        # Usage on every chunk (vLLM's continuous usage stats): 300 prompt tokens, media included.
        usage = {"prompt_tokens": 300, "completion_tokens": 1}
        chunks = [
            {"choices": [{"index": 0, "delta": {"role": "assistant", "content": "seen"}, "finish_reason": None}], "usage": usage},
            {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}], "usage": usage},
        ]
        body = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks).encode() + b"data: [DONE]\n\n"
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def media_server():
    upstream = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    with tempfile.TemporaryDirectory(prefix="genai-local-py-files-") as work:
        srv = start_genai_local([
            "--models-dir", str(models_dir()), "--threads", "1",
            "--model", f"stories-260k={models_dir() / 'stories260K.gguf'}",
            "--upstream", f"vision=openai:http://127.0.0.1:{upstream.server_port}/v1,model=vision-model,input=image+audio+pdf",
            "--data-dir", str(Path(work) / "data"),
        ])
        try:
            yield srv, Path(work)
        finally:
            stop_genai_local(srv)
            upstream.shutdown()


def sha256_b64(data: bytes) -> str:
    # Google's encoding: base64 of the hex digest (googleapis/js-genai#381 shows a real one).
    return base64.b64encode(hashlib.sha256(data).hexdigest().encode()).decode()


def test_upload_get_list_download_delete(media_server):
    srv, work = media_server
    client = srv.client()
    # Python's mimetypes names WAV audio/x-wav on some systems.
    blobs = {"a.png": (make_png(), ("image/png",)), "b.wav": (make_wav(), ("audio/wav", "audio/x-wav")), "c.pdf": (make_pdf(), ("application/pdf",))}
    uploaded = {}
    for name, (data, mime) in blobs.items():
        (work / name).write_bytes(data)
        file = client.files.upload(file=str(work / name), config={"display_name": name})
        assert file.name.startswith("files/")
        assert file.mime_type in mime
        assert file.size_bytes == len(data)
        assert file.sha256_hash == sha256_b64(data)
        assert file.state == types.FileState.ACTIVE
        assert file.source == types.FileSource.UPLOADED
        assert file.uri in (f"{srv.url}/v1/{file.name}", f"{srv.url}/v1beta/{file.name}")  # the client's API version
        assert (file.expiration_time - file.create_time).total_seconds() == 48 * 3600
        assert file.display_name == name
        uploaded[name] = file

    assert client.files.get(name=uploaded["a.png"].name).sha256_hash == uploaded["a.png"].sha256_hash
    listed = {f.name for f in client.files.list(config={"page_size": 2})}
    assert listed == {f.name for f in uploaded.values()}
    assert client.files.download(file=uploaded["b.wav"].name) == blobs["b.wav"][0]
    # As at Google, an uploaded File has no download_uri (only generated files do), so the SDK
    # refuses to download it as a File object; by name it is served all the same.
    assert uploaded["c.pdf"].download_uri is None
    with pytest.raises(ValueError, match="uploaded files can't be downloaded"):
        client.files.download(file=uploaded["c.pdf"])
    assert client.files.download(file=uploaded["c.pdf"].name) == blobs["c.pdf"][0]

    client.files.delete(name=uploaded["c.pdf"].name)
    with pytest.raises(errors.ClientError) as caught:
        client.files.get(name=uploaded["c.pdf"].name)
    # Google's answer for a file that is not there: 403, in these words.
    assert caught.value.code == 403
    assert caught.value.status == "PERMISSION_DENIED"
    assert f"You do not have permission to access the File {uploaded['c.pdf'].name[6:]} or it may not exist." in caught.value.message


def test_uploaded_and_inline_parts_reach_the_upstream_in_order(media_server):
    srv, work = media_server
    client = srv.client()
    png, wav = make_png(5, 5), make_wav(800)
    (work / "x.png").write_bytes(png)
    file = client.files.upload(file=str(work / "x.png"))
    Recorder.requests.clear()
    text = "".join(
        chunk.text or ""
        for chunk in client.models.generate_content_stream(
            model="vision",
            contents=[
                types.Part.from_uri(file_uri=file.uri, mime_type=file.mime_type),
                "What do you hear?",
                types.Part.from_bytes(data=wav, mime_type="audio/wav"),
            ],
        )
    )
    assert text == "seen"
    content = Recorder.requests[0]["messages"][-1]["content"]
    assert content == [
        {"type": "image_url", "image_url": {"url": "data:image/png;base64," + base64.b64encode(png).decode()}},
        {"type": "text", "text": "What do you hear?"},
        {"type": "input_audio", "input_audio": {"data": base64.b64encode(wav).decode(), "format": "wav"}},
    ]


def details(usage: types.GenerateContentResponseUsageMetadata | None) -> list[tuple[str, int]]:
    return [(d.modality.value, d.token_count) for d in (usage.prompt_tokens_details or [])] if usage else []


def test_usage_splits_the_prompt_count_per_modality(media_server):
    srv, work = media_server
    client = srv.client()
    wav = make_wav(8000)  # 1 s at 8 kHz: 32 tokens at 32 a second
    (work / "one-second.wav").write_bytes(wav)
    file = client.files.upload(file=str(work / "one-second.wav"), config={"mime_type": "audio/wav"})
    contents = ["Look and listen:", types.Part.from_bytes(data=make_png(), mime_type="image/png"), file]

    chunks = list(client.models.generate_content_stream(model="vision", contents=contents))
    assert len(chunks) > 1
    for chunk in chunks:
        assert chunk.usage_metadata.prompt_token_count == 300
        assert details(chunk.usage_metadata) == [("TEXT", 300 - 258 - 32), ("IMAGE", 258), ("AUDIO", 32)]

    whole = client.models.generate_content(model="vision", contents=contents)
    assert whole.usage_metadata.prompt_token_count == 300
    assert details(whole.usage_metadata) == [("TEXT", 300 - 258 - 32), ("IMAGE", 258), ("AUDIO", 32)]
    assert sum(count for _, count in details(whole.usage_metadata)) == whole.usage_metadata.prompt_token_count


def test_a_model_without_image_input_names_itself(media_server):
    srv, _ = media_server
    client = srv.client()
    with pytest.raises(errors.ClientError) as caught:
        client.models.generate_content(
            model="stories-260k", contents=[types.Part.from_bytes(data=make_png(), mime_type="image/png"), "What is it?"]
        )
    assert caught.value.code == 400
    assert "stories-260k" in caught.value.message and "image/png" in caught.value.message
    assert "contents[0].parts[0].inlineData" in caught.value.message

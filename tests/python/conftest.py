"""Fixtures for the google-genai (Python SDK) suite: one real genai-local server per session.

The server is the built CLI (dist/cli/main.js, so `npm run build` first) serving the small
real GGUF models from the shared models directory (GENAI_LOCAL_MODELS_DIR, or ../shared/models
beside the repository). It listens on a random port; the URL is parsed from its stdout.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from google import genai
from google.genai import types

REPO_ROOT = Path(__file__).resolve().parents[2]
MAIN_JS = REPO_ROOT / "dist" / "cli" / "main.js"
PACED_UPSTREAM = REPO_ROOT / "test" / "support" / "paced-upstream.ts"
TSX = REPO_ROOT / "node_modules" / ".bin" / "tsx"
# The paced engine's models (test/support/paced-upstream.ts): a 209-word story, one word per delta
# (every 15 ms here); ", then more" and "4" (then the end), a piece every 100 ms.
STORY_MODEL = "story"
# The tiny story continuer most tests use, and the real chat model (ChatML) for what only a chat model shows.
STORIES_MODEL_SPEC = "stories-260k=stories260K.gguf"
CHAT_MODEL = "smollm2-135m-instruct"
CHAT_MODEL_SPEC = f"{CHAT_MODEL}=SmolLM2-135M-Instruct.Q4_1.gguf"
COMMA_MODEL = "comma"
DIGIT_MODEL = "digit"
READY_TIMEOUT_S = 60
STOP_TIMEOUT_S = 20  # the server's default drain timeout is 10 s
LISTENING = re.compile(r"listening on (https?://\S+)")

# Every request the suite makes gives up after this long instead of hanging the run.
REQUEST_TIMEOUT_MS = 60_000


def models_dir() -> Path:
    configured = os.environ.get("GENAI_LOCAL_MODELS_DIR")
    return Path(configured) if configured else (REPO_ROOT.parent / "shared" / "models")


@dataclass
class Server:
    url: str
    api_key: str
    proc: subprocess.Popen
    stderr_path: Path
    stdout_lines: list[str] = field(default_factory=list)

    # ---- clients -------------------------------------------------------------------------
    def client(self, api_version: str | None = None, api_key: str | None = None) -> genai.Client:
        """A google-genai client made the quickstart's way, pointed at this server."""
        options = types.HttpOptions(base_url=self.url, timeout=REQUEST_TIMEOUT_MS)
        if api_version is not None:
            options.api_version = api_version
        return genai.Client(api_key=self.api_key if api_key is None else api_key, http_options=options)

    # ---- /metrics ------------------------------------------------------------------------
    def metrics_text(self) -> str:
        with urllib.request.urlopen(f"{self.url}/metrics", timeout=10) as response:
            return response.read().decode("utf-8")

    def metric(self, name: str, label_filter: str | None = None) -> float | None:
        """Sum of every series of `name` (optionally only series whose labels contain
        `label_filter`); None when the metric is not exposed at all."""
        total, seen = 0.0, False
        pattern = re.compile(rf"^{re.escape(name)}(\{{[^}}]*\}})?\s+(\S+)$", re.M)
        for match in pattern.finditer(self.metrics_text()):
            if label_filter is not None and label_filter not in (match.group(1) or ""):
                continue
            total += float(match.group(2))
            seen = True
        return total if seen else None

    def active_streams(self) -> float:
        value = self.metric("genai_local_active_streams")
        assert value is not None, "GET /metrics has no genai_local_active_streams gauge"
        return value

    def generated_tokens(self) -> float | None:
        return self.metric("genai_local_generated_tokens_total")

    def wait_active_streams(self, predicate, timeout_s: float) -> tuple[bool, float, float]:
        """Polls the gauge until predicate(value) holds; returns (held, value, seconds waited)."""
        start = time.monotonic()
        while True:
            value = self.active_streams()
            waited = time.monotonic() - start
            if predicate(value):
                return True, value, waited
            if waited >= timeout_s:
                return False, value, waited
            time.sleep(0.05)

    def wait_idle(self, timeout_s: float = 15) -> None:
        """Waits until no stream is generating (so one test's stream cannot disturb the next)."""
        held, value, _ = self.wait_active_streams(lambda v: v == 0, timeout_s)
        assert held, f"server still has {value} active streams after {timeout_s}s (left over from an earlier test?)"

    def stderr_tail(self, chars: int = 4000) -> str:
        try:
            return self.stderr_path.read_text(errors="replace")[-chars:]
        except OSError:
            return "(no stderr)"


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def _stop(proc: subprocess.Popen) -> list[str]:
    """SIGTERM, wait, SIGKILL the whole process group on timeout. Returns problems found."""
    problems: list[str] = []
    pgid = proc.pid  # start_new_session=True makes the server the leader of its own group
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            problems.append(f"server did not exit within {STOP_TIMEOUT_S}s of SIGTERM; killed")
            os.killpg(pgid, signal.SIGKILL)
            proc.wait(timeout=10)
    # Model runner child processes must go with the server.
    deadline = time.monotonic() + 5
    while _group_alive(pgid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if _group_alive(pgid):
        problems.append("processes of the server's group were still running 5s after it exited; killed")
        os.killpg(pgid, signal.SIGKILL)
    return problems


def start_genai_local(extra_args: list[str]) -> Server:
    """Starts the built CLI's `serve` on a random loopback port with a fresh API key and
    `extra_args` (models, upstreams, threads), and waits for the URL it prints; fails the test
    if it does not come up. Stop it with stop_genai_local."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not on PATH")
    if not MAIN_JS.exists():
        pytest.fail(f"{MAIN_JS} is missing: build the server first (npm run build)")

    api_key = "genai-local-test-" + secrets.token_hex(8)
    stderr_file = tempfile.NamedTemporaryFile(prefix="genai-local-server-", suffix=".stderr", delete=False)
    stderr_path = Path(stderr_file.name)
    command = [
        node, str(MAIN_JS), "serve",
        "--host", "127.0.0.1", "--port", "0",
        "--api-key", api_key,
        *extra_args,
    ]
    proc = subprocess.Popen(
        command,
        cwd=REPO_ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=stderr_file,
        text=True,
        start_new_session=True,
    )
    stderr_file.close()

    lines: list[str] = []
    found: dict[str, str] = {}
    ready = threading.Event()

    def read_stdout() -> None:  # also keeps draining stdout so the server never blocks on it
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line.rstrip("\n"))
            match = LISTENING.search(line)
            if match and not ready.is_set():
                found["url"] = match.group(1).rstrip("/")
                ready.set()
        ready.set()  # stdout closed: the server exited

    threading.Thread(target=read_stdout, name="genai-local-stdout", daemon=True).start()

    start = time.monotonic()
    while not ready.wait(0.2) and time.monotonic() - start < READY_TIMEOUT_S:
        pass
    if "url" not in found:
        rc = proc.poll()
        _stop(proc)
        stderr = stderr_path.read_text(errors="replace")[-6000:]
        stderr_path.unlink(missing_ok=True)
        pytest.fail(
            f"genai-local did not print 'listening on http://...' within {READY_TIMEOUT_S}s "
            f"(exit code {rc}).\ncommand: {' '.join(command)}\nstdout:\n" + "\n".join(lines)
            + f"\nstderr:\n{stderr}",
            pytrace=False,
        )

    return Server(url=found["url"], api_key=api_key, proc=proc, stderr_path=stderr_path, stdout_lines=lines)


def stop_genai_local(srv: Server) -> None:
    """SIGTERM (then SIGKILL) the server and its runners; fails the test if it did not stop
    cleanly (late exit, leftover processes, or an exit code other than 0)."""
    problems = _stop(srv.proc)
    rc = srv.proc.returncode
    tail = srv.stderr_tail()
    srv.stderr_path.unlink(missing_ok=True)
    if rc != 0:
        problems.append(f"server exited with code {rc} after SIGTERM (expected 0)")
    if problems:
        pytest.fail("stopping genai-local: " + "; ".join(problems) + f"\nstderr tail:\n{tail}", pytrace=False)


@contextlib.contextmanager
def serving(*args: str):
    """genai-local on the shared models (one thread) with these extra arguments, stopped afterwards."""
    if not models_dir().is_dir():
        pytest.fail(f"models dir {models_dir()} does not exist (set GENAI_LOCAL_MODELS_DIR)")
    srv = start_genai_local(["--models-dir", str(models_dir()), "--threads", "1", *args])
    try:
        yield srv
    finally:
        stop_genai_local(srv)


@contextlib.contextmanager
def fake_engine(script: Path, *args: str):
    """A test engine (a tsx script that prints its base URL and stops when its stdin closes)."""
    proc = subprocess.Popen([str(TSX), str(script), *args], cwd=REPO_ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://"), f"{script.name} printed {url!r}"
        yield url
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="session")
def server():
    with serving("--model", STORIES_MODEL_SPEC) as srv:
        yield srv


@pytest.fixture
def client(server):
    """A sync google-genai client (its .aio side too) for one test, closed afterwards."""
    c = server.client()
    try:
        yield c
    finally:
        c.close()


@pytest.fixture(scope="session")
def paced_upstream():
    """The paced OpenAI-compatible engine's base URL (one piece every 15 ms); it stops when its
    stdin closes."""
    with fake_engine(PACED_UPSTREAM, "15") as url:
        yield url


@pytest.fixture(scope="session")
def paced_server(paced_upstream):
    """The chat model (the default, so every gemini-* id) and the paced engine's models behind one genai-local."""
    upstreams = [arg for model in (STORY_MODEL, COMMA_MODEL, DIGIT_MODEL) for arg in ("--upstream", f"{model}=openai:{paced_upstream},model={model}")]
    with serving("--model", CHAT_MODEL_SPEC, *upstreams) as srv:
        yield srv


@pytest.fixture(scope="session")
def chat_server():
    """genai-local serving the real chat model (SmolLM2-135M-Instruct, ChatML) as its default model."""
    with serving("--model", CHAT_MODEL_SPEC) as srv:
        yield srv


@pytest.fixture
def chat_client(chat_server):
    """A google-genai client pointed at the chat-model server, closed afterwards."""
    c = chat_server.client()
    try:
        yield c
    finally:
        c.close()

"""examples/python/quickstart.py, run as a user would, against a real genai-local server.

It runs twice: on the default local model (the real chat model, SmolLM2-135M-Instruct, writing
three stories that end by themselves), and on a
paced OpenAI-compatible engine behind genai-local (test/support/paced-upstream.ts, one word every
15 ms: about 3 s a story on any machine), where the ticker must tick while the story streams.
"""

from __future__ import annotations

import os
import subprocess
import sys

from conftest import REPO_ROOT, STORY_MODEL

QUICKSTART = REPO_ROOT / "examples" / "python" / "quickstart.py"
SEPARATOR = "_" * 80
TICK = "==========not blocked!=========="


def run_quickstart(server, *model: str) -> list[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("GENAI_LOCAL_URL", "GENAI_LOCAL_API_KEY", "GOOGLE_API_KEY", "MODEL_ID")}
    result = subprocess.run(
        [sys.executable, str(QUICKSTART), "--url", server.url, "--api-key", server.api_key, *model],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, f"quickstart exited {result.returncode}\nstderr:\n{result.stderr[-4000:]}"
    return result.stdout.splitlines()


def story_line_numbers(lines: list[str]) -> list[int]:
    return [i for i, line in enumerate(lines) if line.strip() and line not in (SEPARATOR, TICK)]


def test_quickstart_runs_all_three_steps_on_the_local_model(paced_server):
    lines = run_quickstart(paced_server)
    # Each printed chunk is followed by the separator: many chunks over the three streams.
    assert lines.count(SEPARATOR) >= 30, f"only {lines.count(SEPARATOR)} separators"
    story_lines = story_line_numbers(lines)
    assert story_lines, "no story text in the output"
    # Step 3 started (its ticker prints once at once) after steps 1 and 2 streamed, and its story
    # streamed after that first tick.
    ticks = [i for i, line in enumerate(lines) if line == TICK]
    assert ticks, "step 3's ticker never printed"
    assert lines[: ticks[0]].count(SEPARATOR) >= 20
    assert lines[ticks[0] + 1 :].count(SEPARATOR) >= 10, "step 3's story did not stream after its first tick"


def test_quickstart_ticker_is_not_blocked_while_a_story_streams(paced_server):
    lines = run_quickstart(paced_server, "--model", STORY_MODEL)
    story_lines = story_line_numbers(lines)
    assert story_lines, "no story text in the output"
    # Step 3: the ticker printed while the story was streaming: at least two ticks have story text
    # both before and after them (steps 1 and 2 come before the first).
    ticks = [i for i, line in enumerate(lines) if line == TICK]
    assert len(ticks) >= 3, f"{len(ticks)} '{TICK}' lines for a story that streams for about 3 s"
    interleaved = [t for t in ticks if any(s < t for s in story_lines) and any(s > t for s in story_lines)]
    assert len(interleaved) >= 3, f"ticks at lines {ticks} are not interleaved with the story (story lines {story_lines[0]}..{story_lines[-1]})"
    # Between consecutive ticks, a second's worth of chunks (about 60 at one word per 15 ms).
    for a, b in zip(ticks, ticks[1:]):
        if b < story_lines[-1]:
            assert lines[a:b].count(SEPARATOR) > 10, f"only {lines[a:b].count(SEPARATOR)} chunks between ticks at lines {a} and {b}"
    # Steps 1 and 2 came before step 3: plenty of streamed text before the first tick.
    assert lines[: ticks[0]].count(SEPARATOR) >= 2 * 150

"""examples/python/quickstart.py, run as a user would, against the session's server."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]

QUICKSTART = REPO_ROOT / "examples" / "python" / "quickstart.py"
SEPARATOR = "_" * 80
TICK = "==========not blocked!=========="


def test_quickstart_runs_all_three_steps(server):
    env = {k: v for k, v in os.environ.items() if k not in ("GENAI_LOCAL_URL", "GENAI_LOCAL_API_KEY", "GOOGLE_API_KEY", "MODEL_ID")}
    result = subprocess.run(
        [sys.executable, str(QUICKSTART), "--url", server.url, "--api-key", server.api_key],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, f"quickstart exited {result.returncode}\nstderr:\n{result.stderr[-4000:]}"
    lines = result.stdout.splitlines()

    # Each printed chunk is followed by the separator: many chunks over the three streams.
    assert lines.count(SEPARATOR) >= 30, f"only {lines.count(SEPARATOR)} separators"
    story_lines = [i for i, line in enumerate(lines) if line.strip() and line not in (SEPARATOR, TICK)]
    assert story_lines, "no story text in the output"

    # Step 3: the ticker printed while the story was streaming: ticks after the first have
    # story text both before and after them (the first tick may come before any chunk).
    ticks = [i for i, line in enumerate(lines) if line == TICK]
    assert len(ticks) >= 2, f"{len(ticks)} '{TICK}' lines: the ticker did not run alongside the stream"
    interleaved = [t for t in ticks if any(s < t for s in story_lines) and any(s > t for s in story_lines)]
    assert len(interleaved) >= 2, f"ticks at lines {ticks} are not interleaved with the story (story lines {story_lines[0]}..{story_lines[-1]})"
    first_tick = ticks[0]
    # Steps 1 and 2 came before step 3: plenty of streamed text before the first tick.
    assert lines[:first_tick].count(SEPARATOR) >= 20

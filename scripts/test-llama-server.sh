#!/usr/bin/env bash
# The engine-dependent suites again, on the llama-server engine (what `--engine auto` serves with once
# a llama-server binary is there): the SDK judges, API fidelity and crash isolation. Runs when
# GENAI_LOCAL_TEST_LLAMA_SERVER names a binary (CI builds one); elsewhere it says so and passes.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1

if [ -z "${GENAI_LOCAL_TEST_LLAMA_SERVER:-}" ]; then
  echo "test-llama-server: GENAI_LOCAL_TEST_LLAMA_SERVER is not set; the suites did not run on the llama-server engine (see docs/engines.md)" >&2
  exit 0
fi
GENAI_LOCAL_TEST_ENGINE=llama-server exec npx vitest run \
  test/fidelity test/e2e/sdk.test.ts test/e2e/chat-model.test.ts test/e2e/isolation.test.ts test/openai/openai-sdk.test.ts "$@"

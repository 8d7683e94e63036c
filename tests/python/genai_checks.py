"""Checks shared by the tests: what a well-formed Gemini stream looks like to the Python SDK.

test_wire_guard.py feeds broken streams from a fake server through these same checks to show
that they (or the SDK itself) reject them, so the suite goes red if genai-local breaks the wire.
"""

from __future__ import annotations

from dataclasses import dataclass

from google.genai import types

MODEL_ID = "gemini-2.5-flash"
FINISHED = (types.FinishReason.STOP, types.FinishReason.MAX_TOKENS)


@dataclass
class StreamSummary:
    text: str
    chunks: int
    finish_reason: types.FinishReason
    prompt_tokens: int
    candidates_tokens: int
    total_tokens: int


def check_usage(usage: types.GenerateContentResponseUsageMetadata | None, where: str, prompt_counted: bool = True) -> None:
    """prompt_counted=False: the prompt count may be absent (an upstream engine that reports no
    usage in its stream), never 0; everything else is still checked."""
    assert usage is not None, f"{where}: no usageMetadata"
    if prompt_counted or usage.prompt_token_count is not None:
        assert usage.prompt_token_count is not None and usage.prompt_token_count > 0, (
            f"{where}: promptTokenCount is {usage.prompt_token_count!r}"
        )
    assert usage.candidates_token_count is not None, f"{where}: no candidatesTokenCount"
    assert usage.total_token_count is not None, f"{where}: no totalTokenCount"
    expected_total = (usage.prompt_token_count or 0) + usage.candidates_token_count + (usage.thoughts_token_count or 0)
    assert usage.total_token_count == expected_total, (
        f"{where}: totalTokenCount {usage.total_token_count} != promptTokenCount "
        f"{usage.prompt_token_count} + candidatesTokenCount {usage.candidates_token_count}"
    )


def chunk_text(chunk: types.GenerateContentResponse, where: str) -> str:
    """The text of one response, read from its parts (and checked against the SDK's .text)."""
    assert chunk.candidates, f"{where}: no candidates"
    candidate = chunk.candidates[0]
    assert candidate.content is not None and candidate.content.parts, f"{where}: candidate has no content parts"
    assert candidate.content.role == "model", f"{where}: content role is {candidate.content.role!r}, not 'model'"
    for i, part in enumerate(candidate.content.parts):
        assert part.text is not None, f"{where}: part {i} is not a text part: {part!r}"
    text = "".join(part.text for part in candidate.content.parts)
    assert chunk.text == text, f"{where}: SDK .text {chunk.text!r} differs from the parts' text {text!r}"
    return text


def check_stream(chunks: list[types.GenerateContentResponse], prompt_counted: bool = True) -> StreamSummary:
    """Asserts everything a client may rely on in a streamed generateContent reply:
    at least two chunks, text parts in every chunk, a finishReason (STOP or MAX_TOKENS) on the
    last chunk and on no other, usageMetadata on every chunk with a constant prompt count,
    total = prompt + candidates, candidates non-decreasing and > 0 at the end, one responseId.
    Returns the joined text and the final counts."""
    assert len(chunks) >= 2, f"expected a stream of at least 2 chunks, got {len(chunks)}"
    texts: list[str] = []
    previous_candidates = 0
    prompt_tokens = None
    response_ids = set()
    for i, chunk in enumerate(chunks):
        last = i == len(chunks) - 1
        where = f"chunk {i + 1}/{len(chunks)}"
        texts.append(chunk_text(chunk, where))
        finish_reason = chunk.candidates[0].finish_reason
        if last:
            assert finish_reason in FINISHED, f"{where} (the last) has finishReason {finish_reason!r}"
        else:
            assert finish_reason is None, f"{where} has finishReason {finish_reason!r} before the last chunk"
        usage = chunk.usage_metadata
        check_usage(usage, where, prompt_counted)
        if prompt_tokens is None:
            prompt_tokens = usage.prompt_token_count
        assert usage.prompt_token_count == prompt_tokens, (
            f"{where}: promptTokenCount changed from {prompt_tokens} to {usage.prompt_token_count}"
        )
        assert usage.candidates_token_count >= previous_candidates, (
            f"{where}: candidatesTokenCount went down from {previous_candidates} to {usage.candidates_token_count}"
        )
        previous_candidates = usage.candidates_token_count
        if chunk.response_id is not None:
            response_ids.add(chunk.response_id)
    assert previous_candidates > 0, "the last chunk reports candidatesTokenCount 0"
    assert len(response_ids) <= 1, f"chunks of one stream carry different responseIds: {sorted(response_ids)}"
    whole = "".join(texts)
    assert whole.strip(), "the streamed reply is empty"
    final = chunks[-1].usage_metadata
    return StreamSummary(
        text=whole,
        chunks=len(chunks),
        finish_reason=chunks[-1].candidates[0].finish_reason,
        prompt_tokens=final.prompt_token_count,
        candidates_tokens=final.candidates_token_count,
        total_tokens=final.total_token_count,
    )


def check_response(response: types.GenerateContentResponse, prompt_counted: bool = True) -> str:
    """Asserts a whole (non-streamed) generateContent reply; returns its text."""
    text = chunk_text(response, "response")
    assert text.strip(), "the reply is empty"
    finish_reason = response.candidates[0].finish_reason
    assert finish_reason in FINISHED, f"finishReason is {finish_reason!r}"
    check_usage(response.usage_metadata, "response", prompt_counted)
    assert response.usage_metadata.candidates_token_count > 0, "candidatesTokenCount is 0"
    return text

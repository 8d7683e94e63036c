"""chats.create(...).send_message_stream with history, models.list() and models.get()."""

from __future__ import annotations

import pytest
from google.genai import types

from conftest import COMMA_MODEL, DIGIT_MODEL
from genai_checks import MODEL_ID, check_stream


def test_chat_send_message_stream_carries_history(client):
    chat = client.chats.create(model=MODEL_ID, config=types.GenerateContentConfig(max_output_tokens=24))

    first = check_stream(list(chat.send_message_stream("Tell me a story about a little red bird.")))
    second = check_stream(list(chat.send_message_stream("What did the bird do next?")))

    assert second.prompt_tokens > first.prompt_tokens, "the second turn's prompt does not include the history"
    assert second.prompt_tokens > first.prompt_tokens + first.candidates_tokens // 2, (
        f"second prompt ({second.prompt_tokens} tokens) is too small to hold turn 1 "
        f"({first.prompt_tokens} prompt + {first.candidates_tokens} reply tokens)"
    )

    # The SDK records a streamed reply as one history entry per chunk, so the history is
    # user, model x N, user, model x M: four turns once consecutive entries of a role are joined.
    history = chat.get_history()
    turns: list[tuple[str, str]] = []
    for content in history:
        text = "".join(part.text or "" for part in content.parts)
        if turns and turns[-1][0] == content.role:
            turns[-1] = (content.role, turns[-1][1] + text)
        else:
            turns.append((content.role, text))
    assert [role for role, _ in turns] == ["user", "model", "user", "model"]
    assert turns[1][1] == first.text
    assert turns[3][1] == second.text

    # The second turn's prompt is exactly the history up to and including the second question.
    second_question = max(i for i, content in enumerate(history) if content.role == "user")
    counted = client.models.count_tokens(model=MODEL_ID, contents=history[: second_question + 1])
    assert counted.total_tokens == second.prompt_tokens


def test_a_one_character_first_piece_leaves_at_once(paced_server):
    """A first piece of one character is a chunk of its own, sent before the model's next piece
    (at least 100 ms later); after it the last character is held again, for finishReason."""
    client = paced_server.client()
    chunks = list(client.models.generate_content_stream(model=COMMA_MODEL, contents="Go on"))
    client.close()
    assert [c.text for c in chunks][0] == ","
    assert "".join(c.text or "" for c in chunks) == ", then more"
    assert chunks[-1].text == "e" and chunks[-1].candidates[0].finish_reason == types.FinishReason.STOP


def test_chat_goes_on_after_a_reply_that_ends_with_an_empty_text_part(paced_server):
    """A reply of one one-character piece ends with a chunk holding an empty text part and the
    finishReason (as Google's streams may end); google-genai keeps the turn and the server takes
    it back in the next request."""
    client = paced_server.client()
    chat = client.chats.create(model=DIGIT_MODEL)
    chunks = list(chat.send_message_stream("2 + 2?"))
    assert [[p.text for p in c.candidates[0].content.parts] for c in chunks] == [["4"], [""]]
    assert [c.candidates[0].finish_reason for c in chunks] == [None, types.FinishReason.STOP]
    history = chat.get_history(curated=True)
    assert [content.role for content in history] == ["user", "model", "model"]
    again = chat.send_message("And 2 + 3?")
    assert again.text == "4"
    assert [content.role for content in chat.get_history(curated=True)] == ["user", "model", "model", "user", "model"]
    client.close()


def test_models_list(client):
    models = {model.name: model for model in client.models.list()}
    assert "models/stories-260k" in models, f"models.list() returned {sorted(models)}"
    model = models["models/stories-260k"]
    assert model.display_name
    assert model.input_token_limit and model.input_token_limit > 0
    assert model.output_token_limit and model.output_token_limit > 0
    assert {"generateContent", "streamGenerateContent", "countTokens"} <= set(model.supported_actions or [])


def test_models_list_v1(server):
    client = server.client(api_version="v1")
    assert "models/stories-260k" in [model.name for model in client.models.list()]
    client.close()


@pytest.mark.parametrize("model_id", ["gemini-2.5-flash", "gemini-3-flash-preview", "stories-260k"])
def test_models_get(client, model_id):
    model = client.models.get(model=model_id)
    assert model.name in (f"models/{model_id}", "models/stories-260k"), model.name
    assert model.input_token_limit and model.input_token_limit > 0
    assert model.output_token_limit and model.output_token_limit > 0
    assert "streamGenerateContent" in (model.supported_actions or [])


async def test_aio_models_list_and_get(client):
    names = [model.name async for model in await client.aio.models.list()]
    assert "models/stories-260k" in names
    model = await client.aio.models.get(model="gemini-2.5-flash")
    assert model.name
    await client.aio.aclose()

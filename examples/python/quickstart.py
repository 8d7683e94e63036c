"""Gemini API: Streaming Quickstart, run against genai-local.

This is Google's Streaming Quickstart (google-gemini/cookbook, quickstarts/Streaming.ipynb)
as a script. The only change is how the client is made: it points at a genai-local server
through `http_options=types.HttpOptions(base_url=URL)`.

    python3 -m venv .venv && .venv/bin/pip install -r tests/python/requirements.txt
    node dist/cli/main.js serve --api-key my-key &
    .venv/bin/python examples/python/quickstart.py --api-key my-key

Options (each also read from the environment):
    --url      GENAI_LOCAL_URL                          default http://127.0.0.1:8080
    --api-key  GENAI_LOCAL_API_KEY, then GOOGLE_API_KEY  default "genai-local"
    --model    MODEL_ID                                 default gemini-2.5-flash
"""

import argparse
import asyncio
import os

from google import genai
from google.genai import types

parser = argparse.ArgumentParser(description="Google's Gemini Streaming Quickstart against genai-local")
parser.add_argument("--url", default=os.environ.get("GENAI_LOCAL_URL", "http://127.0.0.1:8080"))
parser.add_argument(
    "--api-key",
    default=os.environ.get("GENAI_LOCAL_API_KEY") or os.environ.get("GOOGLE_API_KEY") or "genai-local",
)
parser.add_argument("--model", default=os.environ.get("MODEL_ID", "gemini-2.5-flash"))
args = parser.parse_args()

MODEL_ID = args.model

# The one change from the quickstart: talk to genai-local instead of generativelanguage.googleapis.com.
client = genai.Client(api_key=args.api_key, http_options=types.HttpOptions(base_url=args.url))


# Handle streaming responses
# To stream responses, use `Models.generate_content_stream`.
for chunk in client.models.generate_content_stream(
    model=MODEL_ID,
    contents="Tell me a story in 300 words."
):
    print(chunk.text)
    print("_" * 80)


# Handle streaming responses asynchronously
# To stream responses asynchronously, use `AsyncModels.generate_content_stream(...)`.
async def stream_async():
    async for chunk in await client.aio.models.generate_content_stream(
        model=MODEL_ID,
        contents="Write a cute story about cats."):
        if chunk.text:
            print(chunk.text)
        print("_" * 80)

asyncio.run(stream_async())


# Here's a simple example of two asynchronous functions running simultaneously.
async def get_response():
    async for chunk in await client.aio.models.generate_content_stream(
        model=MODEL_ID,
        contents='Tell me a story in 500 words.'
    ):
        if chunk.text:
            print(chunk.text)
        print("_" * 80)

async def something_else(story):
    # The quickstart ticks five times; this ticker runs until the story has finished.
    while not story.done():
        print("==========not blocked!==========")
        await asyncio.sleep(1)

async def async_demo():
    # Create tasks for concurrent execution
    task1 = asyncio.create_task(get_response())
    task2 = asyncio.create_task(something_else(task1))
    # Wait for both tasks to complete
    await asyncio.gather(task1, task2)

asyncio.run(async_demo())

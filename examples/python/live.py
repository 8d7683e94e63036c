"""Gemini Live API (text) against genai-local: a chat over one WebSocket session.

After Google's "Get started with the Live API" sample; the only change is how the client is
made. google-genai opens Live over wss:// whatever the base URL says, so the server must speak
TLS, and Python must trust its certificate (see docs/live-api.md):

    openssl req -x509 -newkey rsa:2048 -nodes -days 365 -subj /CN=127.0.0.1 \
        -addext subjectAltName=IP:127.0.0.1 -keyout key.pem -out cert.pem
    node dist/cli/main.js serve --tls-cert cert.pem --tls-key key.pem --api-key my-key &
    SSL_CERT_FILE=cert.pem .venv/bin/python examples/python/live.py --api-key my-key

Each piece of a reply is printed as it streams in, while a ticker keeps ticking beside it.

Options (each also read from the environment):
    --url      GENAI_LOCAL_URL                          default https://127.0.0.1:8080
    --api-key  GENAI_LOCAL_API_KEY, then GOOGLE_API_KEY  default "genai-local"
    --model    MODEL_ID                                 default gemini-2.5-flash
"""

import argparse
import asyncio
import os

from google import genai
from google.genai import types

parser = argparse.ArgumentParser(description="A Gemini Live text chat against genai-local")
parser.add_argument("--url", default=os.environ.get("GENAI_LOCAL_URL", "https://127.0.0.1:8080"))
parser.add_argument(
    "--api-key",
    default=os.environ.get("GENAI_LOCAL_API_KEY") or os.environ.get("GOOGLE_API_KEY") or "genai-local",
)
parser.add_argument("--model", default=os.environ.get("MODEL_ID", "gemini-2.5-flash"))
args = parser.parse_args()

# The one change from Google's sample: talk to genai-local instead of generativelanguage.googleapis.com.
client = genai.Client(api_key=args.api_key, http_options=types.HttpOptions(base_url=args.url))
model = args.model
config = {"response_modalities": ["TEXT"]}


async def chat():
    async with client.aio.live.connect(model=model, config=config) as session:
        for message in ["Hello, how are you? Tell me a short story about the sea.", "Now give that story a title."]:
            print(f"> {message}")
            await session.send_client_content(turns={"role": "user", "parts": [{"text": message}]}, turn_complete=True)
            async for response in session.receive():
                if response.text is not None:
                    print(response.text, end="", flush=True)
            print("\n" + "_" * 80)


async def something_else(conversation):
    while not conversation.done():
        await asyncio.sleep(0.25)
        if not conversation.done():
            print(" [tick] ", end="", flush=True)


async def main():
    conversation = asyncio.create_task(chat())
    await asyncio.gather(conversation, something_else(conversation))


asyncio.run(main())

"""AsyncBabyAPI: the same calls as coroutines, many at once, and an async stream."""

from __future__ import annotations

import asyncio

from babyapi import AsyncBabyAPI


async def main() -> None:
    # BABYAPI_API_KEY and BABYAPI_BASE_URL come from the environment.
    async with AsyncBabyAPI(default_model="mistral") as client:
        prompts = ["Name a calm colour.", "Name a calm animal.", "Name a calm place."]
        answers = await asyncio.gather(*(client.baby.infer(p) for p in prompts))
        for prompt, answer in zip(prompts, answers):
            print(f"{prompt} -> {answer['output']}")

        async with client.chat.completions.stream(
            model="mistral", messages=[{"role": "user", "content": "Say hello slowly."}]
        ) as stream:
            async for text in stream.text_deltas():
                print(text, end="", flush=True)
        print()


asyncio.run(main())

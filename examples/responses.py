"""The Responses API: create, a named-event stream, parse(), a stored conversation, a
background response waited for, and the tool loop, on the sync and async clients."""

from __future__ import annotations

import asyncio
from typing import TypedDict

from babyapi import AsyncBabyAPI, BabyAPI


class City(TypedDict):
    name: str
    population: int


def get_weather(city: str) -> dict:
    """Current weather in a city.

    Args:
        city: The city to look up.
    """
    return {"city": city, "temperature": 21}


# BABYAPI_API_KEY and BABYAPI_BASE_URL come from the environment.
with BabyAPI() as client:
    res = client.responses.create(
        model="mistral", instructions="Be brief.", input="What is a tide?", max_output_tokens=30
    )
    print("create:", res["status"], repr(res["output_text"][:40]), res["usage"]["total_tokens"])

    with client.responses.stream(model="mistral", input="Write a haiku.") as stream:
        kinds = [event.type for event in stream]
    print("stream events:", kinds[0], "...", kinds[-1], f"({len(kinds)} events)")

    parsed = client.responses.parse(
        model="mistral", input="Lisbon has 545000 people.", text_format=City
    )
    print("parse:", parsed.parsed)

    follow = client.responses.create(
        model="mistral", input="And Porto?", previous_response_id=res["id"]
    )
    print("previous_response_id:", follow["previous_response_id"] == res["id"])

    job = client.responses.create(model="mistral", input="A long task.", background=True)
    done = client.responses.wait(job, poll_interval_s=0.1)
    print("background:", job["status"], "->", done["status"])

    run = client.responses.run_tools(
        model="mistral", input="Use get_weather for Lisbon.", tools=[get_weather]
    )
    print("run_tools:", run.rounds, "rounds, continued by", run.continued_by)


async def main() -> None:
    async with AsyncBabyAPI() as client:
        parts = [
            text
            async for text in client.responses.stream(model="mistral", input="Hi").text_deltas()
        ]
        print("async stream:", len(parts), "text deltas")


asyncio.run(main())

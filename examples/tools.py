"""Tools: plain functions the model may call, run by run_tools for the sync and async clients."""

from __future__ import annotations

import asyncio
import json
from typing import Literal

from babyapi import AsyncBabyAPI, BabyAPI


def get_weather(city: str, unit: Literal["celsius", "fahrenheit"] = "celsius") -> dict:
    """Current weather in a city.

    Args:
        city: The city to look up, such as Paris.
        unit: Temperature unit.
    """
    return {"city": city, "temperature": 21 if unit == "celsius" else 70, "unit": unit}


def convert(amount: float, currency: Literal["EUR", "USD"]) -> float:
    """Convert an amount of euros into a currency."""
    return round(amount * (1.0 if currency == "EUR" else 1.1), 2)


async def fetch_price(item: str) -> float:
    """Price of an item in euros."""
    await asyncio.sleep(0)
    return 9.5


QUESTION = [{"role": "user", "content": "Use get_weather for Lisbon, then convert 12 EUR to USD."}]

# BABYAPI_API_KEY and BABYAPI_BASE_URL come from the environment.
with BabyAPI() as client:
    run = client.chat.completions.run_tools(
        model="mistral", messages=QUESTION, tools=[get_weather, convert]
    )
    for message in run.messages:
        if message["role"] == "assistant" and message.get("tool_calls"):
            for call in message["tool_calls"]:
                arguments = json.loads(call["function"]["arguments"])
                print(f"model called {call['function']['name']}({arguments})")
        elif message["role"] == "tool":
            print(f"tool answered {message['content']}")
    print(f"after {run.rounds} rounds: {run.text}")

    # A tool the model names wrongly, or bad arguments, are answered to the model, not raised.
    print("streamed:", end=" ")
    client.chat.completions.run_tools(
        model="mistral",
        messages=[{"role": "user", "content": "Use get_weather for Porto."}],
        tools=[get_weather],
        on_text=lambda text: print(text, end="", flush=True),
    )
    print()


async def main() -> None:
    # The calls of one round run concurrently; async tools and plain ones mix.
    async with AsyncBabyAPI() as client:
        run = await client.chat.completions.run_tools(
            model="mistral",
            messages=[
                {"role": "user", "content": "Use fetch_price for coffee and get_weather for Rome."}
            ],
            tools=[fetch_price, get_weather],
        )
        answers = [m["content"] for m in run.messages if m["role"] == "tool"]
        print(f"async: {len(answers)} tools answered at once: {answers}")


asyncio.run(main())

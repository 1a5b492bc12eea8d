"""Structured outputs: a dataclass, a TypedDict and a JSON Schema in; checked, typed values out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Literal, Optional, TypedDict

from babyapi import BabyAPI, StructuredOutputError


class Stop(TypedDict):
    city: str
    nights: int


@dataclass
class Trip:
    destination: str
    days: int
    season: Literal["spring", "summer", "autumn", "winter"]
    stops: List[Stop]
    budget_eur: Optional[float] = None


ASK = [{"role": "user", "content": "Plan a 6 day autumn trip to Lisbon and Porto, 3 nights each."}]

# BABYAPI_API_KEY and BABYAPI_BASE_URL come from the environment.
with BabyAPI(default_model="mistral") as client:
    trip = client.chat.completions.parse(model="mistral", messages=ASK, response_format=Trip).parsed
    print(f"trip: {trip.days} days in {trip.destination} ({trip.season})")
    for stop in trip.stops:
        print(f"  stop: {stop['city']} for {stop['nights']} nights")

    # Streaming: the JSON as it is written, then final() checks and parses it.
    stream = client.chat.completions.stream(model="mistral", messages=ASK, response_format=Trip)
    pieces = list(stream.text_deltas())
    print(f"streamed {len(pieces)} pieces; final: {stream.final().parsed.destination}")

    # A plain JSON Schema gives plain JSON.
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string"}, "rating": {"type": "integer", "maximum": 5}},
        "required": ["city", "rating"],
    }
    rated = client.chat.completions.parse(
        model="mistral",
        messages=[{"role": "user", "content": "Rate Porto out of 5: 4"}],
        response_format=schema,
    )
    print("json schema:", rated.parsed)

    # Too few tokens: the JSON is cut, and the error says so.
    try:
        client.chat.completions.parse(
            model="mistral", messages=ASK, response_format=Trip, max_tokens=8
        )
    except StructuredOutputError as err:
        print(f"cut: {err.code}: {err.raw!r}")

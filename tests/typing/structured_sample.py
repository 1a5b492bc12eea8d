"""Type-checker sample for parse(), typed streams and run_tools: checked by mypy and basedpyright."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, TypedDict

from pydantic import BaseModel
from typing_extensions import assert_type

from babyapi import AsyncBabyAPI, BabyAPI
from babyapi.structured import ParsedChatCompletion
from babyapi.tools import ToolRun
from babyapi.types import ChatCompletion


class Movie(TypedDict):
    title: str
    year: int


@dataclass
class Point:
    x: float
    y: float


class Person(BaseModel):
    name: str
    age: int


SCHEMA: dict[str, Any] = {"type": "object", "properties": {"ok": {"type": "boolean"}}}


def get_weather(city: str, unit: Literal["c", "f"] = "c") -> str:
    """Weather in a city."""
    return city


def sync_client(client: BabyAPI) -> None:
    """parse() returns the type given as response_format."""
    movie = client.chat.completions.parse(
        model="m", messages=[{"role": "user", "content": "Alien"}], response_format=Movie
    )
    assert_type(movie, ParsedChatCompletion[Movie])
    assert_type(movie.parsed, Movie)
    assert_type(movie.parsed["year"], int)
    assert_type(movie.completion, ChatCompletion)
    assert_type(movie.parsed_choices, list[Movie])

    point = client.chat.completions.parse(model="m", messages=[], response_format=Point)
    assert_type(point.parsed, Point)
    assert_type(point.parsed.x, float)

    person = client.chat.completions.parse(model="m", messages=[], response_format=Person)
    assert_type(person.parsed, Person)
    assert_type(person.parsed.age, int)

    plain = client.chat.completions.parse(model="m", messages=[], response_format=SCHEMA)
    assert_type(plain, ParsedChatCompletion[Any])

    stream = client.chat.completions.stream(model="m", messages=[], response_format=Point)
    for text in stream.text_deltas():
        assert_type(text, str)
    assert_type(stream.final().parsed, Point)

    # Without a typed response_format the stream's final() is still the completion.
    assert_type(client.chat.completions.stream(model="m", messages=[]).final(), ChatCompletion)

    routed = client.infer(messages=[{"role": "user", "content": "Alien"}], response_format=Movie)
    assert_type(routed.parsed, Movie)

    run = client.chat.completions.run_tools(model="m", messages=[], tools=[get_weather])
    assert_type(run, ToolRun)
    assert_type(run.text, str)
    assert_type(run.completion, ChatCompletion)


async def async_client(client: AsyncBabyAPI) -> None:
    """The async client types the same answers."""
    movie = await client.chat.completions.parse(model="m", messages=[], response_format=Movie)
    assert_type(movie.parsed, Movie)
    stream = client.chat.completions.stream(model="m", messages=[], response_format=Point)
    assert_type((await stream.final()).parsed, Point)
    routed = await client.infer(messages=[], response_format=Point)
    assert_type(routed.parsed, Point)
    run = await client.chat.completions.run_tools(model="m", messages=[], tools=[get_weather])
    assert_type(run, ToolRun)


def must_fail(client: BabyAPI) -> None:
    """Each line is an error both checkers must report; unused ignores fail the check."""
    movie = client.chat.completions.parse(model="m", messages=[], response_format=Movie)
    movie.parsed["rating"]  # type: ignore[typeddict-item]  # pyright: ignore[reportGeneralTypeIssues]
    point = client.chat.completions.parse(model="m", messages=[], response_format=Point)
    print(point.parsed.z)  # type: ignore[attr-defined]  # pyright: ignore[reportAttributeAccessIssue, reportUnknownMemberType, reportUnknownArgumentType]
    client.chat.completions.parse(model="m", messages=[])  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue]
    client.chat.completions.run_tools(model="m", messages=[])  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]

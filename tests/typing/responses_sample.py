"""Type-checker sample for the Responses API: checked by mypy and basedpyright, never run."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, TypedDict

from pydantic import BaseModel
from typing_extensions import assert_type

from babyapi import APIResponse, AsyncBabyAPI, AsyncStream, BabyAPI, SSEEvent, Stream
from babyapi.structured import ParsedResponse
from babyapi.tools import ResponseToolRun
from babyapi.types.responses import Response, ResponseStatus, ResponseStreamEvent


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


def get_weather(city: str) -> str:
    """Weather in a city."""
    return city


def sync_client(client: BabyAPI) -> None:
    """create, retrieve, cancel and wait return the response; parse() the type asked for."""
    res = client.responses.create(model="m", input="Hi", max_output_tokens=20)
    assert_type(res, Response)
    assert_type(res["output_text"], str)
    assert_type(res["status"], ResponseStatus)
    assert_type(client.responses.retrieve(res["id"]), Response)
    assert_type(client.responses.cancel(res), Response)
    assert_type(client.responses.wait(res, deadline_s=60.0), Response)
    assert_type(
        client.responses.create(
            model="m",
            input=[
                {"role": "user", "content": "Hi"},
                {"type": "function_call_output", "call_id": "c1", "output": "21"},
            ],
            previous_response_id="resp_1",
        ),
        Response,
    )

    movie = client.responses.parse(model="m", input="Alien", text_format=Movie)
    assert_type(movie, ParsedResponse[Movie])
    assert_type(movie.parsed, Movie)
    assert_type(movie.parsed["year"], int)
    assert_type(movie.response, Response)
    assert_type(movie.output_text, str)
    assert_type(movie.status, Optional[str])
    assert_type(client.responses.parse(model="m", input="x", text_format=Point).parsed, Point)
    assert_type(client.responses.parse(model="m", input="x", text_format=Person).parsed, Person)
    assert_type(client.responses.parse(model="m", input="x", text_format=SCHEMA).parsed, Any)

    wrapped = client.with_response.responses.create(model="m", input="Hi")
    assert_type(wrapped, APIResponse[Response])

    run = client.responses.run_tools(model="m", input="Weather?", tools=[get_weather])
    assert_type(run, ResponseToolRun)
    assert_type(run.text, str)
    assert_type(run.continued_by, Optional[str])


def sync_streams(client: BabyAPI) -> None:
    """Streams carry the event type, and final() the response or the parsed type."""
    stream = client.responses.stream(model="m", input="Hi")
    assert_type(stream, Stream[ResponseStreamEvent, Response])
    for event in stream:
        assert_type(event, SSEEvent)
        assert_type(event.type, str)
    assert_type(stream.final(), Response)
    parsed = client.responses.stream(model="m", input="x", text_format=Movie)
    assert_type(parsed, Stream[ResponseStreamEvent, ParsedResponse[Movie]])
    assert_type(parsed.final().parsed, Movie)


async def async_client(client: AsyncBabyAPI) -> None:
    """The async client's methods are awaited and return the same types."""
    res = await client.responses.create(model="m", input="Hi")
    assert_type(res, Response)
    assert_type(await client.responses.retrieve(res), Response)
    assert_type(await client.responses.wait(res), Response)
    movie = await client.responses.parse(model="m", input="Alien", text_format=Movie)
    assert_type(movie.parsed, Movie)
    stream = client.responses.stream(model="m", input="Hi")
    assert_type(stream, AsyncStream[ResponseStreamEvent, Response])
    async for text in stream.text_deltas():
        assert_type(text, str)
    parsed = client.responses.stream(model="m", input="x", text_format=Point)
    assert_type((await parsed.final()).parsed, Point)
    run = await client.responses.run_tools(model="m", input="Weather?", tools=[get_weather])
    assert_type(run, ResponseToolRun)


def refused(client: BabyAPI) -> None:
    """What the types refuse: text_format is parse()'s, not create()'s."""
    client.responses.create(model="m", input="x", text_format=Movie)  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]

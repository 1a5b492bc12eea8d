"""Streams beyond the raw loop: text only, the whole answer at the end, early exit."""

from __future__ import annotations

from babyapi import BabyAPI

# BABYAPI_API_KEY and BABYAPI_BASE_URL come from the environment.
with BabyAPI(default_model="mistral") as client:
    messages = [{"role": "user", "content": "Write a short poem about servers."}]

    print("text only:")
    for text in client.chat.completions.stream(model="mistral", messages=messages).text_deltas():
        print(text, end="", flush=True)
    print()

    # final() drains the stream and returns what create() would have returned, usage included.
    stream = client.chat.completions.stream(
        model="mistral", messages=messages, stream_options={"include_usage": True}
    )
    answer = stream.final()
    print("final:", answer["choices"][0]["message"]["content"])
    print("finish_reason:", answer["choices"][0]["finish_reason"], "usage:", answer.get("usage"))

    # Leaving the `with` block (or breaking out of the loop) closes the connection at once.
    with client.completions.stream(model="mistral", prompt="Count slowly:") as stream:
        for event in stream:
            print(
                "first event from request",
                stream.request_id,
                "->",
                event.data["choices"][0]["text"],
            )
            break

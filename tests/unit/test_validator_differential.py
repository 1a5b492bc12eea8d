"""The SDK's JSON Schema validator against the ``jsonschema`` library (Draft 2020-12).

Hypothesis draws schemas from the documented subset and, for each, values that fit, values
that just miss (a bound crossed by one, a field dropped or added, 1.0 for 1) and arbitrary
JSON. Every (schema, value) pair is judged by both; the verdicts must be equal. The counts
are printed at the end of the test (and quoted in docs/structured.md).
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from babyapi import BabyAPIError
from babyapi._schema import check_schema, first_mismatch
from json_schemas import JSON, instances, schemas  # pyright: ignore[reportImplicitRelativeImport]

SCHEMAS = 400  # examples; each judges VALUES values
VALUES = 32


# About 11 s of CPU alone; the default 60 s bound is too close on a machine shared with other work.
@pytest.mark.timeout(300)
def test_the_validator_agrees_with_jsonschema(capsys: pytest.CaptureFixture[str]) -> None:
    counts = {"schemas": 0, "refused": 0, "pairs": 0, "disagreements": 0, "valid": 0}

    @settings(
        max_examples=SCHEMAS,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(data=st.data(), schema=schemas())
    def compare(data: st.DataObject, schema: dict[str, Any]) -> None:
        counts["schemas"] += 1
        try:
            check_schema(schema)
        except BabyAPIError:  # a $ref loop: refused before sending, so never judged
            counts["refused"] += 1
            return
        reference = Draft202012Validator(schema)
        pick = st.one_of(instances(schema), instances(schema, wild=False), JSON)
        values = data.draw(st.lists(pick, min_size=VALUES, max_size=VALUES), label="values")
        for value in values:
            ours = first_mismatch(value, schema)
            theirs = reference.is_valid(value)
            counts["pairs"] += 1
            counts["valid"] += theirs
            if (ours is None) != theirs:
                counts["disagreements"] += 1
            assert (ours is None) == theirs, f"babyapi says {ours}, jsonschema says {theirs}"

    try:
        compare()
    finally:
        with capsys.disabled():
            print(
                f"\nvalidator vs jsonschema (Draft 2020-12): {counts['pairs']} pairs over "
                f"{counts['schemas']} schemas ({counts['refused']} refused before sending), "
                f"{counts['valid']} valid, {counts['disagreements']} disagreements"
            )
    assert counts["pairs"] >= 10_000
    # Both verdicts occur often: the test is not comparing "everything fails" with itself.
    assert 0.2 < counts["valid"] / counts["pairs"] < 0.8

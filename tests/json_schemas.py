"""Hypothesis strategies for JSON Schemas of babyapi's checked subset, and values for them.

``schemas()`` draws schemas from the documented subset (every checked keyword, local $refs).
``instances(schema)`` draws values that try to fit: ``wild=True`` makes some of them miss
near the edges (a bound crossed by one, a required field dropped, an extra field, a wrong
type), which is where validators disagree. (hypothesis-jsonschema would be the library for
this, but its current release does not run with the Hypothesis this project tests with.)
"""

from __future__ import annotations

from typing import Any, Callable, Optional, cast

from hypothesis import strategies as st

NAMES = ["a", "b", "ab", "ba", "x1"]
PATTERNS = ["^a", "b$", "^x[0-9]$", "a|b", "^$"]
JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-4, 4),
    st.sampled_from([0.0, 0.5, 1.0, -1.5, 2.0, 1e300, 3.0000000000000004]),
    st.sampled_from(["", "a", "b", "ab", "x1", "é", "aaaa"]),
)
JSON = st.recursive(
    JSON_SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(NAMES), inner, max_size=3)
    ),
    max_leaves=6,
)
Schema = dict[str, Any]
# Objects and arrays carry most keywords, and most interactions between them: drawn more often.
COMPOUNDS = ["object", "object", "object", "array", "array", "anyOf", "oneOf", "allOf", "not",
             "if", "typeless"]  # fmt: skip
Draw = Callable[[st.SearchStrategy[Any]], Any]


# --- schemas --------------------------------------------------------------------------------------


def _numbers(draw: Draw) -> Schema:
    schema: Schema = {"type": draw(st.sampled_from(["integer", "number"]))}
    for key in draw(
        st.sets(
            st.sampled_from(
                ["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"]
            ),
            max_size=2,
        )
    ):
        if key == "multipleOf":
            schema[key] = draw(st.sampled_from([2, 3, 0.5, 0.1, 1.5]))
        else:
            schema[key] = draw(st.sampled_from([-1, 0, 1, 2, 0.5, 1.5]))
    return schema


def _strings(draw: Draw) -> Schema:
    schema: Schema = {"type": "string"}
    for key in draw(st.sets(st.sampled_from(["minLength", "maxLength", "pattern"]), max_size=2)):
        schema[key] = (
            draw(st.sampled_from(PATTERNS)) if key == "pattern" else draw(st.integers(0, 3))
        )
    return schema


@st.composite
def _leaf(draw: Draw, refs: list[str]) -> Any:
    kind = draw(
        st.sampled_from(
            ["bool", "type", "types", "number", "string", "enum", "const", "empty", "ref"]
        )
    )
    if kind == "bool":
        return draw(st.booleans())
    if kind == "type":
        return {
            "type": draw(
                st.sampled_from(
                    ["null", "boolean", "integer", "number", "string", "array", "object"]
                )
            )
        }
    if kind == "types":
        return {
            "type": draw(
                st.lists(
                    st.sampled_from(["null", "integer", "string", "array"]),
                    min_size=1,
                    max_size=2,
                    unique=True,
                )
            )
        }
    if kind == "number":
        return _numbers(draw)
    if kind == "string":
        return _strings(draw)
    if kind == "enum":
        return {"enum": draw(st.lists(JSON, min_size=1, max_size=3))}
    if kind == "const":
        return {"const": draw(JSON)}
    if kind == "ref" and refs:
        return {"$ref": f"#/$defs/{draw(st.sampled_from(refs))}"}
    return {}


def _object(draw: Draw, inner: st.SearchStrategy[Any]) -> Schema:
    schema: Schema = {"type": "object"}
    names = draw(st.lists(st.sampled_from(NAMES), max_size=3, unique=True))
    if names:
        schema["properties"] = {n: draw(inner) for n in names}
        schema["required"] = draw(st.lists(st.sampled_from(NAMES), max_size=2, unique=True))
    # additionalProperties and patternProperties interact most: each is there half the time.
    if draw(st.booleans()):
        schema["additionalProperties"] = draw(st.one_of(st.just(False), st.booleans(), inner))
    if draw(st.booleans()):
        schema["patternProperties"] = {draw(st.sampled_from(PATTERNS)): draw(inner)}
    options = ["propertyNames", "minProperties", "maxProperties", "dependentRequired",
               "dependentSchemas"]  # fmt: skip
    for key in draw(st.sets(st.sampled_from(options), max_size=2)):
        if key == "propertyNames":
            schema[key] = draw(
                st.sampled_from([{"maxLength": 1}, {"pattern": "^a"}, {"enum": ["a", "b"]}])
            )
        elif key in ("minProperties", "maxProperties"):
            schema[key] = draw(st.integers(0, 3))
        elif key == "dependentRequired":
            schema[key] = {
                draw(st.sampled_from(NAMES)): draw(st.lists(st.sampled_from(NAMES), max_size=2))
            }
        else:
            schema[key] = {draw(st.sampled_from(NAMES)): draw(inner)}
    return schema


def _array(draw: Draw, inner: st.SearchStrategy[Any]) -> Schema:
    schema: Schema = {"type": "array"}
    options = ["items", "prefixItems", "contains", "minContains", "maxContains", "uniqueItems",
               "minItems", "maxItems"]  # fmt: skip
    for key in draw(st.sets(st.sampled_from(options), min_size=1, max_size=3)):
        if key in ("items", "contains"):
            schema[key] = draw(inner)
        elif key == "prefixItems":
            schema[key] = draw(st.lists(inner, min_size=1, max_size=2))
        elif key == "uniqueItems":
            schema[key] = draw(st.booleans())
        else:
            schema[key] = draw(st.integers(0, 3))
    return schema


@st.composite
def _compound(draw: Draw, inner: st.SearchStrategy[Any]) -> Any:
    kind = draw(st.sampled_from(COMPOUNDS))
    if kind == "object":
        return _object(draw, inner)
    if kind == "array":
        return _array(draw, inner)
    if kind in ("anyOf", "oneOf", "allOf"):
        return {kind: draw(st.lists(inner, min_size=1, max_size=3))}
    if kind == "not":
        return {"not": draw(inner)}
    if kind == "if":
        schema = {"if": draw(inner), "then": draw(inner)}
        return {**schema, "else": draw(inner)} if draw(st.booleans()) else schema
    # Keywords without "type": each applies only to the values of its own kind.
    return {
        **_object(draw, inner),
        **_numbers(draw),
        **_strings(draw),
        "type": draw(
            st.sampled_from([["object", "integer", "string"], ["number", "string", "object"]])
        ),
    }


def _tree(refs: list[str]) -> st.SearchStrategy[Any]:
    return st.recursive(_leaf(refs), lambda inner: _compound(inner), max_leaves=6)


@st.composite
def schemas(draw: Draw) -> Schema:
    """A schema of the subset, maybe with $defs that refer to each other (loops are possible:
    ``check_schema`` refuses those, and the caller skips them)."""
    refs = draw(st.lists(st.sampled_from(["A", "B"]), max_size=2, unique=True))
    tree = _tree(refs)
    root = draw(_compound(tree) if draw(st.booleans()) else tree)  # a structured root, often
    root = root if isinstance(root, dict) else {"allOf": [root]}
    if refs:
        root = {**cast(Schema, root), "$defs": {name: draw(_tree(refs)) for name in refs}}
    return cast(Schema, root)


# --- values ---------------------------------------------------------------------------------------


@st.composite
def instances(draw: Draw, schema: Any, wild: bool = True, root: Optional[Schema] = None) -> Any:
    """A value shaped by ``schema``; with ``wild``, some nodes step just outside it."""
    return _value(draw, schema, root if root is not None else schema, 4, wild)


def _value(draw: Draw, schema: Any, root: Any, depth: int, wild: bool) -> Any:
    if wild and draw(st.integers(0, 9)) == 0:
        return draw(JSON)
    if not isinstance(schema, dict) or depth <= 0:
        return draw(JSON_SCALARS)
    schema = cast(Schema, schema)
    if "$ref" in schema and draw(st.integers(0, 3)):
        target = root.get("$defs", {}).get(schema["$ref"].rsplit("/", 1)[-1], {})
        return _value(draw, target, root, depth - 1, wild)
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return draw(st.sampled_from(schema["enum"]))
    for key in ("anyOf", "oneOf", "allOf"):
        if schema.get(key):
            return _value(draw, draw(st.sampled_from(schema[key])), root, depth - 1, wild)
    kinds = schema.get("type")
    kind = draw(st.sampled_from(kinds)) if isinstance(kinds, list) and kinds else kinds
    if kind is None:
        kind = draw(
            st.sampled_from(["object", "array", "integer", "number", "string", "null", "boolean"])
        )
    return _of_kind(draw, kind, schema, root, depth, wild)


def _of_kind(draw: Draw, kind: str, schema: Schema, root: Any, depth: int, wild: bool) -> Any:
    if kind == "object":
        return _object_value(draw, schema, root, depth, wild)
    if kind == "array":
        return _array_value(draw, schema, root, depth, wild)
    if kind in ("integer", "number"):
        return _number_value(draw, kind, schema, wild)
    if kind == "string":
        return _string_value(draw, schema)
    if kind == "boolean":
        return draw(st.booleans())
    return None


def _object_value(draw: Draw, schema: Schema, root: Any, depth: int, wild: bool) -> Any:
    properties: Schema = schema.get("properties", {})
    value: dict[str, Any] = {}
    for name, sub in properties.items():
        if name in schema.get("required", []) or draw(st.booleans()):
            value[name] = _value(draw, sub, root, depth - 1, wild)
    for name in schema.get("required", []):
        if name not in value:
            value[name] = draw(JSON_SCALARS)
    extra = schema.get("additionalProperties", True)
    if wild or extra is not False or "patternProperties" in schema:
        for name in draw(st.lists(st.sampled_from(NAMES), max_size=2)):
            value.setdefault(
                name, _value(draw, extra if isinstance(extra, dict) else {}, root, depth - 1, wild)
            )
    if wild and value and draw(st.integers(0, 5)) == 0:
        value.pop(draw(st.sampled_from(sorted(value))))
    return value


def _array_value(draw: Draw, schema: Schema, root: Any, depth: int, wild: bool) -> Any:
    prefix = schema.get("prefixItems", [])
    items = schema.get("items", {})
    low = int(schema.get("minItems", 0))
    size = draw(st.integers(max(0, low - (1 if wild else 0)), low + 3))
    out = [
        _value(draw, prefix[i] if i < len(prefix) else items, root, depth - 1, wild)
        for i in range(size)
    ]
    if "contains" in schema and draw(st.booleans()):
        out.append(_value(draw, schema["contains"], root, depth - 1, wild))
    if schema.get("uniqueItems") and out and draw(st.integers(0, 3)) == 0:
        out.append(out[0])  # a repeat, maybe spelled differently (1 and 1.0)
    return out


def _number_value(draw: Draw, kind: str, schema: Schema, wild: bool) -> Any:
    anchors = [
        schema[k]
        for k in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf")
        if k in schema
    ]
    if anchors and draw(st.booleans()):
        base = draw(st.sampled_from(anchors))
        step = draw(st.sampled_from([0, 1, -1, 0.5, 2]))
        number = base + step
    else:
        number = (
            draw(st.integers(-5, 5))
            if kind == "integer"
            else draw(st.sampled_from([-2.5, 0.0, 0.3, 1.0, 2, 4.5]))
        )
    if kind == "integer" and isinstance(number, float) and not wild:
        number = int(number)
    if draw(st.integers(0, 4)) == 0:
        number = float(number)  # 3.0 is an integer too
    return number


def _string_value(draw: Draw, schema: Schema) -> Any:
    pattern = schema.get("pattern")
    if pattern and draw(st.booleans()):
        return draw(st.from_regex(pattern, alphabet="abx01").filter(lambda s: len(s) < 8))
    return draw(st.text(alphabet="abx1é", max_size=int(schema.get("maxLength", 3)) + 1))

"""The codec writes what JavaScript writes, byte for byte, and reads every Resque dialect.

Golden files (``tests/unit/golden/``):

* ``codec_corpus.jsonl`` — tricky values, jobs, dates, pings and records, tagged so that
  nothing is lost between Python and JavaScript (see ``scripts/golden_codec.js``);
* ``codec_expected.jsonl`` — what node wrote for each of them.

``python tests/unit/test_codec.py`` rewrites the corpus from :data:`CORPUS` and, with
node on the PATH, the expected file.
"""

from __future__ import annotations

import json
import math
import os
import random
import shutil
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stellar.codec import (
    MAX_DEPTH,
    check_params,
    decode_failure,
    decode_job,
    decode_ping,
    decode_working_on,
    dumps,
    encode_failure,
    encode_job,
    encode_ping,
    encode_working_on,
    js_date,
    loads,
    parse_date,
    raw_member,
    working_on_prefix,
)
from stellar.errors import InvalidParams, PayloadError
from stellar.job import Job
from tests.conftest import missing_service

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).resolve().parent / "golden"
CORPUS_FILE = GOLDEN / "codec_corpus.jsonl"
EXPECTED_FILE = GOLDEN / "codec_expected.jsonl"
SCRIPT = ROOT / "scripts" / "golden_codec.js"


# --------------------------------------------------------------------------- tagging


def tag(v: Any) -> list[Any]:
    """A Python value as a tagged node that JavaScript rebuilds without loss."""
    if v is None:
        return ["n"]
    if isinstance(v, bool):
        return ["b", v]
    if isinstance(v, int):
        return ["i", str(v)]
    if isinstance(v, float):
        return ["f", repr(v)]
    if isinstance(v, str):
        if any(0xD800 <= ord(c) <= 0xDFFF for c in v):
            return ["u", [ord(c) for c in v]]
        return ["s", v]
    if isinstance(v, tuple):
        return ["t", [tag(x) for x in v]]
    if isinstance(v, list):
        return ["l", [tag(x) for x in v]]
    if isinstance(v, dict):
        return ["d", [[tag(k), tag(x)] for k, x in v.items()]]
    raise TypeError(type(v))


def untag(node: list[Any]) -> Any:
    t = node[0]
    if t == "n":
        return None
    if t in ("b", "s"):
        return node[1]
    if t == "i":
        return int(node[1])
    if t == "f":
        return float(node[1])
    if t == "u":
        return "".join(map(chr, node[1]))
    if t == "t":
        return tuple(untag(x) for x in node[1])
    if t == "l":
        return [untag(x) for x in node[1]]
    if t == "d":
        return {untag(k): untag(x) for k, x in node[1]}
    raise ValueError(t)


# --------------------------------------------------------------------------- corpus

STRINGS: list[str] = [
    "",
    "plain",
    'quote" and back\\slash',
    "\b\f\n\r\t",
    "".join(map(chr, range(0x20))),
    "\x7f\x80\x9f\xa0",
    "slash / and </script>",
    "\u2028\u2029",
    "é ü ß ñ",
    "日本語のテキスト",
    "😀 emoji",
    "👨‍👩‍👧 zwj family",
    "e\u0301 combining acute",
    "\ufeff bom",
    "\ufffd\uffff",
    "\U0010ffff",
    "\ud800",
    "\udfff",
    "a\ud83d",
    "\ude00b",
    "\ud83d\ude00",  # two surrogate code points: one character in UTF-16
    "\ude00\ud83d",
    "\ud800\ud800\udc00",
    "%s {} $1 \\u0041",
]

FLOATS: list[float] = [
    0.0,
    -0.0,
    1.0,
    -1.0,
    0.5,
    -1.5,
    100.0,
    1e-7,
    1.5e-7,
    2.5e-8,
    1e-6,
    1.234e-6,
    1e-5,
    0.000123,
    1e21,
    1e22,
    1e20,
    1e16,
    1.2345e16,
    123456789012345680000.0,
    1.2345678901234567e20,
    5e-324,
    2.2250738585072014e-308,
    1.7976931348623157e308,
    0.1 + 0.2,
    1 / 3,
    4.35,
    123e-20,
    1e100,
    -1e-100,
    float(2**53),
    9007199254740993.0,
    float("nan"),
    float("inf"),
    float("-inf"),
]

INTS: list[int] = [
    0,
    1,
    -1,
    42,
    2**31,
    2**32 - 2,
    2**53 - 1,
    -(2**53 - 1),
    2**53,
    2**53 + 1,
    -(2**53 + 1),
    2**63,
    10**21,
    10**22,
    123456789012345678901234567890,
    10**400,
]

INDEX_KEYS = {
    "b": 1,
    "1": 2,
    "0": 3,
    "01": 4,
    "-1": 5,
    "4294967295": 6,
    "4294967294": 7,
    "10": 8,
    "2": 9,
    "a": 10,
    " 1": 11,
    "1.0": 12,
    "1e3": 13,
    "+1": 14,
    "00": 15,
    "": 16,
    "٣": 17,
    "99999999999": 18,
}

VALUES: list[tuple[str, Any]] = [
    *((f"str {i}", s) for i, s in enumerate(STRINGS)),
    *((f"float {f!r}", f) for f in FLOATS),
    *((f"int {n}", n) for n in INTS[:-1]),
    ("int 10**400", INTS[-1]),
    ("true", True),
    ("false", False),
    ("null", None),
    ("empty list", []),
    ("empty dict", {}),
    ("empty tuple", ()),
    ("nested empties", [[], {}, [[]], {"a": {}}, {"b": []}]),
    ("tuple", (1, "two", (3.0,))),
    ("index keys", INDEX_KEYS),
    ("index keys nested", {"z": [INDEX_KEYS, {"3": {"1": 0, "0": 1}}], "7": None}),
    ("insertion order", {"zeta": 1, "alpha": 2, "mid": 3, "Alpha": 4, "_": 5}),
    ("all strings as keys", {s: i for i, s in enumerate(STRINGS)}),
    ("all floats", FLOATS),
    ("all ints", INTS),
    ("non-str keys", {1: "x", "b": 2, 0: 3}),
    ("odd keys", {True: 1, None: 2, 1.5: 3, -0.0: 4}),
    ("false key", {"x": 0, False: 5}),
    ("float keys", {float("nan"): 1, float("inf"): 2, 1e21: 3, 1e-7: 4, 2.0: 5}),
    ("big int key", {2**60: 1, 4294967294: 2, 4294967295: 3}),
    ("repeated key", {1: "a", "1": "b", "x": 0}),
    ("deep", [[[[[[[[[[{"k": [1.5]}]]]]]]]]]]),
    ("params", {"to": "a@b.c", "subject": "Réinitialiser", "n": 3, "ratio": 0.25}),
]

JOBS: list[tuple[str, tuple[str, str, tuple[Any, ...]]]] = [
    ("job simple", ("email.send", "default", ({"to": "a@b.c"},))),
    ("job no args", ("t", "q", ())),
    ("job empty params", ("periodic.task", "default", ({},))),
    ("job floats", ("t", "q", ({"x": 1.0, "y": 1e-7, "z": 1e21},))),
    ("job unicode", ("ünï.cødé", "q/x", (1, "two", None, [3.0], "😀"))),
    ("job index keys", ("t", "q", ({"b": 1, "2": 0, "1": {"1": 1, "0": 0}},))),
    ("job several args", ("t", "q", (1, 2.5, "x", True, None, [], {}))),
    ("job escapes", ('qu"ote', "back\\slash", ("\n\t\u2028",))),
]

ZONES = [
    "UTC",
    "Etc/UTC",
    "GMT",
    "America/Los_Angeles",
    "America/New_York",
    "America/Chicago",
    "America/Phoenix",
    "America/Anchorage",
    "America/St_Johns",
    "Pacific/Honolulu",
    "Europe/London",
    "Europe/Dublin",
    "Europe/Berlin",
    "Europe/Lisbon",
    "Europe/Helsinki",
    "Europe/Moscow",
    "Asia/Kolkata",
    "Asia/Shanghai",
    "Asia/Tokyo",
    "Asia/Jerusalem",
    "Australia/Sydney",
    "Australia/Adelaide",
    "Pacific/Auckland",
    "Etc/GMT-4",
    "Etc/GMT+5",
]
# Zone names are compared for present-day times: for the 1970s ICU and the C library
# disagree in places (Europe/London's all-year summer time of 1968-71 is "Greenwich Mean
# Time" to ICU), and nobody reads a zone name back.
TIMES = [1781730416, 1766000000, 1781730416.999, 1781730415.9999999, 946684800, 253402300799]
EDGE_ZONES = ["UTC", "Etc/GMT-4", "Etc/GMT+5"]
EDGE_TIMES = [
    0,
    -1,
    1.5,
    -0.5,
    -0.0001,
    2.9999999999999996,
    -62198755200 - 86400 * 400,  # year -3
    8.64e12,  # the last day JavaScript can write
    8.64e12 + 1,  # Invalid Date
    -8.64e12 - 1,
]

PARSE_TEXTS = [
    ("UTC", "Wed Jun 17 2026 14:06:56 GMT-0700 (Pacific Daylight Time)"),
    ("UTC", "Thu Jun 18 2026 02:36:56 GMT+0530 (India Standard Time)"),
    ("UTC", "Wed Jun 17 2026 21:06:56 GMT+0000 (Coordinated Universal Time)"),
    ("UTC", "Wed Jun 17 2026 21:06:56 GMT+0000"),
    ("UTC", "Wed Jun 17 2026 21:06:56 UTC"),
    ("America/New_York", "Wed Jun 17 2026 21:06:56"),
    ("UTC", "Wed, 17 Jun 2026 21:06:56 GMT"),
    ("UTC", "2026-06-17T21:06:56Z"),
    ("UTC", "2026-06-17T21:06:56.250Z"),
    ("UTC", "2026-06-17T14:06:56-07:00"),
    ("UTC", "2026-06-17T21:06:56"),
    ("America/Los_Angeles", "2026-06-17T14:06:56"),
    ("UTC", "2026-06-17"),
    ("UTC", "2026/06/17 21:06:56 UTC"),
    ("UTC", "2026/06/17 14:06:56 PDT"),
    ("UTC", "2026/06/17 16:06:56 CDT"),
    ("UTC", "2026/06/17 12:06:56 EST"),
    ("UTC", "2026/06/17 21:06:56"),
    ("Europe/Berlin", "2026/06/17 23:06:56"),
    ("UTC", "2026-06-17 14:06:56 -0700"),
    ("UTC", "not a date"),
]

PINGS = [10.5, 11.4999, -2.5, -2.6, 0.49999999999999994, 1781730416.5, 1781730416, 0]

CORPUS_PAYLOADS = [
    encode_job("email.send", "default", ({"to": "a@b.c"},)),
    encode_job("t/x", "q", ({"b": [], "1": {}, "url": "http://x/y"}, 1.5e-7)),
]


def corpus() -> Iterator[list[Any]]:
    """Every line of the corpus: ``[name, kind, data]``."""
    for name, value in VALUES:
        yield [name, "value", tag(value)]
    for name, (task, queue, args) in JOBS:
        yield [name, "job", [task, queue, [tag(a) for a in args]]]
    for tz in ZONES:
        for ts in TIMES:
            yield [f"date {tz} {ts!r}", "date", [tz, ts]]
    for tz in EDGE_ZONES:
        for ts in EDGE_TIMES:
            yield [f"date {tz} {ts!r}", "date", [tz, ts]]
    for tz, text in PARSE_TEXTS:
        yield [f"parse {tz} {text}", "parse", [tz, text]]
    for ts in PINGS:
        yield [f"ping {ts!r}", "ping", ["host:123+1", "high,low", ts]]
    for i, payload in enumerate(CORPUS_PAYLOADS):
        for tz in ("UTC", "America/Los_Angeles"):
            yield [
                f"working_on {i} {tz}",
                "working_on",
                [tz, "host:123+1", "default", payload, 1781730416.75],
            ]
            yield [
                f"failure {i} {tz}",
                "failure",
                [tz, "host:123+1", "default", payload, "Error", "boom", ["    at f (a.js:1:2)"], 5],
            ]
            yield [
                f"failure {i} {tz} no stack",
                "failure",
                [tz, "w", "q", payload, "Error", "Worker Timeout (killed manually)", None, 5],
            ]


def corpus_text(lines: Iterator[list[Any]]) -> str:
    return "".join(json.dumps(line, ensure_ascii=True) + "\n" for line in lines)


class zone:
    """Run with the process's local time zone set to ``tz``."""

    def __init__(self, tz: str) -> None:
        self.tz = tz
        self.saved: str | None = None

    def __enter__(self) -> None:
        self.saved = os.environ.get("TZ")
        os.environ["TZ"] = self.tz
        time.tzset()

    def __exit__(self, *exc: object) -> None:
        if self.saved is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = self.saved
        time.tzset()


def python_result(kind: str, data: Any) -> Any:
    """What the codec writes for one corpus entry (the same shape node's answer has)."""
    if kind == "value":
        return dumps(untag(data))
    if kind == "job":
        task, queue, args = data
        return encode_job(task, queue, [untag(a) for a in args])
    if kind == "date":
        with zone(data[0]):
            return js_date(data[1])
    if kind == "parse":
        with zone(data[0]):
            parsed = parse_date(data[1])
        return None if parsed is None else parsed.timestamp()
    if kind == "ping":
        name, queues, ts = data
        return encode_ping(name, queues, ts)
    if kind == "working_on":
        tz, worker, queue, payload, ts = data
        with zone(tz):
            return encode_working_on(worker, queue, payload, ts)
    if kind == "failure":
        tz, worker, queue, payload, exception, error, backtrace, ts = data
        with zone(tz):
            return encode_failure(
                worker=worker,
                queue=queue,
                payload=payload,
                exception=exception,
                error=error,
                backtrace=backtrace,
                failed_at=ts,
            )
    raise ValueError(kind)


def node_results(corpus_file: Path) -> list[list[Any]]:
    node = shutil.which("node")
    if node is None:
        missing_service("node is not installed (needed for the golden codec tests)")
    out = subprocess.run(
        [node, str(SCRIPT), str(corpus_file)],
        check=True,
        capture_output=True,
        timeout=60,
    ).stdout.decode("utf-8")
    return [json.loads(line) for line in out.split("\n") if line]


def read_lines(path: Path) -> list[list[Any]]:
    return [json.loads(line) for line in path.read_text("utf-8").split("\n") if line]


# --------------------------------------------------------------------------- golden tests


def test_corpus_file_is_current() -> None:
    assert CORPUS_FILE.read_text("ascii") == corpus_text(corpus()), (
        "run `python tests/unit/test_codec.py` to regenerate the golden files"
    )


def test_codec_matches_checked_in_node_output() -> None:
    lines = read_lines(CORPUS_FILE)
    expected = read_lines(EXPECTED_FILE)
    assert [e[0] for e in expected] == [line[0] for line in lines]
    mismatches = [
        (name, got, want)
        for (name, kind, data), (_, want) in zip(lines, expected, strict=True)
        if (got := python_result(kind, data)) != want
    ]
    assert mismatches == []


def test_node_still_writes_the_checked_in_output() -> None:
    assert node_results(CORPUS_FILE) == read_lines(EXPECTED_FILE)


def _random_float(rng: random.Random) -> float:
    pick = rng.random()
    if pick < 0.4:  # any bit pattern: every exponent, subnormals, NaNs, infinities
        return float(struct.unpack("<d", rng.getrandbits(64).to_bytes(8, "little"))[0])
    if pick < 0.7:  # short decimals near the fixed/exponent boundaries
        return float(f"{rng.randint(1, 99999)}e{rng.randint(-30, 30)}") * rng.choice((1, -1))
    return rng.uniform(-1e6, 1e6)


def _random_str(rng: random.Random) -> str:
    pools = [
        (0x20, 0x7E),
        (0x00, 0x1F),
        (0x7F, 0x2FF),
        (0x2000, 0x206F),
        (0xD800, 0xDFFF),
        (0xE000, 0xFFFF),
        (0x1F300, 0x1F6FF),
    ]
    chars = []
    for _ in range(rng.randint(0, 8)):
        lo, hi = rng.choice(pools)
        chars.append(chr(rng.randint(lo, hi)))
    return "".join(chars)


def _random_key(rng: random.Random) -> str:
    pick = rng.random()
    if pick < 0.3:
        return str(rng.choice((rng.randint(0, 20), rng.randint(0, 2**33), 4294967294)))
    if pick < 0.4:
        return rng.choice(("01", "-0", "1.0", "4294967295", "4294967296", "00", "0x1"))
    return _random_str(rng)


def _random_value(rng: random.Random, depth: int = 0) -> Any:
    pick = rng.random() if depth < 4 else rng.random() * 0.7
    if pick < 0.2:
        return _random_float(rng)
    if pick < 0.35:
        return rng.choice((rng.randint(-(2**60), 2**60), rng.randint(-1000, 1000)))
    if pick < 0.55:
        return _random_str(rng)
    if pick < 0.7:
        return rng.choice((True, False, None))
    if pick < 0.85:
        return [_random_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    return {_random_key(rng): _random_value(rng, depth + 1) for _ in range(rng.randint(0, 5))}


def test_dumps_matches_node_on_random_values(tmp_path: Path) -> None:
    rng = random.Random(20260617)
    values = [_random_value(rng) for _ in range(3000)]
    path = tmp_path / "random.jsonl"
    path.write_text(corpus_text([str(i), "value", tag(v)] for i, v in enumerate(values)), "ascii")
    results = node_results(path)
    mismatches = [
        (v, dumps(v), want)
        for v, (_, want) in zip(values, results, strict=True)
        if dumps(v) != want
    ]
    assert mismatches[:5] == []


# --------------------------------------------------------------------------- dumps


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1e-7, "1e-7"),
        (1e21, "1e+21"),
        (5e-324, "5e-324"),
        (0.000001, "0.000001"),
        (-0.0, "0"),
        (1.0, "1"),
        (1e16, "10000000000000000"),
        (123456789012345680000.0, "123456789012345680000"),
        (float("nan"), "null"),
        (float("-inf"), "null"),
        (2**53 + 1, "9007199254740992"),
        (10**400, "null"),
        ({"b": 1, "1": 2, "0": 3, "01": 4}, '{"0":3,"1":2,"b":1,"01":4}'),
        ("\ud800", '"\\ud800"'),
        ("\ud83d\ude00", '"😀"'),
        ("\u2028/é", '"\u2028/é"'),
        ("\x1f", '"\\u001f"'),
        ((1, (2,)), "[1,[2]]"),
        ({1: "a", "1": "b"}, '{"1":"b"}'),
        ({True: 1, None: 2}, '{"true":1,"null":2}'),
    ],
)
def test_dumps_examples(value: Any, text: str) -> None:
    assert dumps(value) == text


def test_dumps_refuses_what_is_not_json() -> None:
    with pytest.raises(TypeError, match="not JSON serializable"):
        dumps({"a": object()})
    with pytest.raises(TypeError, match="keys must be"):
        dumps({(1, 2): 1})
    loop: list[Any] = []
    loop.append(loop)
    with pytest.raises(ValueError, match="Circular"):
        dumps(loop)
    deep: list[Any] = []
    deep.append({"1": deep})  # a cycle that also needs the exact path
    with pytest.raises(ValueError, match="Circular"):
        dumps(deep)


def test_dumps_handles_deep_values_on_the_exact_path() -> None:
    value: Any = 1.5
    for _ in range(200):
        value = [value]
    assert dumps(value) == "[" * 200 + "1.5" + "]" * 200


def test_dumps_accepts_subclasses() -> None:
    class S(str):
        pass

    class D(dict[str, Any]):
        pass

    assert dumps(D(a=S("x"), b=True)) == '{"a":"x","b":true}'


json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53 - 1), max_value=2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=20,
)
plain_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**53), max_value=2**53) | st.text(),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.text(max_size=6).filter(lambda k: not (k.isdigit() and k.isascii())),
            children,
            max_size=4,
        )
    ),
    max_leaves=20,
)


@given(json_values)
def test_dumps_parses_back_to_an_equal_value(value: Any) -> None:
    assert loads(dumps(value)) == value


def test_loads_reads_numbers_as_javascript_does() -> None:
    # JS writes this float as 56157604150783050: it must read back as the same float
    assert dumps(5.615760415078305e16) == "56157604150783050"
    assert loads("56157604150783050") == 5.615760415078305e16
    assert isinstance(loads("56157604150783050"), float)
    assert loads("[9007199254740991, -9007199254740992, 12]") == [2**53 - 1, -(2**53), 12]
    assert loads(b'{"a":1e400}') == {"a": math.inf}
    with pytest.raises(ValueError, match="NaN is not valid JSON"):
        loads("[NaN]")


@given(plain_values)
def test_dumps_equals_json_dumps_without_floats_or_index_keys(value: Any) -> None:
    assert dumps(value) == json.dumps(value, ensure_ascii=False, separators=(",", ":"))


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_float_text_round_trips_exactly(x: float) -> None:
    assert float(dumps(x)) == x


# --------------------------------------------------------------------------- check_params


@pytest.mark.parametrize(
    "value",
    [
        None,
        {},
        {"a": [1, 2.5, "x", None, True, {"b": ()}]},
        2**53 - 1,
        -(2**53 - 1),
        "😀 é \u2028",
        [1e308, -0.0],
    ],
)
def test_check_params_accepts_json(value: Any) -> None:
    check_params(value)


def test_check_params_accepts_shared_but_acyclic_values() -> None:
    shared = {"x": 1}
    check_params({"a": shared, "b": [shared, shared]})


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({1: "x"}, "params: key 1 (int) is not a string; JSON object keys must be strings"),
        ({"a": [{None: 1}]}, 'params["a"][0]: key None (NoneType) is not a string'),
        ({"a": [0, 1, "x\ud800"]}, 'params["a"][2]: string contains a lone surrogate U+D800'),
        ({"b\udfff": 1}, 'params["b\\udfff"]: key contains a lone surrogate U+DFFF at index 1'),
        ({"n": 2**53}, 'params["n"]: integer 9007199254740992 is outside ±(2**53-1)'),
        ([-(2**53)], "params[0]: integer -9007199254740992 is outside"),
        ({"f": float("nan")}, 'params["f"]: nan is not a JSON number'),
        ({"f": [float("inf")]}, 'params["f"][0]: inf is not a JSON number'),
        (
            {"when": datetime(2026, 1, 1)},
            'params["when"]: a datetime.datetime is not JSON (allowed: dict, list',
        ),
        ({"s": {1, 2}}, 'params["s"]: a builtins.set is not JSON'),
        (b"bytes", "params: a builtins.bytes is not JSON"),
    ],
)
def test_check_params_refuses_with_path(value: Any, message: str) -> None:
    with pytest.raises(InvalidParams) as info:
        check_params(value)
    assert message in str(info.value)


def test_check_params_refuses_cycles() -> None:
    value: dict[str, Any] = {"a": [1]}
    value["a"].append(value)
    with pytest.raises(InvalidParams, match=r'params\["a"\]\[1\]: cycle'):
        check_params(value)


def test_the_deepest_accepted_params_travel() -> None:
    value: Any = 1.5
    for i in range(MAX_DEPTH):
        value = {"k": value} if i % 2 else [value]
    check_params(value)
    text = encode_job("t", "q", [value])
    assert decode_job(text).args == (value,)


def test_check_params_paths_show_keys_as_written() -> None:
    with pytest.raises(InvalidParams, match='^params\\["é"\\]\\[0\\]: integer'):
        check_params({"é": [2**60]})


def test_check_params_refuses_deep_nesting() -> None:
    value: Any = 1
    for _ in range(MAX_DEPTH + 1):
        value = [value]
    with pytest.raises(InvalidParams, match=f"nested deeper than {MAX_DEPTH} levels"):
        check_params(value)


# --------------------------------------------------------------------------- jobs


def test_encode_job_key_order_and_format() -> None:
    assert encode_job("email.send", "default", [{"to": "a@b.c", "n": 1.0}]) == (
        '{"class":"email.send","queue":"default","args":[{"to":"a@b.c","n":1}]}'
    )
    assert encode_job("t", "q", ()) == '{"class":"t","queue":"q","args":[]}'


@given(
    st.text(min_size=1),
    st.text(),
    st.lists(json_values, max_size=4),
)
@settings(max_examples=200)
def test_decode_job_round_trips_encode_job(task: str, queue: str, args: list[Any]) -> None:
    text = encode_job(task, queue, args)
    job = decode_job(text)
    assert job == Job(task, queue, tuple(args), text)
    assert decode_job(text.encode("utf-8")) == job


def test_decode_job_keeps_the_payload_text_as_given() -> None:
    text = '{ "args" : [1.50, {"b":1,"1":2}], "class":"t", "queue":"q" }'
    job = decode_job(text)
    assert (job.task, job.queue, job.args, job.payload) == ("t", "q", (1.5, {"b": 1, "1": 2}), text)
    assert job.params == 1.5


def test_decode_job_takes_the_queue_of_ruby_jobs_from_the_caller() -> None:
    job = decode_job('{"class":"Archive","args":[1]}', queue="low")
    assert (job.task, job.queue, job.args) == ("Archive", "low", (1,))
    assert decode_job('{"class":"t","queue":"a","args":[]}', queue="b").queue == "a"


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (
            b'{"class":"t","args":[]}\xff',
            "payload is not UTF-8 text (invalid start byte at byte 23)",
        ),
        ("{nope", "payload is not valid JSON: Expecting property name"),
        ('{"class":"t","queue":"q","args":[NaN]}', "payload is not valid JSON: NaN is not valid"),
        ("", "payload is not valid JSON"),
        ("[1,2]", "payload is an array, not a JSON object"),
        ('"x"', "payload is a string, not a JSON object"),
        ("null", "payload is null, not a JSON object"),
        ('{"queue":"q","args":[]}', 'payload has no "class" key'),
        (
            '{"class":"","queue":"q","args":[]}',
            'payload "class" must be a non-empty string, not ""',
        ),
        ('{"class":3,"queue":"q","args":[]}', 'payload "class" must be a non-empty string, not 3'),
        ('{"class":"t","queue":"q"}', 'payload has no "args" key'),
        ('{"class":"t","queue":"q","args":{}}', 'payload "args" must be an array, not an object'),
        ('{"class":"t","queue":"q","args":"x"}', 'payload "args" must be an array, not a string'),
        ('{"class":"t","queue":7,"args":[]}', 'payload "queue" must be a string, not 7'),
        ('{"class":"t","args":[]}', 'payload has no "queue" key and no queue was given'),
        ("[" * 100_000 + "]" * 100_000, "payload is nested too deeply to parse"),
    ],
)
def test_decode_job_errors(payload: str | bytes, message: str) -> None:
    with pytest.raises(PayloadError) as info:
        decode_job(payload)
    assert message in str(info.value)
    assert info.value.raw == payload


# --------------------------------------------------------------------------- raw_member


def test_raw_member_returns_the_exact_value_text() -> None:
    text = '{"a" : [1, 2.50] , "b":{"c":"\\/"}, "a": "last", "n": -0.0e0}'
    assert raw_member(text, "a") == '"last"'
    assert raw_member(text, "b") == '{"c":"\\/"}'
    assert raw_member(text, "n") == "-0.0e0"
    assert raw_member(text, "missing") is None
    assert raw_member("[1]", "a") is None
    assert raw_member("{}", "a") is None
    assert raw_member('{"a":1,', "a") == "1"
    assert raw_member('{"a":', "a") is None


# --------------------------------------------------------------------------- working-on


JOB = encode_job("email.send", "default", ({"to": "a@b.c", "x": [1.5, []]},))


def test_working_on_embeds_the_payload_verbatim() -> None:
    with zone("UTC"):
        text = encode_working_on("host:1+1", "default", JOB, 1781730416.75)
        prefix = working_on_prefix("host:1+1", "default", 1781730416.75)
    assert text == (
        '{"run_at":"Wed Jun 17 2026 21:06:56 GMT+0000 (Coordinated Universal Time)",'
        f'"queue":"default","worker":"host:1+1","payload":{JOB}}}'
    )
    assert text == prefix + JOB + "}"
    record = decode_working_on(text)
    assert record.worker == "host:1+1"
    assert record.queue == "default"
    assert record.run_at == datetime(2026, 6, 17, 21, 6, 56, tzinfo=UTC)
    assert record.payload_text == JOB
    assert record.job == decode_job(JOB)
    assert record.raw == text


@pytest.mark.parametrize(
    "payload",
    [JOB, "not json", "", " " + JOB, '"a string"', "123", "[1,2]", '{"class":1}', "{garbage}"],
)
def test_working_on_round_trips_any_payload_text(payload: str) -> None:
    record = decode_working_on(encode_working_on("w", "q", payload, 0))
    assert record.payload_text == payload
    assert (record.worker, record.queue) == ("w", "q")
    assert (record.job is not None) == (payload.strip() == JOB)


@given(st.one_of(st.text(), json_values.map(dumps)), st.text(), st.text())
def test_records_round_trip_any_payload_text(payload: str, worker: str, queue: str) -> None:
    record = decode_working_on(encode_working_on(worker, queue, payload, 1781730416))
    assert (record.payload_text, record.worker, record.queue) == (payload, worker, queue)
    failed = decode_failure(
        encode_failure(
            worker=worker,
            queue=queue,
            payload=payload,
            exception="E",
            error=payload,
            backtrace=[payload],
            failed_at=0,
        )
    )
    assert (failed.payload_text, failed.worker, failed.queue) == (payload, worker, queue)
    assert (failed.error, failed.backtrace) == (payload, (payload,))
    assert record.job == failed.job


def test_records_written_by_node_decode() -> None:
    expected = dict(read_lines(EXPECTED_FILE))
    checked = 0
    for name, kind, data in read_lines(CORPUS_FILE):
        if kind == "working_on":
            _, worker, queue, payload, ts = data
            record = decode_working_on(expected[name])
            assert (record.worker, record.queue, record.payload_text) == (worker, queue, payload)
            assert record.run_at == datetime.fromtimestamp(int(ts), UTC)
            assert record.job == decode_job(payload)
            checked += 1
        elif kind == "failure":
            _, worker, queue, payload, exception, error, backtrace, ts = data
            failed = decode_failure(expected[name])
            assert (failed.worker, failed.queue, failed.payload_text) == (worker, queue, payload)
            assert (failed.exception, failed.error) == (exception, error)
            assert failed.backtrace == tuple(backtrace or ())
            assert failed.failed_at == datetime.fromtimestamp(int(ts), UTC)
            assert failed.job == decode_job(payload)
            checked += 1
    assert checked == 12


@pytest.mark.parametrize("garbage", ["not json", "{broken", '1,"x":2', "}{", ""])
def test_working_on_built_by_lua_with_a_garbage_payload(garbage: str) -> None:
    record = decode_working_on(working_on_prefix("w", "q", 0) + garbage + "}")
    assert (record.worker, record.queue, record.payload_text, record.job) == (
        "w",
        "q",
        garbage,
        None,
    )
    assert record.run_at == datetime(1970, 1, 1, tzinfo=UTC)


def test_working_on_written_by_node_lua_cjson() -> None:
    # cjson: any key order, "/" escaped, empty array written as an object
    text = (
        '{"payload":{"args":[{"url":"http:\\/\\/x\\/y"}],"queue":"q","class":"a\\/b"},'
        '"worker":"host:9+1","queue":"q","run_at":"Wed Jun 17 2026 14:06:56 GMT-0700 (PDT)"}'
    )
    record = decode_working_on(text)
    assert record.worker == "host:9+1"
    assert (
        record.payload_text == '{"args":[{"url":"http:\\/\\/x\\/y"}],"queue":"q","class":"a\\/b"}'
    )
    assert record.job is not None
    assert (record.job.task, record.job.args) == ("a/b", ({"url": "http://x/y"},))
    assert record.run_at == datetime(2026, 6, 17, 21, 6, 56, tzinfo=UTC)
    empty = decode_working_on('{"queue":"q","payload":{"class":"t","args":{},"queue":"q"}}')
    assert empty.job == Job("t", "q", (), '{"class":"t","queue":"q","args":[]}')


def test_working_on_written_by_ruby() -> None:
    text = (
        '{"queue":"low","run_at":"2026-06-17T21:06:56Z","payload":{"class":"Archive","args":[7]}}'
    )
    record = decode_working_on(text)
    assert record.worker == ""
    assert record.queue == "low"
    assert record.run_at == datetime(2026, 6, 17, 21, 6, 56, tzinfo=UTC)
    assert record.job is not None
    assert (record.job.task, record.job.queue, record.job.args) == ("Archive", "low", (7,))


def test_working_on_that_is_not_a_record() -> None:
    for text in ("", "garbage", "[1]", '{"worker":"w"'):
        record = decode_working_on(text)
        assert (record.worker, record.queue, record.job, record.run_at) == ("", "", None, None)
        assert record.payload_text == text


# --------------------------------------------------------------------------- failures


def test_failure_key_order_and_round_trip() -> None:
    with zone("America/Los_Angeles"):
        text = encode_failure(
            worker="host:1+1",
            queue="default",
            payload=JOB,
            exception="TypeError",
            error="x is not a function",
            backtrace=["    at f (a.js:1:2)"],
            failed_at=1781730416,
        )
    assert text == (
        f'{{"worker":"host:1+1","queue":"default","payload":{JOB},"exception":"TypeError",'
        '"error":"x is not a function","backtrace":["    at f (a.js:1:2)"],'
        '"failed_at":"Wed Jun 17 2026 14:06:56 GMT-0700 (Pacific Daylight Time)"}'
    )
    failed = decode_failure(text)
    assert failed.worker == "host:1+1"
    assert failed.queue == "default"
    assert failed.job == decode_job(JOB)
    assert failed.payload_text == JOB
    assert (failed.exception, failed.error) == ("TypeError", "x is not a function")
    assert failed.backtrace == ("    at f (a.js:1:2)",)
    assert failed.failed_at == datetime(2026, 6, 17, 21, 6, 56, tzinfo=UTC)
    assert failed.raw == text


def test_failure_with_no_backtrace_and_a_garbage_payload() -> None:
    text = encode_failure(
        worker="w",
        queue="q",
        payload="{not json",
        exception="PayloadError",
        error="bad",
        backtrace=None,
        failed_at=0,
    )
    assert '"payload":"{not json","exception"' in text
    assert '"backtrace":null' in text
    failed = decode_failure(text)
    assert (failed.payload_text, failed.job, failed.backtrace) == ("{not json", None, ())


def test_failure_written_by_ruby_and_by_resque_retry() -> None:
    ruby = (
        '{"failed_at":"2026/06/17 14:06:56 PDT","payload":{"class":"Archive","args":[7]},'
        '"exception":"RuntimeError","error":"boom","backtrace":["a.rb:1"],'
        '"worker":"host:99:low,high","queue":"low"}'
    )
    failed = decode_failure(ruby)
    assert failed.worker == "host:99:low,high"
    assert failed.job is not None
    assert (failed.job.task, failed.job.queue) == ("Archive", "low")
    assert failed.failed_at == datetime(2026, 6, 17, 21, 6, 56, tzinfo=UTC)
    retry = (
        '{"failed_at":"2026/06/17 21:06:56","payload":[{"a":1}],"exception":"Error: x",'
        '"error":"Error: x","backtrace":["Error: x","    at y"],"worker":"t","queue":"q"}'
    )
    with zone("UTC"):
        failed = decode_failure(retry)
    assert (failed.job, failed.payload_text, failed.worker) == (None, '[{"a":1}]', "t")
    assert failed.failed_at == datetime(2026, 6, 17, 21, 6, 56, tzinfo=UTC)


def test_failure_that_is_not_a_record() -> None:
    failed = decode_failure("garbage")
    assert (failed.raw, failed.payload_text, failed.job) == ("garbage", "garbage", None)
    assert failed.error == "unreadable failure record"


# --------------------------------------------------------------------------- pings


def test_ping_rounds_half_up_like_math_round() -> None:
    assert encode_ping("h:1+1", "a,b", 10.5) == '{"time":11,"name":"h:1+1","queues":"a,b"}'
    assert encode_ping("n", "q", -2.5) == '{"time":-2,"name":"n","queues":"q"}'
    assert encode_ping("n", "q", 0.49999999999999994) == '{"time":0,"name":"n","queues":"q"}'
    assert decode_ping('{"queues":"q","time":12,"name":"n"}') == (12.0, "n", "q")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("nope", "ping is not valid JSON"),
        ("[]", "ping is an array, not a JSON object"),
        ('{"name":"n"}', 'ping "time" must be a number, not null'),
        ('{"time":"1"}', 'ping "time" must be a number, not "1"'),
    ],
)
def test_decode_ping_errors(text: str, message: str) -> None:
    with pytest.raises(PayloadError, match=message):
        decode_ping(text)


# --------------------------------------------------------------------------- dates


@pytest.mark.parametrize("tz", ["UTC", "America/Los_Angeles", "Asia/Kolkata", "Etc/GMT-4"])
@given(st.floats(min_value=-2e9, max_value=4e9))
def test_js_date_parses_back(tz: str, ts: float) -> None:
    with zone(tz):
        text = js_date(ts)
    assert parse_date(text) == datetime.fromtimestamp(math.trunc(ts * 1000) // 1000, UTC)


def test_js_date_format() -> None:
    with zone("America/Los_Angeles"):
        assert js_date(1781730416) == "Wed Jun 17 2026 14:06:56 GMT-0700 (Pacific Daylight Time)"
    with zone("UTC"):
        assert js_date(0) == "Thu Jan 01 1970 00:00:00 GMT+0000 (Coordinated Universal Time)"
    with zone("Etc/GMT-4"):
        assert js_date(0) == "Thu Jan 01 1970 04:00:00 GMT+0400 (GMT+04:00)"


WHEN = datetime(2026, 6, 17, 21, 6, 56, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Wed Jun 17 2026 14:06:56 GMT-0700 (Pacific Daylight Time)", WHEN),
        ("Thu Jun 18 2026 02:36:56 GMT+0530 (India Standard Time)", WHEN),
        ("Wed, 17 Jun 2026 21:06:56 GMT", WHEN),
        ("Wed Jun 17 2026 21:06:56 UTC", WHEN),
        ("Wed Jun 17 2026 21:06:56 GMT", WHEN),
        ("Jun 17 2026 21:06", datetime(2026, 6, 17, 21, 6, tzinfo=UTC)),
        ("2026-06-17T21:06:56Z", WHEN),
        ("2026-06-17T21:06:56.000Z", WHEN),
        ("2026-06-17T14:06:56-07:00", WHEN),
        ("2026-06-17T23:06:56+0200", WHEN),
        ("2026/06/17 14:06:56 PDT", WHEN),
        ("2026/06/17 21:06:56 UTC", WHEN),
        ("2026/06/17 23:06:56 CEST", WHEN),
        ("2026-06-17 14:06:56 -0700", WHEN),
        ("2026/06/17 21:06:56", WHEN),  # no zone: local time (UTC here)
        (" 2026-06-17T21:06:56 ", WHEN),
        ("2026-06-17", datetime(2026, 6, 17, tzinfo=UTC)),
        (1781730416, WHEN),
        (1781730416.0, WHEN),
        ("1781730416", WHEN),
        (None, None),
        (True, None),
        (float("nan"), None),
        (1e300, None),
        ("", None),
        ("garbage", None),
        ("2026/13/45 25:00:00", None),
        ("2026/06/17 21:06:56 XYZT", None),
        ("Wed Foo 17 2026 21:06:56 GMT+0000", None),
    ],
)
def test_parse_date(text: Any, expected: datetime | None) -> None:
    with zone("UTC"):
        assert parse_date(text) == expected


def test_parse_date_without_zone_is_local_time() -> None:
    with zone("America/Los_Angeles"):
        assert parse_date("2026/06/17 14:06:56") == WHEN
        assert parse_date("2026-06-17T14:06:56") == WHEN
        assert parse_date("2026/06/17 14:06:56 PDT") == WHEN


# --------------------------------------------------------------------------- regenerate


def main() -> None:
    """Rewrite the corpus, and node's output for it when node is installed."""
    GOLDEN.mkdir(exist_ok=True)
    CORPUS_FILE.write_text(corpus_text(corpus()), "ascii")
    print(f"wrote {CORPUS_FILE}")
    node = shutil.which("node")
    if node is None:
        sys.exit("node is not installed: the expected file was not rewritten")
    out = subprocess.run([node, str(SCRIPT), str(CORPUS_FILE)], check=True, capture_output=True)
    EXPECTED_FILE.write_bytes(out.stdout)
    print(f"wrote {EXPECTED_FILE}")


if __name__ == "__main__":
    main()

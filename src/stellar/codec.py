"""The wire format: every JSON text stellar writes to or reads from storage.

Resque clients match jobs by the *exact string* of their JSON (deleting a job, the
``timestamps:`` keys, duplicate checks, lock keys, removing a failed entry), so the text
this module writes must be byte-identical to what node-resque writes with JavaScript's
``JSON.stringify``. Two facts of JavaScript matter beyond ``json.dumps``:

* object keys that are array indexes (``"0"`` … ``"4294967294"``) come first, in numeric
  order, before the other keys in insertion order;
* numbers use JavaScript's shortest round-trip formatting (``1e-7``, ``1e+21``, ``1`` for
  ``1.0``, ``0`` for ``-0.0``, ``null`` for NaN and infinities).

:func:`dumps` gives ``JSON.stringify`` output for any JSON-like Python value; the other
functions build and read the Resque records (jobs, working-on records, failed entries,
pings) and parse the date formats that JavaScript and Ruby clients write.

Readers are lenient (node-resque, Ruby Resque and stellar records all decode), writers are
exact. Records that carry a job (working-on, failed) embed the job text *verbatim*, so a job
read back from them is the same string that was in the queue.
"""

from __future__ import annotations

import functools
import json
import math
import re
import time as _time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from stellar.errors import InvalidParams, PayloadError
from stellar.job import FailedJob, Job, WorkingOn

__all__ = [
    "MAX_DEPTH",
    "MAX_SAFE_INTEGER",
    "check_params",
    "decode_failure",
    "decode_job",
    "decode_ping",
    "decode_working_on",
    "dumps",
    "encode_failure",
    "encode_job",
    "encode_params_job",
    "encode_ping",
    "encode_working_on",
    "js_date",
    "loads",
    "parse_date",
    "raw_member",
    "working_on_prefix",
]

MAX_SAFE_INTEGER = 2**53 - 1
"""Largest integer every Resque client (JavaScript's ``Number``) holds exactly."""

MAX_DEPTH = 500
"""Deepest nesting :func:`check_params` accepts.

Redis' Lua cjson (used by node-resque's pop script) refuses documents nested deeper than
1000 levels, and Python's own parser is bounded by the recursion limit; 500 leaves room.
"""

_MAX_INDEX = 2**32 - 2  # largest array index: JS arrays hold at most 2**32 - 1 elements
_FAST_DEPTH = 64  # deeper values take the checked (slower) path of dumps

_INDEX_KEY = re.compile(r"(?:0|[1-9][0-9]{0,9})\Z")
_SURROGATE = re.compile("[\ud800-\udfff]")
_WS = re.compile(r"[ \t\n\r]*")

# One encoder for the fast path: json.dumps(..., separators=...) builds a new encoder per
# call, which costs more than the encoding of a small job.
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=True)
_encode_fast = _ENCODER.encode
# json's own string quoting and string scanning (C functions the stubs do not declare)
_encode_str: Callable[[str], str] = getattr(json.encoder, "encode_basestring")  # noqa: B009
_Scan = Callable[[str, int, bool], tuple[str, int]]
_scanstring: _Scan = getattr(json.decoder, "scanstring")  # noqa: B009


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _parse_int(text: str) -> int | float:
    """An integer literal as JSON.parse holds it: beyond ±2**53, the nearest float.

    So a float such as ``5.615760415078305e16`` (written ``56157604150783050``, as JS does)
    reads back as the same float, and every client sees the same number.
    """
    if len(text) < 16:
        return int(text)
    f = float(text)
    return int(text) if -_SAFE_FLOAT <= f <= _SAFE_FLOAT else f


_SAFE_FLOAT = float(2**53)

# A strict parser: like JSON.parse it refuses NaN/Infinity (json.loads accepts them).
_DECODER = json.JSONDecoder(parse_constant=_reject_constant, parse_int=_parse_int)
_loads = _DECODER.decode
_raw_decode = _DECODER.raw_decode


def loads(text: str | bytes) -> Any:
    """Parse JSON as ``JSON.parse`` does: NaN and Infinity are refused, and an integer
    beyond ±2**53 becomes the nearest float (what every JavaScript client holds), so
    ``loads(dumps(x)) == x`` for every finite JSON value. Raises ``ValueError``.
    """
    return _loads(text.decode("utf-8") if isinstance(text, bytes) else text)


# --------------------------------------------------------------------------- dumps


def _js_number(x: float) -> str:
    """``Number.prototype.toString()`` of a finite float (ECMAScript Number::toString)."""
    if x == 0:
        return "0"  # also -0.0
    r = repr(x)
    if "e" not in r:
        # Python writes 1e-4 <= |x| < 1e16 without exponent; JS does the same there.
        return r[:-2] if r.endswith(".0") else r
    mantissa, _, exp = r.partition("e")
    sign = ""
    if mantissa[0] == "-":
        sign, mantissa = "-", mantissa[1:]
    digits = mantissa.replace(".", "")
    k = len(digits)
    n = int(exp) + 1  # value = 0.<digits> * 10**n
    if k <= n <= 21:
        return sign + digits + "0" * (n - k)
    if 0 < n <= 21:
        return sign + digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return sign + "0." + "0" * -n + digits
    e = n - 1
    frac = "." + digits[1:] if k > 1 else ""
    return f"{sign}{digits[0]}{frac}e{'+' if e >= 0 else '-'}{abs(e)}"


def _json_float(x: float) -> str:
    if x != x or x in (math.inf, -math.inf):
        return "null"
    return _js_number(x)


def _json_int(n: int) -> str:
    if -MAX_SAFE_INTEGER - 1 <= n <= MAX_SAFE_INTEGER + 1:
        return int.__repr__(n)
    try:
        return _json_float(float(n))  # what a JS Number would hold (correctly rounded)
    except OverflowError:
        return "null"  # Number("1e400") is Infinity


def _json_str(s: str) -> str:
    """JS string quoting: as json's, plus ES2019 escaping of lone surrogates."""
    out: str = _encode_str(s)
    if s.isascii() or not _SURROGATE.search(out):
        return out
    # A JS string is UTF-16: a high+low pair of code points is one character there.
    joined = s.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", _encode_str(joined))


def _js_key(k: object) -> str:
    """The property name JavaScript would use for a Python dict key (``String(k)``)."""
    if isinstance(k, str):
        return str(k)
    if k is True:
        return "true"
    if k is False:
        return "false"
    if k is None:
        return "null"
    if isinstance(k, int):
        k = float(k) if abs(k) > MAX_SAFE_INTEGER + 1 else k
        if isinstance(k, int):
            return int.__repr__(k)
    if isinstance(k, float):
        if k != k:
            return "NaN"
        if k in (math.inf, -math.inf):
            return "Infinity" if k > 0 else "-Infinity"
        return _js_number(k)
    raise TypeError(f"keys must be str, int, float, bool or None, not {type(k).__name__}")


def _is_index(k: str) -> bool:
    return _INDEX_KEY.match(k) is not None and int(k) <= _MAX_INDEX


_SAFE_LOW, _SAFE_HIGH = -(2**53), 2**53  # ints json and JavaScript write alike


def _plain(v: Any, depth: int) -> bool:  # noqa: C901 - inlined for speed
    """True when ``json`` already writes ``v`` exactly as JavaScript would.

    That is: only exact dict/list/tuple/str/bool/None and ints within ±2**53, str keys that
    do not start with a digit (so no array-index keys), no floats, not too deep (so a cycle
    ends here). Strings are not inspected: lone surrogates are found in the output instead.
    Scalars inside containers are checked inline: this runs on every job enqueued.
    """
    t = type(v)
    if t is dict:
        if depth > _FAST_DEPTH:
            return False
        for k, x in v.items():
            if type(k) is not str or "0" <= k[:1] <= "9":
                return False
            t = type(x)
            if t is str or t is bool or x is None:
                continue
            if t is int:
                if not _SAFE_LOW <= x <= _SAFE_HIGH:
                    return False
            elif not _plain(x, depth + 1):
                return False
        return True
    if t is list or t is tuple:
        if depth > _FAST_DEPTH:
            return False
        for x in v:
            t = type(x)
            if t is str or t is bool or x is None:
                continue
            if t is int:
                if not _SAFE_LOW <= x <= _SAFE_HIGH:
                    return False
            elif not _plain(x, depth + 1):
                return False
        return True
    if t is str or t is bool or v is None:
        return True
    if t is int:
        return _SAFE_LOW <= v <= _SAFE_HIGH  # type: ignore[no-any-return]
    return False


def _encode(v: Any, parts: list[str], markers: set[int]) -> None:  # noqa: C901
    """The exact (slow) path of :func:`dumps`: one stack frame per nesting level."""
    if isinstance(v, str):
        parts.append(_json_str(v))
    elif v is None:
        parts.append("null")
    elif v is True:
        parts.append("true")
    elif v is False:
        parts.append("false")
    elif isinstance(v, int):
        parts.append(_json_int(v))
    elif isinstance(v, float):
        parts.append(_json_float(v))
    elif isinstance(v, (list, tuple, dict)):
        ident = id(v)
        if ident in markers:
            raise ValueError("Circular reference detected")
        markers.add(ident)
        if isinstance(v, dict):
            props: dict[str, Any] = {}
            for k, x in v.items():
                props[_js_key(k)] = x  # a repeated name keeps its first place, last value
            names = list(props)
            indexes = [k for k in names if _is_index(k)]
            if indexes:
                indexes.sort(key=int)
                names = indexes + [k for k in names if not _is_index(k)]
            parts.append("{")
            for i, k in enumerate(names):
                parts.append(("," if i else "") + _json_str(k) + ":")
                _encode(props[k], parts, markers)
            parts.append("}")
        else:
            parts.append("[")
            for i, x in enumerate(v):
                if i:
                    parts.append(",")
                _encode(x, parts, markers)
            parts.append("]")
        markers.discard(ident)
    else:
        raise TypeError(f"Object of type {type(v).__name__} is not JSON serializable")


def dumps(value: Any) -> str:
    """``JSON.stringify(value)`` exactly, as JavaScript (node-resque) writes it.

    Dicts, lists, tuples, str, int, float, bool and None (and their subclasses) are
    accepted; anything else raises ``TypeError`` and a cycle raises ``ValueError``.
    Non-str keys become the property name JavaScript would use (``1`` → ``"1"``). Ints
    beyond 2**53 are written as the JS ``Number`` closest to them would be; NaN and
    infinities as ``null``; lone surrogates as ``\\udxxx``.
    """
    if _plain(value, 0):
        out: str = _encode_fast(value)
        if out.isascii() or not _SURROGATE.search(out):
            return out
    parts: list[str] = []
    _encode(value, parts, set())
    return "".join(parts)


# --------------------------------------------------------------------------- params


_ALLOWED = "dict, list, tuple, str, int, float, bool or None"


def _path(path: Sequence[str | int]) -> str:
    return "params" + "".join(f"[{p}]" if isinstance(p, int) else f"[{_json_str(p)}]" for p in path)


def _check_str(s: str, what: str, path: Sequence[str | int]) -> None:
    if s.isascii():
        return
    m = _SURROGATE.search(s)
    if m:
        raise InvalidParams(
            f"{_path(path)}: {what} contains a lone surrogate U+{ord(m.group()):04X} "
            f"at index {m.start()}; it is not valid Unicode text (it cannot be written as "
            "UTF-8, and a node-resque worker would drop the job)"
        )


def _check(v: Any, path: list[str | int], parents: list[int]) -> None:
    if v is None or isinstance(v, bool):
        return
    if isinstance(v, str):
        _check_str(v, "string", path)
    elif isinstance(v, int):
        if not -MAX_SAFE_INTEGER <= v <= MAX_SAFE_INTEGER:
            raise InvalidParams(
                f"{_path(path)}: integer {v} is outside ±(2**53-1); JavaScript clients "
                "would round it (send it as a string)"
            )
    elif isinstance(v, float):
        if v != v or v in (math.inf, -math.inf):
            raise InvalidParams(
                f"{_path(path)}: {v!r} is not a JSON number (NaN and Infinity are not allowed)"
            )
    elif isinstance(v, (dict, list, tuple)):
        if id(v) in parents:
            raise InvalidParams(f"{_path(path)}: cycle: the value contains itself")
        if len(parents) >= MAX_DEPTH:
            raise InvalidParams(f"{_path(path)}: nested deeper than {MAX_DEPTH} levels")
        parents.append(id(v))
        if isinstance(v, dict):
            for k, x in v.items():
                if not isinstance(k, str):
                    raise InvalidParams(
                        f"{_path(path)}: key {k!r} ({type(k).__name__}) is not a string; "
                        "JSON object keys must be strings"
                    )
                path.append(k)
                _check_str(k, "key", path)
                _check(x, path, parents)
                path.pop()
        else:
            for i, x in enumerate(v):
                path.append(i)
                _check(x, path, parents)
                path.pop()
        parents.pop()
    else:
        raise InvalidParams(
            f"{_path(path)}: a {type(v).__module__}.{type(v).__qualname__} is not JSON "
            f"(allowed: {_ALLOWED})"
        )


def check_params(value: Any) -> None:
    """Refuse params that another Resque client would mangle or lose.

    Raises :class:`InvalidParams` naming the first problem and where it is
    (``params["a"][2]``): a non-str dict key, a string or key with a lone surrogate, an int
    with ``|n| > 2**53 - 1``, NaN or an infinity, a cycle, nesting deeper than
    :data:`MAX_DEPTH`, or a value that is not dict/list/tuple/str/int/float/bool/None.
    """
    _check(value, [], [])


# --------------------------------------------------------------------------- jobs


def encode_params_job(task: str, queue: str, params: Any) -> str:
    """``check_params(params)`` then ``encode_job(task, queue, [params])``, in one pass
    for the common case: params that :func:`dumps`' fast path accepts (no floats, no
    digit-leading keys, ints within ±2**53, shallow) and whose text holds no lone surrogate
    and no ±2**53 (which ``check_params`` refuses) need no separate check walk."""
    if _plain(params, 1):
        body: str = _encode_fast(params)
        if (body.isascii() or not _SURROGATE.search(body)) and _UNSAFE_INT not in body:
            return (
                '{"class":'
                + _json_str(task)
                + ',"queue":'
                + _json_str(queue)
                + (',"args":[' + body + "]}")
            )
    check_params(params)
    return encode_job(task, queue, [params])


_UNSAFE_INT = str(2**53)  # the one int _plain lets through that check_params refuses


def encode_job(task: str, queue: str, args: Sequence[Any]) -> str:
    """The job JSON node-resque writes: ``{"class":task,"queue":queue,"args":[...]}``."""
    return (
        '{"class":'
        + _json_str(task)
        + ',"queue":'
        + _json_str(queue)
        + ',"args":'
        + dumps(list(args))
        + "}"
    )


def _kind(v: object) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "a boolean"
    if isinstance(v, (int, float)):
        return "a number"
    if isinstance(v, str):
        return "a string"
    if isinstance(v, list):
        return "an array"
    return "an object"


def _short(v: object, limit: int = 60) -> str:
    try:
        s = dumps(v)
    except (TypeError, ValueError):  # pragma: no cover - parsed JSON always encodes
        s = repr(v)
    return s if len(s) <= limit else s[: limit - 1] + "…"


def _text(payload: str | bytes) -> str:
    if isinstance(payload, str):
        return payload
    try:
        return bytes(payload).decode("utf-8")
    except UnicodeDecodeError as e:
        raise PayloadError(
            f"payload is not UTF-8 text ({e.reason} at byte {e.start})", payload
        ) from None


def _parse(text: str, raw: str | bytes, what: str = "payload") -> Any:
    try:
        return _loads(text)
    except ValueError as e:
        raise PayloadError(f"{what} is not valid JSON: {e}", raw) from None
    except RecursionError:
        raise PayloadError(f"{what} is nested too deeply to parse", raw) from None


def _job_from(obj: Any, text: str, queue: str | None, raw: str | bytes) -> Job:
    if not isinstance(obj, dict):
        raise PayloadError(f"payload is {_kind(obj)}, not a JSON object", raw)
    if "class" not in obj:
        raise PayloadError('payload has no "class" key', raw)
    task = obj["class"]
    if not isinstance(task, str) or not task:
        raise PayloadError(f'payload "class" must be a non-empty string, not {_short(task)}', raw)
    if "args" not in obj:
        raise PayloadError('payload has no "args" key', raw)
    args = obj["args"]
    if not isinstance(args, list):
        raise PayloadError(f'payload "args" must be an array, not {_kind(args)}', raw)
    if "queue" in obj:
        q = obj["queue"]
        if not isinstance(q, str):
            raise PayloadError(f'payload "queue" must be a string, not {_short(q)}', raw)
    elif queue is None:
        raise PayloadError('payload has no "queue" key and no queue was given', raw)
    else:
        q = queue  # Ruby Resque writes no queue key: the job belongs where it was found
    return Job(task, q, tuple(args), text)


def decode_job(payload: str | bytes, queue: str | None = None) -> Job:
    """Read a job payload (node-resque's, Ruby Resque's or ours).

    ``queue`` is used when the payload has no ``queue`` key (Ruby Resque jobs).
    ``Job.payload`` is the text exactly as given. Raises :class:`PayloadError` (keeping the
    raw payload) for bytes that are not UTF-8, text that is not JSON, a value that is not an
    object, a missing/empty/non-string ``class``, or missing/non-array ``args``.
    """
    text = _text(payload)
    return _job_from(_parse(text, payload), text, queue, payload)


# --------------------------------------------------------------------------- raw members


def _ws(text: str, i: int) -> int:
    """The index of the first non-space character at or after ``i``."""
    if text[i : i + 1] not in _SPACES:
        return i
    m = _WS.match(text, i)
    return m.end() if m else i


_SPACES = frozenset(" \t\n\r")


_Member = tuple[str, int, int, Any]  # key, value start, value end (-1: unreadable), value


def _members(text: str) -> tuple[list[_Member], bool]:
    """Scan the members of a top-level JSON object, keeping each value's text span.

    Returns the members read (in order, repeats included) and whether the whole text was a
    valid object. Reading stops at the first error; a member whose value could not be
    read is returned with end ``-1``.
    """
    members: list[_Member] = []
    i = _ws(text, 0)
    if text[i : i + 1] != "{":
        return members, False
    i = _ws(text, i + 1)
    if text[i : i + 1] == "}":
        return members, _ws(text, i + 1) == len(text)
    while True:
        if text[i : i + 1] != '"':
            return members, False
        try:
            key, i = _scanstring(text, i + 1, True)
        except ValueError:
            return members, False
        i = _ws(text, i)
        if text[i : i + 1] != ":":
            return members, False
        start = _ws(text, i + 1)
        try:
            value, end = _raw_decode(text, start)
        except (ValueError, RecursionError):
            members.append((key, start, -1, None))
            return members, False
        members.append((key, start, end, value))
        i = _ws(text, end)
        c = text[i : i + 1]
        if c == ",":
            i = _ws(text, i + 1)
        elif c == "}":
            return members, _ws(text, i + 1) == len(text)
        else:
            members[-1] = (key, start, -1, None)
            return members, False


def raw_member(text: str, key: str) -> str | None:
    """The exact text of the value of top-level ``key`` in the JSON object ``text``.

    ``raw_member('{"a": [1, 2.50]}', "a") == '[1, 2.50]'``. When the key repeats, the last
    one wins (as in ``JSON.parse``). ``None`` when ``text`` is not a JSON object or has no
    such key (a value that can be read before a syntax error later on is still returned).
    """
    found: str | None = None
    for k, start, end, _ in _members(text)[0]:
        if k == key and end >= 0:
            found = text[start:end]
    return found


# --------------------------------------------------------------------------- records


def _embed(payload: str) -> str:
    """The job text as it goes into a record: verbatim when it is a JSON object or array
    (or number/bool/null) with no surrounding space, else as a JSON string, so that
    decoding gives back exactly ``payload``."""
    if payload and payload[0] not in ' \t\n\r"' and payload[-1] not in " \t\n\r":
        try:
            _loads(payload)
        except (ValueError, RecursionError):
            pass
        else:
            return payload
    return _json_str(payload)


def working_on_prefix(worker: str, queue: str, run_at: float) -> str:
    """Everything of a working-on record before the payload text.

    A Lua script can build the record as ``prefix .. payload .. "}"``.
    """
    return (
        '{"run_at":'
        + _json_str(js_date(run_at))
        + ',"queue":'
        + _json_str(queue)
        + ',"worker":'
        + _json_str(worker)
        + ',"payload":'
    )


def encode_working_on(worker: str, queue: str, payload: str, run_at: float) -> str:
    """A worker's working-on record, as node-resque 9 writes it without Lua.

    ``{"run_at":"<js_date>","queue":q,"worker":w,"payload":<payload verbatim>}``; a payload
    that is not JSON is written as a JSON string.
    """
    return working_on_prefix(worker, queue, run_at) + _embed(payload) + "}"


def _field(fields: dict[str, Any], key: str) -> str:
    v = fields.get(key)
    if v is None:
        return ""
    return v if isinstance(v, str) else dumps(v)


def _cjson_job(value: Any, queue: str | None) -> Job | None:
    """A job whose empty ``args`` Redis' cjson re-encoded as ``{}`` (node-resque's Lua)."""
    if not (isinstance(value, dict) and value.get("args") == {}):
        return None
    task, q = value.get("class"), value.get("queue", queue)
    if not (isinstance(task, str) and task and isinstance(q, str)):
        return None
    return Job(task, q, (), encode_job(task, q, ()))


_WORKING_ON_HEAD = ["run_at", "queue", "worker", "payload"]


def _payload(
    text: str, members: list[_Member], valid: bool, queue: str | None
) -> tuple[str, Job | None, set[str]]:
    """The payload text and job of a record, and the keys that can be trusted.

    In a valid record, the payload value's raw text is kept verbatim (a JSON string is
    taken as the text it holds). A record that is broken, or that continues after a
    payload written in our layout (``run_at, queue, worker, payload``), was built as
    ``prefix .. payload .. "}"`` with a payload that is not JSON: the payload then runs
    from its key to the closing brace, and only the members before it are trusted.
    """
    names = {m[0] for m in members}
    pos = [i for i, m in enumerate(members) if m[0] == "payload"]
    if not pos:
        return ("" if valid else text), None, (names if valid else set())
    first = pos[0]
    ours = [m[0] for m in members[: first + 1]] == _WORKING_ON_HEAD
    if not valid or (ours and first != len(members) - 1):
        start = members[first][1]
        tail = text.rstrip(" \t\n\r")
        end = len(tail) - 1 if tail.endswith("}") and len(tail) - 1 >= start else len(text)
        return text[start:end], None, {m[0] for m in members[:first]}
    _, start, end, value = members[pos[-1]]
    if isinstance(value, str):
        body = value
        try:
            job: Job | None = decode_job(body, queue)
        except PayloadError:
            job = None
        return body, job, names
    body = text[start:end]
    try:
        job = _job_from(value, body, queue, body)
    except PayloadError:
        job = _cjson_job(value, queue)
    return body, job, names


def decode_working_on(text: str) -> WorkingOn:
    """Read a working-on record: ours, node-resque's (any key order, cjson escapes such as
    ``\\/``) or Ruby Resque's (no ``worker`` key: worker ``""``).

    Never raises: what cannot be read is left empty, and ``payload_text`` keeps the payload
    text verbatim (the whole record when it is not a JSON object). ``job`` is ``None`` when
    the payload is not a valid job.
    """
    members, valid = _members(text)
    fields = {k: v for k, _, end, v in members if end >= 0}
    queue_value = fields.get("queue")
    queue = queue_value if isinstance(queue_value, str) else None
    payload_text, job, trusted = _payload(text, members, valid, queue)
    fields = {k: v for k, v in fields.items() if k in trusted}
    return WorkingOn(
        worker=_field(fields, "worker"),
        queue=_field(fields, "queue"),
        run_at=parse_date(fields.get("run_at")),
        job=job,
        payload_text=payload_text,
        raw=text,
    )


def encode_failure(
    *,
    worker: str,
    queue: str,
    payload: str,
    exception: str,
    error: str,
    backtrace: Sequence[str] | None,
    failed_at: float,
) -> str:
    """A failed-list entry, keys in node-resque's order.

    ``worker, queue, payload, exception, error, backtrace, failed_at``; the payload text is
    embedded verbatim (as a JSON string when it is not JSON), ``backtrace`` may be ``None``
    (``null``), ``failed_at`` is written as :func:`js_date`.
    """
    bt = "null" if backtrace is None else dumps([str(line) for line in backtrace])
    return (
        '{"worker":'
        + _json_str(worker)
        + ',"queue":'
        + _json_str(queue)
        + ',"payload":'
        + _embed(payload)
        + ',"exception":'
        + _json_str(exception)
        + ',"error":'
        + _json_str(error)
        + ',"backtrace":'
        + bt
        + ',"failed_at":'
        + _json_str(js_date(failed_at))
        + "}"
    )


def _backtrace(v: Any) -> tuple[str, ...]:
    if v is None:
        return ()
    if isinstance(v, str):
        return tuple(v.splitlines())
    if isinstance(v, list):
        return tuple(x if isinstance(x, str) else dumps(x) for x in v)
    return (dumps(v),)


def decode_failure(text: str) -> FailedJob:
    """Read a failed-list entry: node-resque's, Ruby Resque's, the Retry plugin's or ours.

    Never raises, so one damaged entry cannot hide the others: unreadable fields are left
    empty and ``raw`` always keeps the exact text (removing or retrying matches on it).
    ``job`` is ``None`` when the payload is not a valid job (for instance the args array
    resque-retry stores).
    """
    members, valid = _members(text)
    fields = {k: v for k, _, end, v in members if end >= 0}
    queue_value = fields.get("queue")
    queue = queue_value if isinstance(queue_value, str) else None
    payload_text, job, trusted = _payload(text, members, valid, queue)
    fields = {k: v for k, v in fields.items() if k in trusted}
    error = _field(fields, "error")
    if not valid and not trusted:
        error = error or "unreadable failure record"
    return FailedJob(
        worker=_field(fields, "worker"),
        queue=_field(fields, "queue"),
        job=job,
        payload_text=payload_text,
        exception=_field(fields, "exception"),
        error=error,
        backtrace=_backtrace(fields.get("backtrace")),
        failed_at=parse_date(fields.get("failed_at")),
        raw=text,
    )


def _round_half_up(x: float) -> int:
    """JavaScript's ``Math.round``: halves go up (towards +infinity)."""
    r = math.floor(x)
    return int(r + 1 if x - r >= 0.5 else r)


def encode_ping(name: str, queues: str, time: float) -> str:
    """A worker ping as node-resque 9 writes it: ``{"time":<s>,"name":..,"queues":..}``.

    ``time`` (unix seconds) is rounded half up to whole seconds, like ``Math.round``.
    """
    return (
        '{"time":'
        + str(_round_half_up(time))
        + ',"name":'
        + _json_str(name)
        + ',"queues":'
        + _json_str(queues)
        + "}"
    )


def decode_ping(text: str) -> tuple[float, str, str]:
    """Read a ping: ``(time in unix seconds, worker name, queues)``.

    Raises :class:`PayloadError` when it is not a JSON object with a numeric ``time``.
    """
    obj = _parse(text, text, "ping")
    if not isinstance(obj, dict):
        raise PayloadError(f"ping is {_kind(obj)}, not a JSON object", text)
    t = obj.get("time")
    if isinstance(t, bool) or not isinstance(t, (int, float)):
        raise PayloadError(f'ping "time" must be a number, not {_short(t)}', text)
    return float(t), _field(obj, "name"), _field(obj, "queues")


# --------------------------------------------------------------------------- dates

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTH_NUMBER = {m.lower(): i + 1 for i, m in enumerate(_MONTHS)}

# Long names JavaScript (ICU) gives zones, keyed by the C library's abbreviation and the
# UTC offset in minutes (the abbreviation alone is ambiguous: CST, IST, PST).
_ZONE_NAMES: dict[tuple[str, int], str] = {
    ("UTC", 0): "Coordinated Universal Time",
    ("GMT", 0): "Greenwich Mean Time",
    ("BST", 60): "British Summer Time",
    ("IST", 60): "Irish Standard Time",
    ("WET", 0): "Western European Standard Time",
    ("WEST", 60): "Western European Summer Time",
    ("CET", 60): "Central European Standard Time",
    ("CEST", 120): "Central European Summer Time",
    ("EET", 120): "Eastern European Standard Time",
    ("EEST", 180): "Eastern European Summer Time",
    ("MSK", 180): "Moscow Standard Time",
    ("IST", 120): "Israel Standard Time",
    ("IDT", 180): "Israel Daylight Time",
    ("SAST", 120): "South Africa Standard Time",
    ("WAT", 60): "West Africa Time",
    ("CAT", 120): "Central Africa Time",
    ("EAT", 180): "East Africa Time",
    ("PKT", 300): "Pakistan Standard Time",
    ("IST", 330): "India Standard Time",
    ("WIB", 420): "Western Indonesia Time",
    ("CST", 480): "China Standard Time",
    ("HKT", 480): "Hong Kong Standard Time",
    ("PST", 480): "Philippine Standard Time",
    ("AWST", 480): "Australian Western Standard Time",
    ("JST", 540): "Japan Standard Time",
    ("KST", 540): "Korean Standard Time",
    ("ACST", 570): "Australian Central Standard Time",
    ("ACDT", 630): "Australian Central Daylight Time",
    ("AEST", 600): "Australian Eastern Standard Time",
    ("AEDT", 660): "Australian Eastern Daylight Time",
    ("NZST", 720): "New Zealand Standard Time",
    ("NZDT", 780): "New Zealand Daylight Time",
    ("NST", -210): "Newfoundland Standard Time",
    ("NDT", -150): "Newfoundland Daylight Time",
    ("AST", -240): "Atlantic Standard Time",
    ("ADT", -180): "Atlantic Daylight Time",
    ("EST", -300): "Eastern Standard Time",
    ("EDT", -240): "Eastern Daylight Time",
    ("CST", -360): "Central Standard Time",
    ("CDT", -300): "Central Daylight Time",
    ("MST", -420): "Mountain Standard Time",
    ("MDT", -360): "Mountain Daylight Time",
    ("PST", -480): "Pacific Standard Time",
    ("PDT", -420): "Pacific Daylight Time",
    ("AKST", -540): "Alaska Standard Time",
    ("AKDT", -480): "Alaska Daylight Time",
    ("HST", -600): "Hawaii-Aleutian Standard Time",
    ("HDT", -540): "Hawaii-Aleutian Daylight Time",
}


def _offset_text(minutes: int, sep: str) -> str:
    sign = "+" if minutes >= 0 else "-"
    h, m = divmod(abs(minutes), 60)
    return f"{sign}{h:02d}{sep}{m:02d}"


_MAX_DATE_MS = 8.64e15  # JavaScript dates span ±100,000,000 days around 1970


# js_date's last answer: (second, the zone names then, text); claims repeat the same second
_last_date: tuple[int, tuple[str, str], str] = (0, ("", ""), "")


def js_date(ts: float) -> str:
    """JavaScript's ``new Date(ts * 1000).toString()`` in this process's time zone.

    ``Wed Jun 17 2026 14:06:56 GMT-0700 (Pacific Daylight Time)``. The zone's long name
    comes from a table of common zones (JavaScript takes it from ICU); other zones get
    ``(GMT+04:00)``, as JavaScript writes zones ICU has no name for. Readers ignore the
    name (``Date.parse`` does too). Like JavaScript, a time outside its date range (or
    NaN) gives ``"Invalid Date"``.
    """
    ms = ts * 1000
    if not -_MAX_DATE_MS <= ms <= _MAX_DATE_MS:
        return "Invalid Date"
    global _last_date
    seconds = math.trunc(ms) // 1000  # new Date(ms) truncates ms, toString floors seconds
    zone = _time.tzname
    if _last_date[0] == seconds and _last_date[1] == zone and _last_date[2]:
        return _last_date[2]  # every claim within a second writes the same date
    text = _js_date(seconds)
    _last_date = (seconds, zone, text)
    return text


def _js_date(seconds: int) -> str:
    try:
        lt = _time.localtime(seconds)
    except (OverflowError, OSError, ValueError):  # pragma: no cover - a 32-bit C library
        return "Invalid Date"
    gmtoff = lt.tm_gmtoff
    minutes = (abs(gmtoff) // 60) * (1 if gmtoff >= 0 else -1)
    name = _ZONE_NAMES.get((lt.tm_zone, minutes)) or "GMT" + _offset_text(minutes, ":")
    year = lt.tm_year
    year_text = f"{year:04d}" if year >= 0 else f"-{-year:04d}"
    return (
        f"{_DAYS[lt.tm_wday]} {_MONTHS[lt.tm_mon - 1]} {lt.tm_mday:02d} {year_text} "
        f"{lt.tm_hour:02d}:{lt.tm_min:02d}:{lt.tm_sec:02d} GMT{_offset_text(minutes, '')} "
        f"({name})"
    )


_JS_DATE = re.compile(
    r"(?:[A-Za-z]{3},? )?([A-Za-z]{3}) (\d{1,2}) (-?\d{4,6}) (\d\d):(\d\d)(?::(\d\d))?"
    r"(?: (GMT|UTC|Z)([+-]\d{4})?)?(?: \(.*\))?\Z"
)
_UTC_STRING = re.compile(  # Date.prototype.toUTCString: "Wed, 17 Jun 2026 21:06:56 GMT"
    r"[A-Za-z]{3}, (\d{1,2}) ([A-Za-z]{3}) (-?\d{4,6}) (\d\d):(\d\d):(\d\d) GMT\Z"
)
_YMD = re.compile(  # ISO 8601, Ruby's Time#to_s and Resque's failed_at
    r"(\d{4})[-/](\d\d)[-/](\d\d)(?:[T ](\d\d):(\d\d)(?::(\d\d)(?:[.,](\d+))?)?)?"
    r"\s*(Z|[+-]\d\d(?::?\d\d)?|[A-Za-z]{1,6})?\Z"
)
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\Z")

# Zone abbreviations Ruby's %Z may write, as UTC offsets in minutes.
_ABBR_OFFSETS: dict[str, int] = {"Z": 0, "UT": 0, "UTC": 0, "GMT": 0}
_ABBR_OFFSETS.update(
    {abbr: minutes for (abbr, minutes) in _ZONE_NAMES if abbr not in ("IST", "CST", "PST")}
)
_ABBR_OFFSETS.update({"CST": -360, "PST": -480})  # the US zones, as Ruby hosts usually are


@functools.lru_cache(maxsize=64)
def _offset(zone: str) -> timezone | None:
    """A fixed zone for ``Z``, ``+hh``, ``+hhmm``, ``+hh:mm`` or a known abbreviation."""
    if zone[0] in "+-":
        digits = zone[1:].replace(":", "")
        minutes = int(digits[:2]) * 60 + int(digits[2:4] or 0)
        return timezone(timedelta(minutes=-minutes if zone[0] == "-" else minutes))
    minutes_or_none = _ABBR_OFFSETS.get(zone.upper())
    if minutes_or_none is None:
        return None
    return timezone(timedelta(minutes=minutes_or_none))


def _local(naive: datetime) -> datetime:
    """A naive local wall-clock time, made aware in this process's zone."""
    return naive.replace(tzinfo=None).astimezone()


def _utc(dt: datetime) -> datetime:
    return dt.astimezone(UTC)


def _from_number(x: float) -> datetime | None:
    try:
        return datetime.fromtimestamp(x, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _parse_js(m: re.Match[str]) -> datetime | None:
    month = _MONTH_NUMBER.get(m.group(1).lower())
    if month is None:
        return None
    second = int(m.group(6) or 0)
    naive = datetime(
        int(m.group(3)), month, int(m.group(2)), int(m.group(4)), int(m.group(5)), second
    )
    if m.group(7) is None:
        return _utc(_local(naive))  # no zone: local time, as Date.parse reads it
    offset = m.group(8)
    tz = UTC if offset is None else _offset(offset)
    return _utc(naive.replace(tzinfo=tz))


def _parse_ymd(m: re.Match[str]) -> datetime | None:
    year, month, day = int(m.group(1)), int(m.group(2)), int(m.group(3))
    if m.group(4) is None:
        # A date alone: JavaScript reads it as UTC midnight.
        return datetime(year, month, day, tzinfo=UTC) if m.group(8) is None else None
    frac = m.group(7) or ""
    micro = int((frac + "000000")[:6])
    naive = datetime(
        year, month, day, int(m.group(4)), int(m.group(5)), int(m.group(6) or 0), micro
    )
    zone = m.group(8)
    if zone is None:
        return _utc(_local(naive))  # no zone: local time, as Date.parse reads it
    tz = _offset(zone)
    if tz is None:
        local = _local(naive)
        if zone not in _time.tzname and zone != local.tzname():
            return None  # an abbreviation we cannot place
        return _utc(local)
    return _utc(naive.replace(tzinfo=tz))


def parse_date(text: str | float | int | None) -> datetime | None:
    """An aware UTC datetime from any date format Resque clients write, else ``None``.

    Accepts JavaScript's ``Date.toString()`` (and ``toUTCString()``), ISO 8601 (Ruby's
    ``run_at``), Ruby's ``%Y/%m/%d %H:%M:%S %Z`` ``failed_at`` and ``Time#to_s``, the
    same without a zone (read as local time, as ``Date.parse`` does), and unix seconds as
    a number or a numeric string.
    """
    if text is None or isinstance(text, bool):
        return None
    if isinstance(text, (int, float)):
        return None if text != text else _from_number(float(text))
    if not isinstance(text, str):
        return None
    s = text.strip()
    try:
        if _NUMBER.match(s):
            return _from_number(float(s))
        m = _JS_DATE.match(s)
        if m:
            return _parse_js(m)
        m = _UTC_STRING.match(s)
        if m:
            month = _MONTH_NUMBER.get(m.group(2).lower())
            if month is None:
                return None
            return datetime(
                int(m.group(3)),
                month,
                int(m.group(1)),
                int(m.group(4)),
                int(m.group(5)),
                int(m.group(6)),
                tzinfo=UTC,
            )
        m = _YMD.match(s)
        if m:
            return _parse_ymd(m)
        dt = datetime.fromisoformat(s)
    except (ValueError, OverflowError, OSError):
        return None
    return _utc(_local(dt) if dt.tzinfo is None else dt)

"""``encode_params_job`` (the enqueue fast path) gives exactly what ``check_params`` plus
``encode_job`` give: the same text, or the same refusal."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stellar import codec
from stellar.errors import InvalidParams

LIMIT = 2**53
ints = st.one_of(
    st.integers(-1000, 1000),
    st.sampled_from([LIMIT - 1, LIMIT, LIMIT + 1, -LIMIT + 1, -LIMIT, -LIMIT - 1, 2**64]),
)
texts = st.one_of(
    st.text(max_size=8),
    st.sampled_from(["\ud800", "a\udfff", "\ud83d\ude00", "é", "9007199254740992", "0", "12x"]),
)
scalars = st.one_of(st.none(), st.booleans(), ints, texts, st.floats(allow_nan=True))
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(texts, inner, max_size=4),
        st.dictionaries(st.integers(0, 5), inner, max_size=2),
    ),
    max_leaves=12,
)


def slow(task: str, queue: str, params: Any) -> str:
    codec.check_params(params)
    return codec.encode_job(task, queue, [params])


@given(values)
def test_fast_path_matches_check_then_encode(params: Any) -> None:
    try:
        expected = slow("t", "q", params)
    except InvalidParams:
        with pytest.raises(InvalidParams):
            codec.encode_params_job("t", "q", params)
        return
    assert codec.encode_params_job("t", "q", params) == expected


@pytest.mark.parametrize(
    "params",
    [{}, {"to": "a@b.c"}, [1, 2, 3], "text", {"n": LIMIT - 1}, {"deep": [[[[{}]]]]}],
)
def test_common_params(params: Any) -> None:
    assert codec.encode_params_job("email.send", "mail", params) == slow(
        "email.send", "mail", params
    )


@pytest.mark.parametrize("params", [{"n": LIMIT}, {"n": -LIMIT}, {"s": "\ud800"}, {1: 2}])
def test_refusals(params: Any) -> None:
    with pytest.raises(InvalidParams):
        codec.encode_params_job("t", "q", params)

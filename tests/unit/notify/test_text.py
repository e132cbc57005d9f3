"""UCS-2 text into SMS parts: every part fits, parts join to the text, never a split character."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from notify.smpp.text import (
    PART_UNITS,
    SINGLE_UNITS,
    TextTooLongError,
    clean,
    decode_ucs2,
    split,
)

# Chinese, ASCII and characters beyond the BMP (two UTF-16 units each), mixed.
mixed = st.text(
    st.one_of(
        st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF),
        st.characters(min_codepoint=0x20, max_codepoint=0x7E),
        st.characters(min_codepoint=0x20000, max_codepoint=0x2A6DF),
        st.characters(),
    ),
    max_size=700,
)


def units(text: str) -> int:
    return len(text.encode("utf-16-be")) // 2


@settings(max_examples=400, deadline=None)
@given(mixed, st.integers(0, 255))
def test_parts_fit_and_join_back(text: str, reference: int) -> None:
    parts = split(text, reference)
    text = clean(text)
    assert "".join(decode_ucs2(p.payload) for p in parts) == text
    assert all(len(p.short_message) <= 140 for p in parts)
    if len(parts) == 1:
        assert parts[0].udh == b""
        assert units(text) <= SINGLE_UNITS
    else:
        assert units(text) > SINGLE_UNITS
        for i, part in enumerate(parts, start=1):
            assert part.udh == bytes([5, 0, 3, reference, len(parts), i])
            assert len(part.payload) <= 2 * PART_UNITS
        # Only the last part may be short by more than one unit (a pair that did not fit).
        assert all(len(p.payload) >= 2 * (PART_UNITS - 1) for p in parts[:-1])


def test_boundaries() -> None:
    assert len(split("中" * 70, 1)) == 1
    two = split("中" * 71, 1)
    assert [len(p.payload) // 2 for p in two] == [67, 4]
    assert len(split("中" * 67 * 255, 1)) == 255
    with pytest.raises(TextTooLongError):
        split("中" * (67 * 255 + 1), 1)
    assert split("", 0)[0].payload == b""


def test_a_pair_is_never_split() -> None:
    text = "中" * 66 + "𠮷" + "中" * 10  # the pair would straddle the 67-unit boundary
    first, second = split(text, 9)
    assert decode_ucs2(first.payload) == "中" * 66
    assert decode_ucs2(second.payload).startswith("𠮷")


def test_unpaired_surrogates_become_replacement_characters() -> None:
    assert clean("a\ud800b") == "a\ufffdb"
    assert clean("中𠮷") == "中𠮷"
    assert decode_ucs2(split("\udfff", 0)[0].payload) == "\ufffd"


def test_reference_is_one_octet() -> None:
    with pytest.raises(ValueError, match="octet"):
        split("x", 256)

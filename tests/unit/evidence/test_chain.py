"""Hash chains: verification names the first broken link and what differs there."""

from __future__ import annotations

import hashlib

from hypothesis import given
from hypothesis import strategies as st

from evidence import chain

contents_st = st.lists(st.binary(max_size=16), min_size=1, max_size=20)


def entries_of(contents: list[bytes], start: bytes = chain.GENESIS) -> list[chain.Entry]:
    hashes = [hashlib.sha256(c).digest() for c in contents]
    links = chain.build(hashes, start)
    return [chain.Entry(c, h, k) for c, h, k in zip(contents, hashes, links, strict=True)]


def test_link_definition() -> None:
    h = hashlib.sha256(b"row").digest()
    assert chain.link(chain.GENESIS, h) == hashlib.sha256(bytes(32) + h).digest()
    assert chain.build([h, h]) == [
        chain.link(chain.GENESIS, h),
        chain.link(chain.link(chain.GENESIS, h), h),
    ]


@given(contents_st, st.binary(min_size=32, max_size=32))
def test_untouched_chain_verifies(contents: list[bytes], start: bytes) -> None:
    assert chain.verify(entries_of(contents, start), start) is None
    assert chain.verify([], start) is None


@given(contents_st, st.data())
def test_changed_content_is_named(contents: list[bytes], data: st.DataObject) -> None:
    entries = entries_of(contents)
    i = data.draw(st.integers(0, len(entries) - 1))
    changed = data.draw(st.binary(max_size=16).filter(lambda b: b != contents[i]))
    entries[i] = chain.Entry(changed, entries[i].content_hash, entries[i].link)
    broken = chain.verify(entries)
    assert broken is not None
    assert (broken.index, broken.what) == (i, "content_hash")
    assert broken.expected == hashlib.sha256(changed).digest()
    assert f"link {i}: content_hash differs" in broken.describe()


@given(contents_st, st.data())
def test_rehashed_content_breaks_the_link(contents: list[bytes], data: st.DataObject) -> None:
    """Rewriting a row and its content hash (but not every later link) is caught at that row."""
    entries = entries_of(contents)
    i = data.draw(st.integers(0, len(entries) - 1))
    changed = data.draw(st.binary(max_size=16).filter(lambda b: b != contents[i]))
    entries[i] = chain.Entry(changed, hashlib.sha256(changed).digest(), entries[i].link)
    broken = chain.verify(entries)
    assert broken is not None
    assert (broken.index, broken.what) == (i, "link")
    assert broken.found == entries[i].link


@given(st.lists(st.binary(max_size=16), min_size=2, max_size=20), st.data())
def test_removed_entry_is_named(contents: list[bytes], data: st.DataObject) -> None:
    entries = entries_of(contents)
    i = data.draw(st.integers(0, len(entries) - 2))
    del entries[i]
    broken = chain.verify(entries)
    assert broken is not None
    assert (broken.index, broken.what) == (i, "link")


def test_wrong_start_breaks_the_first_link() -> None:
    entries = entries_of([b"a", b"b"])
    broken = chain.verify(entries, start=b"\x01" * 32)
    assert broken is not None
    assert (broken.index, broken.what) == (0, "link")

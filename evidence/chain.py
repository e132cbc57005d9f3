"""Hash chains over append-only records.

Each record has a content hash (SHA-256 of its canonical bytes, see ``evidence.canonical``) and a
link: ``link[i] = SHA-256(link[i-1] || content_hash[i])`` with ``link[-1]`` the chain's start,
32 zero bytes for a new chain (``GENESIS``) or the last link before an exported range. Changing,
removing, inserting or reordering any record changes every later link, so a signed head pins the
whole chain.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

GENESIS = bytes(32)


def link(previous: bytes, content_hash: bytes) -> bytes:
    """SHA-256(previous link || content hash)."""
    return hashlib.sha256(previous + content_hash).digest()


def build(content_hashes: Iterable[bytes], start: bytes = GENESIS) -> list[bytes]:
    """The links of a chain over ``content_hashes``, starting after ``start``."""
    links: list[bytes] = []
    previous = start
    for h in content_hashes:
        previous = link(previous, h)
        links.append(previous)
    return links


@dataclass(frozen=True, slots=True)
class Entry:
    """One stored chain entry: the record's canonical bytes and the two hashes stored with it."""

    content: bytes
    content_hash: bytes
    link: bytes


@dataclass(frozen=True, slots=True)
class Break:
    """The first place a chain does not verify.

    ``what`` is ``content_hash`` when the stored content hash is not SHA-256 of the stored content
    (the record was changed), or ``link`` when the stored link does not follow from the previous
    link and the content hash (a record was inserted, removed, reordered, or a link rewritten).
    """

    index: int
    what: Literal["content_hash", "link"]
    expected: bytes
    found: bytes

    def describe(self) -> str:
        """One line naming the link and what differs, hashes in hex."""
        return (
            f"link {self.index}: {self.what} differs "
            f"(expected {self.expected.hex()}, found {self.found.hex()})"
        )


def verify(entries: Sequence[Entry], start: bytes = GENESIS) -> Break | None:
    """The first broken link of ``entries`` after ``start``, or None when the chain holds."""
    previous = start
    for i, e in enumerate(entries):
        actual = hashlib.sha256(e.content).digest()
        if actual != e.content_hash:
            return Break(i, "content_hash", actual, e.content_hash)
        expected = link(previous, e.content_hash)
        if expected != e.link:
            return Break(i, "link", expected, e.link)
        previous = e.link
    return None

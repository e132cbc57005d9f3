"""Merkle tree hashing as in RFC 6962 (Certificate Transparency), section 2.1.

* leaf hash  = SHA-256(0x00 || leaf bytes)
* node hash  = SHA-256(0x01 || left || right)
* empty tree = SHA-256("") (the hash of no bytes at all)
* a tree of n > 1 leaves splits at k, the largest power of two below n: left = first k leaves.

The distinct prefixes mean a leaf can never pose as an inner node (second-preimage resistance).
Inclusion proofs are the audit paths of RFC 6962 section 2.1.1 (sibling hashes from the leaf up) and
are checked with the algorithm of RFC 9162 section 2.1.3.2.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from evidence.errors import MerkleError

HASH_LEN = 32
_LEAF = b"\x00"
_NODE = b"\x01"


def leaf_hash(leaf: bytes) -> bytes:
    """SHA-256(0x00 || leaf)."""
    return hashlib.sha256(_LEAF + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right)."""
    return hashlib.sha256(_NODE + left + right).digest()


def empty_root() -> bytes:
    """The root of a tree with no leaves: SHA-256 of the empty string."""
    return hashlib.sha256(b"").digest()


def _levels(leaves: Sequence[bytes]) -> list[list[bytes]]:
    """Every level of the tree, bottom (leaf hashes) first.

    Pairing neighbours level by level and carrying an odd last node up unchanged gives exactly the
    RFC 6962 tree (split at the largest power of two), without recursion.
    """
    level = [leaf_hash(leaf) for leaf in leaves]
    levels = [level]
    while len(level) > 1:
        nxt = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        levels.append(nxt)
        level = nxt
    return levels


def root(leaves: Sequence[bytes]) -> bytes:
    """The Merkle tree hash of ``leaves`` in the given order (order matters)."""
    if not leaves:
        return empty_root()
    return _levels(leaves)[-1][0]


def inclusion_proof(leaves: Sequence[bytes], index: int) -> list[bytes]:
    """The audit path of leaf ``index``: sibling hashes from the leaf up, the root excluded."""
    if not 0 <= index < len(leaves):
        raise MerkleError(f"leaf index {index} outside a tree of {len(leaves)} leaves")
    proof: list[bytes] = []
    i = index
    for level in _levels(leaves)[:-1]:
        sibling = i ^ 1
        if sibling < len(level):
            proof.append(level[sibling])
        i //= 2
    return proof


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], expected_root: bytes
) -> bool:
    """Whether ``leaf`` sits at ``index`` of a ``size``-leaf tree whose root is ``expected_root``.

    Any malformed input (index out of range, a hash of the wrong length, a proof too short or too
    long) gives False, never an exception: a bad proof is a failed check, not a crash.
    """
    if not 0 <= index < size or any(len(p) != HASH_LEN for p in proof):
        return False
    fn, sn = index, size - 1
    r = leaf_hash(leaf)
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == expected_root

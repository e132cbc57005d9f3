"""RFC 6962 Merkle roots and inclusion proofs, checked against a literal reading of the RFC."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from evidence import merkle
from evidence.errors import MerkleError

leaves_st = st.lists(st.binary(max_size=8), min_size=1, max_size=40)


def rfc6962_mth(leaves: list[bytes]) -> bytes:
    """MTH(D[n]) exactly as RFC 6962 section 2.1 writes it (recursive split at a power of two)."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return hashlib.sha256(b"\x01" + rfc6962_mth(leaves[:k]) + rfc6962_mth(leaves[k:])).digest()


def rfc6962_path(m: int, leaves: list[bytes]) -> list[bytes]:
    """PATH(m, D[n]) of RFC 6962 section 2.1.1."""
    if len(leaves) == 1:
        return []
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    if m < k:
        return [*rfc6962_path(m, leaves[:k]), rfc6962_mth(leaves[k:])]
    return [*rfc6962_path(m - k, leaves[k:]), rfc6962_mth(leaves[:k])]


# The eight leaves of the Certificate Transparency reference test tree.
CT_LEAVES = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    bytes(range(0x50, 0x58)),
    bytes(range(0x60, 0x70)),
]


def test_known_vectors() -> None:
    assert merkle.root([]).hex() == hashlib.sha256(b"").hexdigest()
    assert merkle.root([b""]).hex() == (
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
    )
    assert merkle.root(CT_LEAVES).hex() == (
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"
    )


@given(st.lists(st.binary(max_size=8), max_size=40))
def test_root_matches_the_rfc(leaves: list[bytes]) -> None:
    assert merkle.root(leaves) == rfc6962_mth(leaves)


@given(leaves_st, st.data())
def test_every_proof_is_the_rfc_path_and_verifies(leaves: list[bytes], data: st.DataObject) -> None:
    root = merkle.root(leaves)
    i = data.draw(st.integers(0, len(leaves) - 1))
    proof = merkle.inclusion_proof(leaves, i)
    assert proof == rfc6962_path(i, leaves)
    assert merkle.verify_inclusion(leaves[i], i, len(leaves), proof, root)


@given(leaves_st, st.data())
def test_a_changed_leaf_fails(leaves: list[bytes], data: st.DataObject) -> None:
    i = data.draw(st.integers(0, len(leaves) - 1))
    other = data.draw(st.binary(max_size=8).filter(lambda b: b != leaves[i]))
    proof = merkle.inclusion_proof(leaves, i)
    assert not merkle.verify_inclusion(other, i, len(leaves), proof, merkle.root(leaves))


@given(st.lists(st.binary(max_size=8), min_size=2, max_size=40), st.data())
def test_any_changed_proof_byte_fails(leaves: list[bytes], data: st.DataObject) -> None:
    i = data.draw(st.integers(0, len(leaves) - 1))
    proof = merkle.inclusion_proof(leaves, i)
    j = data.draw(st.integers(0, len(proof) - 1))
    byte = data.draw(st.integers(0, merkle.HASH_LEN - 1))
    bit = data.draw(st.integers(0, 7))
    changed = bytearray(proof[j])
    changed[byte] ^= 1 << bit
    bad = [*proof[:j], bytes(changed), *proof[j + 1 :]]
    assert not merkle.verify_inclusion(leaves[i], i, len(leaves), bad, merkle.root(leaves))


@given(st.lists(st.binary(max_size=8), min_size=2, max_size=40, unique=True), st.data())
def test_wrong_index_size_or_proof_length_fails(leaves: list[bytes], data: st.DataObject) -> None:
    n = len(leaves)
    root = merkle.root(leaves)
    i = data.draw(st.integers(0, n - 1))
    proof = merkle.inclusion_proof(leaves, i)
    j = data.draw(st.integers(0, n - 1).filter(lambda j: j != i))
    assert not merkle.verify_inclusion(leaves[i], j, n, proof, root)
    assert not merkle.verify_inclusion(leaves[i], i, n, [*proof, proof[0]], root)
    assert not merkle.verify_inclusion(leaves[i], i, n, proof[:-1], root)
    assert not merkle.verify_inclusion(leaves[i], n, n, proof, root)
    assert not merkle.verify_inclusion(leaves[i], i, n, [p[:31] for p in proof], root)


@given(st.lists(st.binary(max_size=8), min_size=2, max_size=40, unique=True), st.data())
def test_order_matters(leaves: list[bytes], data: st.DataObject) -> None:
    i = data.draw(st.integers(0, len(leaves) - 2))
    swapped = [*leaves[:i], leaves[i + 1], leaves[i], *leaves[i + 2 :]]
    assert merkle.root(swapped) != merkle.root(leaves)


def test_a_leaf_cannot_pose_as_a_node() -> None:
    a, b = b"a", b"b"
    node = merkle.leaf_hash(a) + merkle.leaf_hash(b)
    assert merkle.root([node]) != merkle.root([a, b])


def test_single_leaf_and_bad_index() -> None:
    assert merkle.root([b"x"]) == merkle.leaf_hash(b"x")
    assert merkle.inclusion_proof([b"x"], 0) == []
    assert merkle.verify_inclusion(b"x", 0, 1, [], merkle.root([b"x"]))
    with pytest.raises(MerkleError):
        merkle.inclusion_proof([b"x"], 1)
    with pytest.raises(MerkleError):
        merkle.inclusion_proof([], 0)

"""The signing key file: created 0600, loaded back, refused when exposed or of the wrong type."""

from __future__ import annotations

import hashlib
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from evidence import keys
from evidence.errors import KeyFileError


def test_generated_once_with_mode_600_then_loaded(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "evidence.pem"
    first = keys.ensure_private_key(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = keys.ensure_private_key(path)
    assert keys.key_id(first.public_key()) == keys.key_id(again.public_key())
    with pytest.raises(KeyFileError, match="refusing to overwrite"):
        keys.generate_private_key(path)


def test_key_id_is_sha256_of_the_raw_public_key(tmp_path: Path) -> None:
    public = keys.ensure_private_key(tmp_path / "k.pem").public_key()
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert keys.key_id(public) == hashlib.sha256(raw).hexdigest()[:16]
    assert keys.key_id(keys.load_public_key(keys.public_pem(public))) == keys.key_id(public)


def test_sign_and_verify(tmp_path: Path) -> None:
    private = keys.ensure_private_key(tmp_path / "k.pem")
    other = keys.ensure_private_key(tmp_path / "other.pem")
    sig = keys.sign(private, b"manifest")
    assert len(sig) == 64
    assert keys.verify_signature(private.public_key(), b"manifest", sig)
    assert not keys.verify_signature(private.public_key(), b"manifesT", sig)
    assert not keys.verify_signature(other.public_key(), b"manifest", sig)
    assert not keys.verify_signature(private.public_key(), b"manifest", sig[:63])


def test_exposed_wrong_or_missing_key_files_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "k.pem"
    keys.ensure_private_key(path)
    path.chmod(0o644)
    with pytest.raises(KeyFileError, match="group or others"):
        keys.load_private_key(path)
    x25519 = tmp_path / "x.pem"
    x25519.write_bytes(
        X25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    x25519.chmod(0o600)
    with pytest.raises(KeyFileError, match="not an Ed25519 key"):
        keys.load_private_key(x25519)
    garbage = tmp_path / "g.pem"
    garbage.write_bytes(b"not a key")
    with pytest.raises(KeyFileError, match="not a PEM public key"):
        keys.read_public_key(garbage)
    with pytest.raises(KeyFileError, match="cannot read"):
        keys.read_public_key(tmp_path / "absent.pem")


def test_rotation_keeps_old_public_keys_by_id(tmp_path: Path) -> None:
    ring = tmp_path / "public"
    old = keys.ensure_private_key(tmp_path / "2026.pem")
    new = keys.ensure_private_key(tmp_path / "2027.pem")
    keys.write_public_key(ring, old.public_key())
    keys.write_public_key(ring, new.public_key())
    # A file named after another key's id still counts under its own id.
    (ring / "0000000000000000.pem").write_bytes(keys.public_pem(new.public_key()))
    loaded = keys.load_keyring(ring)
    assert set(loaded) == {keys.key_id(old.public_key()), keys.key_id(new.public_key())}
    sig = keys.sign(old, b"signed before the rotation")
    assert keys.verify_signature(
        loaded[keys.key_id(old.public_key())], b"signed before the rotation", sig
    )

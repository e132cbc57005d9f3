"""The system's Ed25519 signing key: kept in a file outside the database, never in it.

* ``ensure_private_key(path)`` creates a PEM (PKCS#8, unencrypted) key file with mode 0600 if there
  is none, and loads it; a key file readable by group or others is refused.
* The key id is the first 16 hex characters of SHA-256 over the 32-byte raw public key.
* Rotation: generate a new key file and point the settings at it; it signs from then on. Old public
  keys are kept (``<key id>.pem`` in a key directory, see ``load_keyring``) so everything they
  signed still verifies; a signature names its key id, which picks the public key to check it with.
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from evidence.errors import KeyFileError

KEY_ID_LEN = 16


def key_id(public: Ed25519PublicKey) -> str:
    """SHA-256 of the raw 32-byte public key, hex, first 16 characters."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:KEY_ID_LEN]


def public_pem(public: Ed25519PublicKey) -> bytes:
    """The public key as SubjectPublicKeyInfo PEM (what the API publishes and the defence uses)."""
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _private_pem(private: Ed25519PrivateKey) -> bytes:
    return private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def generate_private_key(path: Path) -> Ed25519PrivateKey:
    """Writes a new key to ``path`` (mode 0600, refusing to overwrite) and returns it."""
    private = Ed25519PrivateKey.generate()
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as exc:
        raise KeyFileError(f"{path} exists; refusing to overwrite a signing key") from exc
    with os.fdopen(fd, "wb") as f:
        f.write(_private_pem(private))
    return private


def load_private_key(path: Path) -> Ed25519PrivateKey:
    """Loads the Ed25519 private key at ``path``; refuses a file others can read or a wrong key."""
    try:
        mode = path.stat().st_mode
        data = path.read_bytes()
    except OSError as exc:
        raise KeyFileError(f"cannot read key file {path}: {exc.strerror}") from exc
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyFileError(f"{path} is accessible by group or others (mode {mode & 0o777:o})")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise KeyFileError(f"{path} is not an unencrypted PEM private key") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFileError(f"{path} holds a {type(key).__name__}, not an Ed25519 key")
    return key


def ensure_private_key(path: Path) -> Ed25519PrivateKey:
    """Loads the key at ``path``, generating it first if the file does not exist."""
    if not path.exists():
        return generate_private_key(path)
    return load_private_key(path)


def load_public_key(data: bytes, *, name: str = "public key") -> Ed25519PublicKey:
    """Reads an Ed25519 public key from PEM bytes (``name`` only labels the error)."""
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as exc:
        raise KeyFileError(f"{name} is not a PEM public key") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise KeyFileError(f"{name} holds a {type(key).__name__}, not an Ed25519 key")
    return key


def read_public_key(path: Path) -> Ed25519PublicKey:
    """Reads an Ed25519 public key PEM file."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise KeyFileError(f"cannot read key file {path}: {exc.strerror}") from exc
    return load_public_key(data, name=str(path))


def write_public_key(directory: Path, public: Ed25519PublicKey) -> Path:
    """Keeps ``public`` as ``<directory>/<key id>.pem`` (for verification after rotation)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{key_id(public)}.pem"
    path.write_bytes(public_pem(public))
    return path


def load_keyring(directory: Path) -> dict[str, Ed25519PublicKey]:
    """Every public key kept in ``directory`` (``*.pem``), by key id; the id is recomputed from
    the key, so a misnamed file cannot claim another key's id."""
    return {key_id(k): k for k in (read_public_key(p) for p in sorted(directory.glob("*.pem")))}


def sign(private: Ed25519PrivateKey, data: bytes) -> bytes:
    """The 64-byte Ed25519 signature of ``data``."""
    return private.sign(data)


def verify_signature(public: Ed25519PublicKey, data: bytes, signature: bytes) -> bool:
    """Whether ``signature`` is ``public``'s Ed25519 signature of ``data``."""
    try:
        public.verify(signature, data)
    except InvalidSignature:
        return False
    return True

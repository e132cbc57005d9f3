"""Evidence a court can verify: canonical records, Merkle day seals, hash chains, signatures.

This package is deliberately self-contained: it imports nothing from the rest of bailwatch and needs
only the standard library and ``cryptography`` (Ed25519), so the defence can run
``python -m evidence verify FILE.zip --key PUBKEY.pem`` on a machine without the database or the
server's dependencies. The formats are specified in ``docs/evidence.md``.
"""

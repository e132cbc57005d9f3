"""Text into SMS parts: UCS-2 (data_coding 0x08) and concatenation with an 8-bit UDH. Pure.

One UCS-2 SMS holds 140 octets: 70 characters alone, or 67 after the 6-octet concatenation
header (IEI 0x00: 8-bit reference, total parts, this part's number; 3GPP TS 23.040 9.2.3.24.1).
Characters outside the BMP take two UTF-16 code units; a part never ends between the two, so
every part decodes on its own and the parts join back to the exact text.
"""

from __future__ import annotations

from dataclasses import dataclass

SMS_OCTETS = 140
SINGLE_UNITS = SMS_OCTETS // 2  # 70
UDH_CONCAT_8BIT = 6
PART_UNITS = (SMS_OCTETS - UDH_CONCAT_8BIT) // 2  # 67
MAX_PARTS = 255


class TextTooLongError(ValueError):
    """The text needs more than 255 parts."""


@dataclass(frozen=True, slots=True)
class Part:
    """One SMS of a message: its UDH (empty when alone) and UCS-2 payload."""

    udh: bytes
    payload: bytes

    @property
    def short_message(self) -> bytes:
        return self.udh + self.payload


def _units(ch: str) -> int:
    return 2 if ord(ch) > 0xFFFF else 1


def _chunks(text: str, size: int) -> list[str]:
    """Split into runs of at most ``size`` UTF-16 code units, never inside a character."""
    chunks: list[str] = []
    current: list[str] = []
    used = 0
    for ch in text:
        n = _units(ch)
        if used + n > size:
            chunks.append("".join(current))
            current, used = [], 0
        current.append(ch)
        used += n
    if current or not chunks:
        chunks.append("".join(current))
    return chunks


def clean(text: str) -> str:
    """``text`` with unpaired surrogates (possible in a str decoded from JSON) replaced by
    U+FFFD, so it always encodes; a well-formed text is returned unchanged."""
    return text.encode("utf-16-be", "surrogatepass").decode("utf-16-be", "replace")


def encode_ucs2(text: str) -> bytes:
    # UTF-16BE is UCS-2 for the BMP; beyond it, surrogate pairs (what handsets decode).
    return text.encode("utf-16-be")


def split(text: str, reference: int) -> list[Part]:
    """``text`` as SMS parts; ``reference`` (0-255) ties the parts of one message together."""
    if not 0 <= reference <= 255:
        raise ValueError("reference is one octet")
    text = clean(text)
    units = sum(_units(ch) for ch in text)
    if units <= SINGLE_UNITS:
        return [Part(b"", encode_ucs2(text))]
    chunks = _chunks(text, PART_UNITS)
    if len(chunks) > MAX_PARTS:
        raise TextTooLongError(f"{len(chunks)} parts needed, at most {MAX_PARTS}")
    total = len(chunks)
    return [
        Part(bytes([0x05, 0x00, 0x03, reference, total, i]), encode_ucs2(chunk))
        for i, chunk in enumerate(chunks, start=1)
    ]


def decode_ucs2(payload: bytes) -> str:
    return payload.decode("utf-16-be")

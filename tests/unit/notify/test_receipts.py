"""Delivery receipts as SMSCs write them, and the TLVs that take precedence."""

from __future__ import annotations

import pytest

from notify.smpp.pdu import ShortMessage, Tag
from notify.smpp.receipts import parse_receipt


def receipt(text: str, tlvs: dict[int, bytes] | None = None, esm: int = 0x04) -> ShortMessage:
    return ShortMessage(
        source_addr="8613800138000",
        destination_addr="10690000",
        short_message=text.encode("latin-1"),
        esm_class=esm,
        tlvs=tlvs or {},
    )


@pytest.mark.parametrize(
    ("text", "message_id", "state", "error"),
    [
        (
            "id:0123456789 sub:001 dlvr:001 submit date:2611221005 done date:2611221005 "
            "stat:DELIVRD err:000 text:",
            "0123456789",
            "DELIVRD",
            "000",
        ),
        (
            "id:mk3x9a000001 sub:001 dlvr:000 submit date:2611221005 done date:2611231005 "
            "stat:EXPIRED err:027 Text:hello",
            "mk3x9a000001",
            "EXPIRED",
            "027",
        ),
        ("ID:abc SUB:001 DLVR:000 STAT:undeliv ERR:001", "abc", "UNDELIV", "001"),
        ("id:7 stat:REJECTD", "7", "REJECTD", None),
    ],
)
def test_receipt_texts(text: str, message_id: str, state: str, error: str | None) -> None:
    parsed = parse_receipt(receipt(text))
    assert parsed is not None
    assert (parsed.message_id, parsed.state, parsed.error) == (message_id, state, error)


def test_tlvs_take_precedence_over_the_text() -> None:
    parsed = parse_receipt(
        receipt(
            "id:hex0A stat:DELIVRD",
            {Tag.receipted_message_id: b"10\0", Tag.message_state: bytes([5])},
        )
    )
    assert parsed is not None
    assert (parsed.message_id, parsed.state) == ("10", "UNDELIV")


def test_a_mobile_originated_message_is_not_a_receipt() -> None:
    assert parse_receipt(receipt("id:1 stat:DELIVRD", esm=0)) is None


def test_a_receipt_without_an_id_is_ignored() -> None:
    assert parse_receipt(receipt("stat:DELIVRD err:000")) is None

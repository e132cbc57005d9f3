"""The SMPP 3.4 PDU codec: known bytes from the spec's layouts, round trips, bad input."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from notify.smpp import pdu
from notify.smpp.pdu import Bind, Command, Pdu, PduError, ShortMessage, Status

octet = st.integers(0, 255)


def ascii_text(max_size: int) -> st.SearchStrategy[str]:
    return st.text(st.characters(min_codepoint=1, max_codepoint=127), max_size=max_size)


short_messages = st.builds(
    ShortMessage,
    source_addr=ascii_text(20),
    destination_addr=ascii_text(20),
    short_message=st.binary(max_size=254),
    service_type=ascii_text(5),
    source_addr_ton=octet,
    source_addr_npi=octet,
    dest_addr_ton=octet,
    dest_addr_npi=octet,
    esm_class=octet,
    protocol_id=octet,
    priority_flag=octet,
    schedule_delivery_time=ascii_text(16),
    validity_period=ascii_text(16),
    registered_delivery=octet,
    replace_if_present_flag=octet,
    data_coding=octet,
    sm_default_msg_id=octet,
    tlvs=st.dictionaries(st.integers(0x1400, 0x3FFF), st.binary(max_size=40), max_size=4),
)


def test_enquire_link_bytes() -> None:
    frame = Pdu(Command.enquire_link, 0, 1).encode()
    assert frame.hex() == "00000010000000150000000000000001"
    assert pdu.decode(frame) == Pdu(Command.enquire_link, 0, 1, b"")


def test_bind_transceiver_layout() -> None:
    body = Bind("bw", "pw", "vma").body()
    assert body == b"bw\0pw\0vma\0" + bytes([0x34, 0, 0]) + b"\0"
    assert Bind.parse(body) == Bind("bw", "pw", "vma")


def test_submit_sm_layout() -> None:
    sm = ShortMessage(
        source_addr="10690000",
        destination_addr="8613800138000",
        short_message="你好".encode("utf-16-be"),
        data_coding=0x08,
        registered_delivery=1,
    )
    expected = (
        b"\0"  # service_type
        + bytes([0, 0])
        + b"10690000\0"
        + bytes([1, 1])
        + b"8613800138000\0"
        + bytes([0, 0, 0])  # esm_class, protocol_id, priority_flag
        + b"\0\0"  # schedule_delivery_time, validity_period
        + bytes([1, 0, 0x08, 0, 4])  # registered_delivery .. sm_length
        + b"\x4f\x60\x59\x7d"
    )
    assert sm.body() == expected


@settings(max_examples=300, deadline=None)
@given(short_messages)
def test_short_message_round_trip(sm: ShortMessage) -> None:
    assert ShortMessage.parse(sm.body()) == sm


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(list(Command)),
    st.integers(0, 0xFFFFFFFF),
    st.integers(1, 0x7FFFFFFF),
    st.binary(max_size=300),
)
def test_frame_round_trip(command: Command, status: int, sequence: int, body: bytes) -> None:
    frame = Pdu(command, status, sequence, body).encode()
    assert pdu.parse_length(frame[:4]) == len(frame)
    assert pdu.decode(frame) == Pdu(command, status, sequence, body)


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=300))
def test_garbage_is_a_pdu_error_never_a_crash(data: bytes) -> None:
    for parse in (ShortMessage.parse, Bind.parse, pdu.parse_message_id, pdu.decode):
        with contextlib.suppress(PduError):
            parse(data)


@pytest.mark.parametrize("length", [0, 15, pdu.MAX_PDU_SIZE + 1])
def test_impossible_lengths_are_refused(length: int) -> None:
    with pytest.raises(PduError):
        pdu.parse_length(length.to_bytes(4, "big"))


def test_fields_that_do_not_fit_are_refused() -> None:
    with pytest.raises(PduError):
        pdu.c_string("x" * 16, 16)
    with pytest.raises(PduError):
        ShortMessage("1", "2", b"x" * 255).body()
    with pytest.raises(PduError):
        pdu.c_string("中", 16)
    with pytest.raises(PduError):
        pdu.decode(Pdu(Command.unbind, 0, 1).encode() + b"extra")


def test_status_names_and_transience() -> None:
    assert pdu.status_name(0x58) == "ESME_RTHROTTLED"
    assert pdu.status_name(0x4242) == "0x00004242"
    assert Status.ESME_RTHROTTLED in pdu.TRANSIENT_STATUSES
    assert Status.ESME_RINVDSTADR not in pdu.TRANSIENT_STATUSES
    assert pdu.is_response(Command.submit_sm_resp)
    assert not pdu.is_response(Command.deliver_sm)


def test_error_response_may_have_no_message_id() -> None:
    assert pdu.parse_message_id(b"") == ""
    assert pdu.parse_message_id(pdu.message_id_body("a1b2")) == "a1b2"

"""SMPP 3.4 PDUs: the few this ESME needs, encoded and decoded. Pure.

Why our own codec rather than a library: ``smpplib`` (python-smpplib) is a blocking client
with its own socket loop (a thread per bind, callbacks from that thread), and ``aiosmpplib``
is young with few users; neither is a good fit for an asyncio service that must own its
reconnects, keepalive and receipt handling. The part of SMPP 3.4 we use (bind_transceiver,
submit_sm, deliver_sm, enquire_link, unbind, generic_nack and their responses; spec sections
4.1-4.7 and 5.3) is small, and every function here is tested by round-trip properties and
against an independent SMPP server (node-smpp) in the integration tests.

Decoding never raises anything but :class:`PduError` on bad input.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from enum import IntEnum

HEADER = struct.Struct(">IIII")
HEADER_SIZE = HEADER.size
#: Largest PDU we accept from a peer (the spec leaves it open; real ones are < 1 KiB).
MAX_PDU_SIZE = 64 * 1024
INTERFACE_VERSION = 0x34


class PduError(ValueError):
    """Bytes that are not a well-formed PDU of the kind expected."""


class Command(IntEnum):
    generic_nack = 0x80000000
    bind_transceiver = 0x00000009
    bind_transceiver_resp = 0x80000009
    submit_sm = 0x00000004
    submit_sm_resp = 0x80000004
    deliver_sm = 0x00000005
    deliver_sm_resp = 0x80000005
    unbind = 0x00000006
    unbind_resp = 0x80000006
    enquire_link = 0x00000015
    enquire_link_resp = 0x80000015


def is_response(command_id: int) -> bool:
    return bool(command_id & 0x80000000)


class Status(IntEnum):
    """command_status values (spec 5.1.3) this client names; others are kept as numbers."""

    ESME_ROK = 0x00
    ESME_RINVMSGLEN = 0x01
    ESME_RINVCMDLEN = 0x02
    ESME_RINVCMDID = 0x03
    ESME_RINVBNDSTS = 0x04
    ESME_RALYBND = 0x05
    ESME_RSYSERR = 0x08
    ESME_RINVSRCADR = 0x0A
    ESME_RINVDSTADR = 0x0B
    ESME_RBINDFAIL = 0x0D
    ESME_RINVPASWD = 0x0E
    ESME_RINVSYSID = 0x0F
    ESME_RMSGQFUL = 0x14
    ESME_RINVESMCLASS = 0x43
    ESME_RSUBMITFAIL = 0x45
    ESME_RINVDCS = 0x104
    ESME_RTHROTTLED = 0x58
    ESME_RX_T_APPN = 0x64
    ESME_RX_P_APPN = 0x65
    ESME_RX_R_APPN = 0x66
    ESME_RUNKNOWNERR = 0xFF


#: Statuses after which the same submit may succeed later (queue full, throttled, system error).
TRANSIENT_STATUSES = frozenset(
    {
        Status.ESME_RSYSERR,
        Status.ESME_RMSGQFUL,
        Status.ESME_RTHROTTLED,
        Status.ESME_RX_T_APPN,
        Status.ESME_RSUBMITFAIL,
        Status.ESME_RUNKNOWNERR,
    }
)


def status_name(status: int) -> str:
    try:
        return Status(status).name
    except ValueError:
        return f"0x{status:08X}"


class Tag(IntEnum):
    """Optional parameter tags (spec 5.3.2) used here."""

    receipted_message_id = 0x001E
    sar_msg_ref_num = 0x020C
    sar_total_segments = 0x020E
    sar_segment_seqnum = 0x020F
    message_state = 0x0427
    sc_interface_version = 0x0210
    message_payload = 0x0424


#: esm_class bits.
ESM_UDHI = 0x40
ESM_DELIVERY_RECEIPT = 0x04
#: data_coding of UCS-2 (UTF-16BE for characters in the BMP).
DATA_CODING_UCS2 = 0x08
#: registered_delivery: SMSC delivery receipt on final outcome, success or failure.
REGISTERED_DELIVERY_FINAL = 0x01


@dataclass(frozen=True, slots=True)
class Pdu:
    """One framed PDU: header fields and the undecoded body."""

    command_id: int
    status: int
    sequence: int
    body: bytes = b""

    def encode(self) -> bytes:
        return (
            HEADER.pack(HEADER_SIZE + len(self.body), self.command_id, self.status, self.sequence)
            + self.body
        )


def parse_length(header4: bytes) -> int:
    """The command_length of a PDU from its first four bytes, checked."""
    if len(header4) != 4:
        raise PduError("short length field")
    length: int = struct.unpack(">I", header4)[0]
    if not HEADER_SIZE <= length <= MAX_PDU_SIZE:
        raise PduError(f"command_length {length} out of range")
    return length


def decode(frame: bytes) -> Pdu:
    """A whole PDU (as read: length prefix included) into its header and body."""
    if len(frame) < HEADER_SIZE:
        raise PduError("PDU shorter than its header")
    length, command_id, status, sequence = HEADER.unpack_from(frame)
    if length != len(frame):
        raise PduError(f"command_length {length} but {len(frame)} bytes")
    return Pdu(command_id, status, sequence, bytes(frame[HEADER_SIZE:]))


# --- field codecs -------------------------------------------------------------------------


def c_string(value: str, max_len: int) -> bytes:
    """A C-Octet String of at most ``max_len`` bytes including the NUL (ASCII only)."""
    try:
        raw = value.encode("ascii")
    except UnicodeEncodeError as exc:
        raise PduError(f"{value!r} is not ASCII") from exc
    if len(raw) + 1 > max_len or b"\0" in raw:
        raise PduError(f"{value!r} does not fit a C-Octet String of {max_len}")
    return raw + b"\0"


class Reader:
    """Reads fields from a body, raising :class:`PduError` on overrun."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def c_string(self, max_len: int) -> str:
        end = self.data.find(b"\0", self.pos, self.pos + max_len)
        if end < 0:
            raise PduError(f"C-Octet String longer than {max_len} or unterminated")
        raw = self.data[self.pos : end]
        self.pos = end + 1
        try:
            return raw.decode("ascii")
        except UnicodeDecodeError as exc:
            raise PduError("C-Octet String is not ASCII") from exc

    def octet(self) -> int:
        if self.pos >= len(self.data):
            raise PduError("body ends early")
        value = self.data[self.pos]
        self.pos += 1
        return value

    def octets(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise PduError("body ends early")
        raw = self.data[self.pos : self.pos + n]
        self.pos += n
        return raw

    def tlvs(self) -> dict[int, bytes]:
        found: dict[int, bytes] = {}
        while self.pos < len(self.data):
            head = self.octets(4)
            tag, length = struct.unpack(">HH", head)
            found[tag] = self.octets(length)
        return found


def encode_tlvs(tlvs: dict[int, bytes]) -> bytes:
    out = bytearray()
    for tag, value in tlvs.items():
        if len(value) > 0xFFFF:
            raise PduError("TLV value too long")
        out += struct.pack(">HH", tag, len(value)) + value
    return bytes(out)


# --- bind -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Bind:
    system_id: str
    password: str
    system_type: str = ""
    addr_ton: int = 0
    addr_npi: int = 0
    address_range: str = ""

    def body(self) -> bytes:
        return (
            c_string(self.system_id, 16)
            + c_string(self.password, 9)
            + c_string(self.system_type, 13)
            + bytes([INTERFACE_VERSION, self.addr_ton, self.addr_npi])
            + c_string(self.address_range, 41)
        )

    @classmethod
    def parse(cls, body: bytes) -> Bind:
        r = Reader(body)
        system_id, password, system_type = r.c_string(16), r.c_string(9), r.c_string(13)
        r.octet()  # interface_version
        ton, npi = r.octet(), r.octet()
        return cls(system_id, password, system_type, ton, npi, r.c_string(41))


def message_id_body(message_id: str) -> bytes:
    """Body of submit_sm_resp / deliver_sm_resp (and bind_resp's system_id)."""
    return c_string(message_id, 65)


def parse_message_id(body: bytes) -> str:
    """The message_id of a submit_sm_resp (an error response may have an empty body)."""
    if not body:
        return ""
    return Reader(body).c_string(65)


# --- submit_sm / deliver_sm -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ShortMessage:
    """The body of submit_sm and deliver_sm (same layout, spec 4.4.1 and 4.6.1)."""

    source_addr: str
    destination_addr: str
    short_message: bytes
    service_type: str = ""
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    dest_addr_ton: int = 1
    dest_addr_npi: int = 1
    esm_class: int = 0
    protocol_id: int = 0
    priority_flag: int = 0
    schedule_delivery_time: str = ""
    validity_period: str = ""
    registered_delivery: int = 0
    replace_if_present_flag: int = 0
    data_coding: int = 0
    sm_default_msg_id: int = 0
    tlvs: dict[int, bytes] = field(default_factory=dict)

    def body(self) -> bytes:
        if len(self.short_message) > 254:
            raise PduError("short_message longer than 254 octets")
        return (
            c_string(self.service_type, 6)
            + bytes([self.source_addr_ton, self.source_addr_npi])
            + c_string(self.source_addr, 21)
            + bytes([self.dest_addr_ton, self.dest_addr_npi])
            + c_string(self.destination_addr, 21)
            + bytes([self.esm_class, self.protocol_id, self.priority_flag])
            + c_string(self.schedule_delivery_time, 17)
            + c_string(self.validity_period, 17)
            + bytes(
                [
                    self.registered_delivery,
                    self.replace_if_present_flag,
                    self.data_coding,
                    self.sm_default_msg_id,
                    len(self.short_message),
                ]
            )
            + self.short_message
            + encode_tlvs(self.tlvs)
        )

    @classmethod
    def parse(cls, body: bytes) -> ShortMessage:
        r = Reader(body)
        service_type = r.c_string(6)
        s_ton, s_npi = r.octet(), r.octet()
        source = r.c_string(21)
        d_ton, d_npi = r.octet(), r.octet()
        dest = r.c_string(21)
        esm, pid, prio = r.octet(), r.octet(), r.octet()
        sched, validity = r.c_string(17), r.c_string(17)
        reg, replace, dcs, default_id, sm_length = (r.octet() for _ in range(5))
        message = r.octets(sm_length)
        return cls(
            source_addr=source,
            destination_addr=dest,
            short_message=message,
            service_type=service_type,
            source_addr_ton=s_ton,
            source_addr_npi=s_npi,
            dest_addr_ton=d_ton,
            dest_addr_npi=d_npi,
            esm_class=esm,
            protocol_id=pid,
            priority_flag=prio,
            schedule_delivery_time=sched,
            validity_period=validity,
            registered_delivery=reg,
            replace_if_present_flag=replace,
            data_coding=dcs,
            sm_default_msg_id=default_id,
            tlvs=r.tlvs(),
        )

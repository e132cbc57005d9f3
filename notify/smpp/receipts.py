"""SMSC delivery receipts (deliver_sm with esm_class 0x04). Pure.

The receipt's text follows the de-facto format of SMPP 3.4 Appendix B:
``id:IIIIIIIIII sub:SSS dlvr:DDD submit date:YYMMDDhhmm done date:YYMMDDhhmm stat:DDDDDDD
err:E text:...``. Gateways vary in case and spacing; the ``receipted_message_id`` and
``message_state`` TLVs, when present, take precedence over the text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from notify.smpp.pdu import ESM_DELIVERY_RECEIPT, ShortMessage, Tag

_FIELD = re.compile(
    r"(?P<key>id|sub|dlvr|submit date|done date|stat|err)\s*:\s*(?P<value>[^\s]*)",
    re.IGNORECASE,
)

#: message_state TLV values (spec 5.3.2.35) as the receipt text spells them.
MESSAGE_STATES = {
    1: "ENROUTE",
    2: "DELIVRD",
    3: "EXPIRED",
    4: "DELETED",
    5: "UNDELIV",
    6: "ACCEPTD",
    7: "UNKNOWN",
    8: "REJECTD",
}


@dataclass(frozen=True, slots=True)
class ParsedReceipt:
    message_id: str
    state: str
    error: str | None
    text: str


def is_receipt(sm: ShortMessage) -> bool:
    return bool(sm.esm_class & ESM_DELIVERY_RECEIPT)


def parse_receipt(sm: ShortMessage) -> ParsedReceipt | None:
    """The receipt in a deliver_sm, or ``None`` when it is not one or names no message."""
    if not is_receipt(sm):
        return None
    text = sm.short_message.decode("latin-1")
    fields: dict[str, str] = {}
    for m in _FIELD.finditer(text):
        fields.setdefault(m.group("key").lower(), m.group("value"))
    message_id = fields.get("id", "")
    raw_id = sm.tlvs.get(Tag.receipted_message_id)
    if raw_id:
        message_id = raw_id.rstrip(b"\0").decode("latin-1")
    state = fields.get("stat", "").upper()
    raw_state = sm.tlvs.get(Tag.message_state)
    if raw_state and len(raw_state) == 1:
        state = MESSAGE_STATES.get(raw_state[0], state or "UNKNOWN")
    if not message_id:
        return None
    return ParsedReceipt(message_id, state or "UNKNOWN", fields.get("err"), text)

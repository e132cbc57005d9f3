"""The submit_sm bodies the SMS channel builds for a notification (no network)."""

from __future__ import annotations

from config.settings import SmppSettings
from notify.smpp import pdu
from notify.smpp.channel import SmsChannel
from notify.smpp.text import decode_ucs2
from tests.support.notifications import notification


async def test_long_notification_becomes_concatenated_ucs2_parts() -> None:
    channel = SmsChannel(SmppSettings(source_addr="106900001234"))
    n = notification()
    messages = channel.messages(n, "8613800138000")
    assert len(messages) == 2
    refs = {m.short_message[3] for m in messages}
    assert refs == {int(n.key_digest(2), 16)}  # same reference, from the idempotency key
    for m in messages:
        assert m.data_coding == pdu.DATA_CODING_UCS2
        assert m.esm_class == pdu.ESM_UDHI
        assert m.registered_delivery == pdu.REGISTERED_DELIVERY_FINAL
        assert (m.dest_addr_ton, m.dest_addr_npi) == (1, 1)
        assert m.source_addr == "106900001234"
    text = "".join(decode_ucs2(m.short_message[6:]) for m in messages)
    assert text.startswith("【电子监管】紧急告警：进入禁入区域")
    # The retry of the same notification builds the very same PDUs.
    assert channel.messages(n, "8613800138000") == messages


async def test_short_notification_is_one_part_and_receipts_can_be_off() -> None:
    channel = SmsChannel(SmppSettings(receipts=False))
    [m] = channel.messages(notification(zone=None, case_number="DY-1"), "8613800138000")
    assert m.esm_class == 0
    assert m.registered_delivery == 0

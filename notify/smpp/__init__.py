"""SMS over SMPP 3.4: a small PDU codec (:mod:`.pdu`), UCS-2 text and concatenation
(:mod:`.text`), delivery receipts (:mod:`.receipts`), an asyncio ESME session (:mod:`.session`)
and the channel (:mod:`.channel`)."""

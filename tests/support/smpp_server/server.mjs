// A loopback SMSC for the SMS channel's tests, built on node-smpp's server (an SMPP 3.4
// implementation independent of bailwatch's own codec).
//
//   node server.mjs <port> <record.jsonl>
//
// It accepts bind_transceiver with SMPP_SYSTEM_ID / SMPP_PASSWORD, answers submit_sm with a
// message id, decodes the short message itself (UCS-2 by data_coding 0x08, UDH by esm_class
// 0x40), reassembles concatenated parts (8-bit or 16-bit reference IEIs, or sar_* TLVs) and
// sends a delivery receipt (deliver_sm, esm_class 0x04) for each part that asked for one,
// again (up to 3 times) when the ESME answers it with an error status. Every event is one
// JSON line in the record file. Destinations steer failures: "000..." is answered
// ESME_RINVDSTADR (permanent), "999..." ESME_RTHROTTLED (transient), "777..." is never
// answered, "888..." gets an UNDELIV receipt. SMPP_SMSC_ENQUIRE_MS makes the SMSC send its own
// enquire_link that often; SMPP_IGNORE_ENQUIRE=1 makes it leave the ESME's unanswered;
// SIGUSR2 makes it unbind every bound session. Prints "SMPP READY <port>" once listening.
import fs from 'node:fs';
import smpp from 'smpp';

const port = Number(process.argv[2] ?? 0);
const recordPath = process.argv[3];
const systemId = process.env.SMPP_SYSTEM_ID ?? 'bailwatch';
const password = process.env.SMPP_PASSWORD ?? '';
const receiptDelayMs = Number(process.env.SMPP_RECEIPT_DELAY_MS ?? 50);
const smscEnquireMs = Number(process.env.SMPP_SMSC_ENQUIRE_MS ?? 0);
const ignoreEnquire = process.env.SMPP_IGNORE_ENQUIRE === '1';
const sessions = new Set();
const idPrefix = Date.now().toString(36);
let counter = 0;
const pending = new Map();

function record(event) {
  fs.appendFileSync(recordPath, JSON.stringify({ ...event, at: Date.now() }) + '\n');
}

function smppDate(d) {
  const p = (n) => String(n).padStart(2, '0');
  return `${p(d.getUTCFullYear() % 100)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}`;
}

function concatInfo(pdu, udh) {
  for (const ie of udh ?? []) {
    if (ie[0] === 0x00 && ie[1] === 3) return { ref: ie[2], total: ie[3], seq: ie[4] };
    if (ie[0] === 0x08 && ie[1] === 4) return { ref: ie.readUInt16BE(2), total: ie[4], seq: ie[5] };
  }
  if (pdu.sar_msg_ref_num !== undefined) {
    return { ref: pdu.sar_msg_ref_num, total: pdu.sar_total_segments, seq: pdu.sar_segment_seqnum };
  }
  return null;
}

function sendReceipt(session, pdu, messageId, attempt) {
  const undeliv = pdu.destination_addr.startsWith('888');
  const now = new Date();
  const text =
    `id:${messageId} sub:001 dlvr:${undeliv ? '000' : '001'} submit date:${smppDate(now)} ` +
    `done date:${smppDate(now)} stat:${undeliv ? 'UNDELIV' : 'DELIVRD'} err:${undeliv ? '001' : '000'} text:`;
  session.deliver_sm(
    {
      source_addr: pdu.destination_addr,
      destination_addr: pdu.source_addr,
      esm_class: 0x04,
      short_message: text,
    },
    (resp) => {
      record({ event: 'deliver_sm_resp', message_id: messageId, command_status: resp.command_status, attempt });
      if (resp.command_status !== 0 && attempt < 3) {
        setTimeout(() => sendReceipt(session, pdu, messageId, attempt + 1), receiptDelayMs);
      }
    },
  );
}

const server = smpp.createServer({}, (session) => {
  session.on('error', (err) => record({ event: 'session_error', error: String(err) }));
  session.on('bind_transceiver', (pdu) => {
    if (pdu.system_id !== systemId || pdu.password !== password) {
      record({ event: 'bind_refused', system_id: pdu.system_id });
      session.send(pdu.response({ command_status: smpp.ESME_RBINDFAIL }));
      return;
    }
    record({ event: 'bind', system_id: pdu.system_id, interface_version: pdu.interface_version });
    session.send(pdu.response({ system_id: 'test-smsc' }));
    sessions.add(session);
    if (smscEnquireMs > 0) {
      const timer = setInterval(() => {
        session.enquire_link({}, (resp) =>
          record({ event: 'enquire_link_resp', command_status: resp.command_status }),
        );
      }, smscEnquireMs);
      session.on('close', () => clearInterval(timer));
    }
  });
  session.on('close', () => sessions.delete(session));
  session.on('enquire_link', (pdu) => {
    record({ event: 'enquire_link', answered: !ignoreEnquire });
    if (!ignoreEnquire) session.send(pdu.response());
  });
  session.on('unbind_resp', () => {
    record({ event: 'unbind_resp' });
    session.close();
  });
  session.on('unbind', (pdu) => {
    record({ event: 'unbind' });
    session.send(pdu.response());
    session.close();
  });
  session.on('submit_sm', (pdu) => {
    const dest = pdu.destination_addr;
    const sm = pdu.short_message ?? {};
    const text = typeof sm === 'string' ? sm : String(sm.message ?? '');
    const udh = typeof sm === 'string' ? [] : (sm.udh ?? []);
    const base = {
      destination_addr: dest,
      source_addr: pdu.source_addr,
      dest_addr_ton: pdu.dest_addr_ton,
      dest_addr_npi: pdu.dest_addr_npi,
      data_coding: pdu.data_coding,
      esm_class: pdu.esm_class,
      registered_delivery: pdu.registered_delivery,
      udh: udh.map((b) => b.toString('hex')),
      text,
    };
    if (dest.startsWith('000')) {
      record({ event: 'submit_sm', ...base, command_status: smpp.ESME_RINVDSTADR });
      session.send(pdu.response({ command_status: smpp.ESME_RINVDSTADR }));
      return;
    }
    if (dest.startsWith('777')) {
      record({ event: 'submit_sm', ...base, command_status: null });
      return;
    }
    if (dest.startsWith('999')) {
      record({ event: 'submit_sm', ...base, command_status: smpp.ESME_RTHROTTLED });
      session.send(pdu.response({ command_status: smpp.ESME_RTHROTTLED }));
      return;
    }
    const messageId = `${idPrefix}${(++counter).toString(16).padStart(6, '0')}`;
    record({ event: 'submit_sm', ...base, message_id: messageId, command_status: 0 });
    session.send(pdu.response({ message_id: messageId }));
    const info = concatInfo(pdu, udh);
    if (info === null) {
      record({ event: 'message', destination_addr: dest, text, parts: 1, message_ids: [messageId] });
    } else {
      const key = `${dest}|${info.ref}|${info.total}`;
      const entry = pending.get(key) ?? { parts: new Map(), ids: new Map() };
      entry.parts.set(info.seq, text);
      entry.ids.set(info.seq, messageId);
      pending.set(key, entry);
      if (entry.parts.size === info.total) {
        pending.delete(key);
        const order = [...entry.parts.keys()].sort((a, b) => a - b);
        record({
          event: 'message',
          destination_addr: dest,
          text: order.map((k) => entry.parts.get(k)).join(''),
          parts: info.total,
          reference: info.ref,
          message_ids: order.map((k) => entry.ids.get(k)),
        });
      }
    }
    if (pdu.registered_delivery & 0x01) {
      setTimeout(() => sendReceipt(session, pdu, messageId, 1), receiptDelayMs);
    }
  });
});

server.listen(port, '127.0.0.1', () => {
  console.log(`SMPP READY ${server.address().port}`);
});
process.on('SIGUSR2', () => {
  for (const session of sessions) {
    record({ event: 'unbind_sent' });
    session.unbind();
  }
});
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => process.exit(0));
}

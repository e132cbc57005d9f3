"""SQL for ``deposits`` and ``deposit_events`` (append-only history; the row is its projection)."""

from __future__ import annotations

from store.cases import visible

DEPOSIT_COLUMNS = """
d.id, d.case_id, d.kind, d.amount_fen, d.payer, d.account_number, d.account_holder,
d.notary_unit_id, d.beneficiary, d.status, d.held_fen, d.forfeited_fen, d.released_fen,
d.returned_fen, d.version, d.created_by, d.created_at, d.proposal_kind, d.proposal_amount_fen,
d.proposal_by, d.proposal_reason, d.proposal_at, d.judgment_court, d.judgment_number,
d.judgment_effective_date, d.award_fen
"""

#: $1 case.
LIST_FOR_CASE = f"SELECT {DEPOSIT_COLUMNS} FROM deposits d WHERE d.case_id = $1 ORDER BY d.id"

#: $1 case, $2 notary unit: the escrows of the case that office holds.
LIST_FOR_NOTARY = f"""
SELECT {DEPOSIT_COLUMNS} FROM deposits d
WHERE d.case_id = $1 AND d.kind = 'escrow' AND d.notary_unit_id = $2 ORDER BY d.id
"""

#: Deposits the caller sees ($1 role, $2 unit, $3 uid), id below $4, at most $5; $6 true: only
#: those with an open proposal. A notary sees the escrows its office holds; the other roles the
#: deposits of the cases they see.
LIST_VISIBLE = f"""
SELECT {DEPOSIT_COLUMNS} FROM deposits d JOIN cases c ON c.id = d.case_id
WHERE d.id < $4
  AND CASE WHEN $1::text = 'notary' THEN d.kind = 'escrow' AND d.notary_unit_id = $2::bigint
           ELSE {visible(1, 2, 3)} END
  AND ($6::boolean IS NOT TRUE OR d.proposal_kind IS NOT NULL)
ORDER BY d.id DESC LIMIT $5
"""

#: $1 deposit, $2 case.
SELECT_DEPOSIT = f"SELECT {DEPOSIT_COLUMNS} FROM deposits d WHERE d.id = $1 AND d.case_id = $2"
SELECT_FOR_UPDATE = SELECT_DEPOSIT + " FOR UPDATE"

#: $1 case, $2 notary unit: the case's parties if that office holds an escrow of the case.
SELECT_CASE_FOR_NOTARY = """
SELECT c.id, c.status, c.supervising_unit_id, c.procuratorate_unit_id, c.prosecutor_user_id,
       c.deciding_authority
FROM cases c
WHERE c.id = $1 AND EXISTS (SELECT 1 FROM deposits d WHERE d.case_id = c.id
                            AND d.kind = 'escrow' AND d.notary_unit_id = $2)
"""

#: $1 case, $2 kind, $3 amount, $4 payer, $5 account, $6 holder, $7 notary, $8 beneficiary,
#: $9 created by.
INSERT_DEPOSIT = f"""
INSERT INTO deposits AS d (case_id, kind, amount_fen, payer, account_number, account_holder,
                           notary_unit_id, beneficiary, status, version, created_by)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending', 1, $9)
RETURNING {DEPOSIT_COLUMNS}
"""

#: $1 id, $2 status, $3 held, $4 forfeited, $5 released, $6 returned, $7 expected version,
#: $8 proposal kind, $9 proposal amount, $10 proposer, $11 proposal reason (all NULL: none open).
UPDATE_PROJECTION = f"""
UPDATE deposits d SET status = $2, held_fen = $3, forfeited_fen = $4, released_fen = $5,
                      returned_fen = $6, version = version + 1, proposal_kind = $8,
                      proposal_amount_fen = $9, proposal_by = $10, proposal_reason = $11,
                      proposal_at = CASE WHEN $8::text IS NULL THEN NULL ELSE now() END
WHERE d.id = $1 AND d.version = $7
RETURNING {DEPOSIT_COLUMNS}
"""

#: $1 id, $2 expected version, $3 court, $4 judgment number, $5 date in effect, $6 award.
UPDATE_JUDGMENT = f"""
UPDATE deposits d SET version = version + 1, judgment_court = $3, judgment_number = $4,
                      judgment_effective_date = $5, award_fen = $6
WHERE d.id = $1 AND d.version = $2 AND d.award_fen IS NULL
RETURNING {DEPOSIT_COLUMNS}
"""

#: $1 deposit, $2 version, $3 kind, $4 amount, $5 before, $6 after, $7 document number,
#: $8 document date, $9 note, $10 actor, $11 document kind, $12 actor role, $13 actor unit.
INSERT_EVENT = """
INSERT INTO deposit_events (deposit_id, version, kind, amount_fen, status_before, status_after,
                            document_number, document_date, note, actor_id, document_kind,
                            actor_role, actor_unit_id)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
"""

#: $1 deposit.
SELECT_EVENTS = """
SELECT id, version, kind, amount_fen, status_before, status_after, document_number,
       document_date, document_kind, note, actor_id, actor_role, actor_unit_id, at
FROM deposit_events WHERE deposit_id = $1 ORDER BY version
"""

#: $1 deposit: the document numbers its steps rest on (each step has its own).
SELECT_DOCUMENTS = """
SELECT document_number FROM deposit_events
WHERE deposit_id = $1 AND document_number IS NOT NULL
"""

#: $1 unit: whether it is a notary office.
IS_NOTARY = "SELECT EXISTS (SELECT 1 FROM units WHERE id = $1 AND kind = 'notary')"

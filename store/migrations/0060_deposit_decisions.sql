-- Deposits decided by the deciding role (issue 17, finding 6).
--
-- * users: a ``notary`` role for the staff of a notary office (公证机构) holding an escrow.
-- * cases: the authority that decided the measure (决定机关); NULL means the API setting
--   ``BW_API__DEFAULT_DECIDING_AUTHORITY``. It names who approves forfeiture and refund.
-- * deposits: the open two-person proposal (forfeiture or refund: an officer proposes, a second
--   person of the deciding role approves or rejects) and, for an escrow, the effective judgment
--   a release to the victim depends on (court, document number, date in effect, award in fen).
-- * deposit_events: who acted in which role and unit, and what kind of document the step rests
--   on; proposals and rejections carry no document, so number and date become optional.

ALTER TABLE users DROP CONSTRAINT users_role_check;
ALTER TABLE users ADD CONSTRAINT users_role_check
    CHECK (role IN ('police', 'supervisor', 'prosecutor', 'admin', 'auditor', 'notary'));

ALTER TABLE cases ADD COLUMN deciding_authority text
    CHECK (deciding_authority IN ('public_security', 'procuratorate', 'court'));

ALTER TABLE deposits
    ADD COLUMN proposal_kind            text CHECK (proposal_kind IN ('forfeiture', 'refund')),
    ADD COLUMN proposal_amount_fen      bigint CHECK (proposal_amount_fen > 0),
    ADD COLUMN proposal_by              bigint REFERENCES users (id),
    ADD COLUMN proposal_reason          text,
    ADD COLUMN proposal_at              timestamptz,
    ADD COLUMN judgment_court           text,
    ADD COLUMN judgment_number          text,
    ADD COLUMN judgment_effective_date  date,
    ADD COLUMN award_fen                bigint CHECK (award_fen >= 0),
    ADD CONSTRAINT deposits_proposal_whole CHECK (
        (proposal_kind IS NULL) = (proposal_amount_fen IS NULL)
        AND (proposal_kind IS NULL) = (proposal_by IS NULL)),
    ADD CONSTRAINT deposits_judgment_whole CHECK (
        (award_fen IS NULL) = (judgment_number IS NULL)
        AND (award_fen IS NULL) = (judgment_effective_date IS NULL)
        AND (award_fen IS NULL) = (judgment_court IS NULL));
-- Rows written before this migration may have released money with no judgment on record; the
-- rule holds for every row written from now on.
ALTER TABLE deposits ADD CONSTRAINT deposits_release_within_award
    CHECK (released_fen = 0 OR released_fen <= award_fen) NOT VALID;

ALTER TABLE deposit_events
    ALTER COLUMN document_number DROP NOT NULL,
    ALTER COLUMN document_date DROP NOT NULL,
    ADD COLUMN document_kind  text,
    ADD COLUMN actor_role     text,
    ADD COLUMN actor_unit_id  bigint REFERENCES units (id);

-- Deposits: the bail deposit (保证金) and the compensation escrow (赔偿保证金提存), each an
-- append-only event history; ``deposits`` holds the projection (status, balances) the events
-- produce, updated in the same transaction. Money is integer fen.

CREATE TABLE deposits (
    id                bigserial PRIMARY KEY,
    case_id           bigint NOT NULL REFERENCES cases (id),
    kind              text NOT NULL CHECK (kind IN ('bail', 'escrow')),
    amount_fen        bigint NOT NULL CHECK (amount_fen > 0),
    payer             text NOT NULL,
    account_number    text NOT NULL,
    account_holder    text NOT NULL,
    -- Escrow only: the notary office holding it (a unit of kind 'notary') and the victim.
    notary_unit_id    bigint REFERENCES units (id),
    beneficiary       text,
    status            text NOT NULL,
    held_fen          bigint NOT NULL DEFAULT 0 CHECK (held_fen >= 0),
    forfeited_fen     bigint NOT NULL DEFAULT 0 CHECK (forfeited_fen >= 0),
    released_fen      bigint NOT NULL DEFAULT 0 CHECK (released_fen >= 0),
    returned_fen      bigint NOT NULL DEFAULT 0 CHECK (returned_fen >= 0),
    version           integer NOT NULL DEFAULT 0,
    created_by        bigint REFERENCES users (id),
    created_at        timestamptz NOT NULL DEFAULT now(),
    CHECK (kind = 'bail' OR notary_unit_id IS NOT NULL)
);
CREATE INDEX deposits_case_idx ON deposits (case_id, id);

CREATE TABLE deposit_events (
    id               bigserial PRIMARY KEY,
    deposit_id       bigint NOT NULL REFERENCES deposits (id),
    version          integer NOT NULL,
    kind             text NOT NULL,
    amount_fen       bigint NOT NULL CHECK (amount_fen >= 0),
    status_before    text,
    status_after     text NOT NULL,
    document_number  text NOT NULL,
    document_date    date NOT NULL,
    note             text NOT NULL DEFAULT '',
    actor_id         bigint REFERENCES users (id),
    at               timestamptz NOT NULL DEFAULT now(),
    UNIQUE (deposit_id, version)
);

"""Schemas of the deposits domain. Money is integer fen (1 yuan = 100 fen); floats are refused."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field, StrictInt, computed_field, model_validator

from api.deposits.logic import DepositKind, EventKind, ProposalKind

Fen = StrictInt


def yuan(fen: int) -> str:
    """Integer fen shown as yuan with fen, e.g. 1_000_000 -> "¥10,000.00"."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}¥{whole:,}.{cents:02d}"


class Document(BaseModel):
    """The deciding document of a step: its number (文号) and date."""

    document_number: str = Field(min_length=1, max_length=128, pattern=r"\S")
    document_date: date
    note: str = Field(default="", max_length=2000)


class DepositIn(Document):
    """A deposit decided for a case; its creation is the first event (status pending)."""

    kind: DepositKind
    amount_fen: Fen = Field(gt=0, le=10**13, description="integer fen")
    payer: str = Field(min_length=1, max_length=200)
    account_number: str = Field(min_length=1, max_length=64, description="receiving account")
    account_holder: str = Field(min_length=1, max_length=200)
    notary_unit_id: int | None = Field(
        default=None, ge=1, le=2**62, description="escrow: the notary office (公证机构)"
    )
    beneficiary: str | None = Field(default=None, max_length=200, description="escrow: victim")

    @model_validator(mode="after")
    def _escrow_has_notary(self) -> DepositIn:
        if self.kind is DepositKind.escrow and self.notary_unit_id is None:
            raise ValueError("an escrow needs notary_unit_id")
        if self.kind is DepositKind.bail and self.notary_unit_id is not None:
            raise ValueError("a bail deposit has no notary")
        return self


class DepositEventIn(Document):
    """A step one authorised person records: received, deposited (the whole amount),
    released_to_victim (up to the award), returned_to_payer (the rest). Forfeiture and refund go
    through a proposal and its approval instead."""

    kind: EventKind
    amount_fen: Fen = Field(ge=0, le=10**13, description="integer fen")


class ProposalIn(BaseModel):
    """An officer's proposal to forfeit part or all of a bail deposit, or to refund the rest."""

    kind: ProposalKind
    amount_fen: Fen = Field(gt=0, le=10**13, description="integer fen")
    reason: str = Field(min_length=2, max_length=2000, pattern=r"\S")


class RejectionIn(BaseModel):
    note: str = Field(min_length=2, max_length=2000, pattern=r"\S", description="why")


class JudgmentIn(BaseModel):
    """The effective judgment an escrow release depends on (生效判决)."""

    court: str = Field(min_length=2, max_length=200, pattern=r"\S")
    document_number: str = Field(min_length=1, max_length=128, pattern=r"\S")
    effective_date: date = Field(description="the date the judgment took effect")
    award_fen: Fen = Field(ge=0, le=10**13, description="compensation awarded, integer fen")
    note: str = Field(default="", max_length=2000)


class DepositEventOut(BaseModel):
    id: int
    version: int
    kind: str
    amount_fen: int
    status_before: str | None
    status_after: str
    document_number: str | None
    document_date: date | None
    document_kind: str | None = Field(
        description="decision, receipt, escrow_certificate, judgment, notary_record (by the "
        "notary office), notary_notice (its written notice, recorded by the deciding role); "
        "none for proposals and rejections"
    )
    note: str
    actor_id: int | None
    actor_role: str | None
    actor_unit_id: int | None
    at: datetime

    @computed_field  # type: ignore[prop-decorator]
    @property
    def amount_yuan(self) -> str:
        return yuan(self.amount_fen)


class ProposalOut(BaseModel):
    kind: ProposalKind
    amount_fen: int
    amount_yuan: str
    reason: str
    proposed_by: int
    proposed_at: datetime


class JudgmentOut(BaseModel):
    court: str
    document_number: str
    effective_date: date
    award_fen: int
    award_yuan: str


class DepositSummary(BaseModel):
    """A deposit's current projection (a list item; ``DepositOut`` adds the history)."""

    id: int
    case_id: int
    kind: DepositKind
    amount_fen: int
    payer: str
    account_number: str
    account_holder: str
    notary_unit_id: int | None
    beneficiary: str | None
    status: str
    held_fen: int = Field(description="still held (bail) or in escrow, fen")
    forfeited_fen: int
    released_fen: int = Field(description="paid to the victim, fen")
    returned_fen: int = Field(description="returned to the payer, fen")
    version: int
    created_by: int | None
    created_at: datetime
    proposal: ProposalOut | None = Field(
        default=None, description="the open forfeiture or refund proposal awaiting decision"
    )
    judgment: JudgmentOut | None = Field(
        default=None, description="escrow: the effective judgment releases depend on"
    )

    @computed_field  # type: ignore[prop-decorator]
    @property
    def amounts_yuan(self) -> dict[str, str]:
        """The amounts as yuan strings (amount, held, forfeited, released, returned)."""
        return {
            "amount": yuan(self.amount_fen),
            "held": yuan(self.held_fen),
            "forfeited": yuan(self.forfeited_fen),
            "released": yuan(self.released_fen),
            "returned": yuan(self.returned_fen),
        }


class DepositOut(DepositSummary):
    """A deposit with its event history, oldest first."""

    events: list[DepositEventOut] = []

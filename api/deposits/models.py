"""Schemas of the deposits domain. Money is integer fen (1 yuan = 100 fen); floats are refused."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field, StrictInt, model_validator

from api.deposits.logic import DepositKind, EventKind

Fen = StrictInt


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
    kind: EventKind
    amount_fen: Fen = Field(ge=0, le=10**13, description="integer fen")


class DepositEventOut(BaseModel):
    id: int
    version: int
    kind: str
    amount_fen: int
    status_before: str | None
    status_after: str
    document_number: str
    document_date: date
    note: str
    actor_id: int | None
    at: datetime


class DepositOut(BaseModel):
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
    events: list[DepositEventOut] = []

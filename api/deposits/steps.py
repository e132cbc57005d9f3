"""One deposit step, decided whole: who acts (``parties``), what the state allows (``logic``) and
whether the step's document is its own. Pure; the service runs exactly this and writes the
outcome, so the property tests of this function are tests of what the API does."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from api.deposits import logic, parties
from api.deposits.logic import DepositState, EventKind, ProposalKind


@dataclass(frozen=True)
class Record:
    """A direct step: received, deposited, released_to_victim, returned_to_payer."""

    event: EventKind
    amount_fen: int


@dataclass(frozen=True)
class Propose:
    kind: ProposalKind
    amount_fen: int


@dataclass(frozen=True)
class Approve:
    pass


@dataclass(frozen=True)
class Reject:
    pass


@dataclass(frozen=True)
class Judgment:
    award_fen: int


Command = Record | Propose | Approve | Reject | Judgment


@dataclass(frozen=True)
class Outcome:
    """The state after the step and the event that records it."""

    after: DepositState
    event: EventKind
    amount_fen: int
    document_kind: str | None


def _decide(
    state: DepositState, command: Command, actor: parties.Actor, who: parties.Parties, ended: bool
) -> Outcome:
    if isinstance(command, Record):
        after = logic.direct(state, command.event, command.amount_fen)
        kind = parties.check_direct(command.event, actor, who)
        return Outcome(after, command.event, command.amount_fen, kind)
    if isinstance(command, Propose):
        parties.check_officer(actor, who, f"propose {command.kind.value}")
        after = logic.propose(
            state, command.kind, command.amount_fen, proposer_id=actor.user_id, ended=ended
        )
        return Outcome(after, logic.PROPOSED_AS[command.kind], command.amount_fen, None)
    if isinstance(command, Approve):
        parties.check_decider(actor, who, "approve the proposal")
        after, event, amount = logic.approve(state, decider_id=actor.user_id, ended=ended)
        return Outcome(after, event, amount, "decision")
    if isinstance(command, Reject):
        parties.check_decider(actor, who, "reject the proposal")
        after, amount = logic.reject(state, decider_id=actor.user_id)
        return Outcome(after, EventKind.proposal_rejected, amount, None)
    kind = parties.check_judgment(actor, who)
    return Outcome(
        logic.record_judgment(state, command.award_fen),
        EventKind.judgment_recorded,
        command.award_fen,
        kind,
    )


def take(
    state: DepositState,
    command: Command,
    *,
    actor: parties.Actor,
    who: parties.Parties,
    ended: bool,
    document: str | None,
    used_documents: Sequence[str],
) -> Outcome:
    """The outcome of ``command`` by ``actor``; raises a ``logic.RefusedError`` saying why not.

    ``ended``: the measure has ended (a refund may be proposed and approved). ``document``: the
    number of the document the step rests on, required for every step but proposals and
    rejections, and refused when another step of the deposit already rests on it.
    """
    outcome = _decide(state, command, actor, who, ended)
    if outcome.document_kind is not None:
        if document is None or not document.strip():
            raise logic.IllegalTransitionError(
                f"{outcome.event.value} needs the number of its {outcome.document_kind} document"
            )
        logic.check_document(document, used_documents)
    return outcome

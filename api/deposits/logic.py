"""Pure state machines of the two deposits. Money is integer fen; every step names its event.

Bail deposit (保证金, CPL arts. 70-73, 79), collected by the executing police::

    pending --received(amount)--> held
    held | forfeited_in_part --forfeited(part)--> forfeited_in_part
    held | forfeited_in_part --forfeited(rest)--> forfeited
    held | forfeited_in_part --refunded(rest)--> refunded          (only once the measure ended)

Forfeiture and refund are never one person's act: an officer proposes (``forfeiture_proposed``,
``refund_proposed`` with a reason), a second person of the deciding role approves (the
``forfeited`` / ``refunded`` event, with the decision document) or rejects
(``proposal_rejected``). One proposal is open at a time; while it is open the balance is frozen.

Compensation escrow (赔偿保证金提存), lodged with a notary office for the victim::

    pending --deposited(amount)--> deposited
    deposited --judgment_recorded(award)--> deposited               (status unchanged)
    deposited | released_in_part --released_to_victim(part)--> released_in_part
    deposited | released_in_part --released_to_victim(rest)--> closed
    deposited | released_in_part --returned_to_payer(rest)--> closed

A release needs the effective judgment first and never takes the released total above the
award; what is left once the award is paid (or at once, when the award is 0) returns to the
payer in one step. ``received`` and ``deposited`` take the whole amount; ``refunded`` and
``returned_to_payer`` the whole remaining balance; partial steps 1 fen up to the balance.

Invariant once paid: ``amount = held + forfeited + released + returned`` (``returned`` counts a
bail refund and an escrow's return to the payer alike), every balance >= 0, ``released <= award``.
Who may take each step is in :mod:`api.deposits.parties`.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, replace
from enum import StrEnum


class DepositKind(StrEnum):
    bail = "bail"
    escrow = "escrow"


class EventKind(StrEnum):
    received = "received"
    forfeited = "forfeited"
    refunded = "refunded"
    deposited = "deposited"
    released_to_victim = "released_to_victim"
    returned_to_payer = "returned_to_payer"
    forfeiture_proposed = "forfeiture_proposed"
    refund_proposed = "refund_proposed"
    proposal_rejected = "proposal_rejected"
    judgment_recorded = "judgment_recorded"


class ProposalKind(StrEnum):
    forfeiture = "forfeiture"
    refund = "refund"


#: The balance step a proposal becomes when it is approved, and the event proposing it.
APPROVED_AS = {
    ProposalKind.forfeiture: EventKind.forfeited,
    ProposalKind.refund: EventKind.refunded,
}
PROPOSED_AS = {
    ProposalKind.forfeiture: EventKind.forfeiture_proposed,
    ProposalKind.refund: EventKind.refund_proposed,
}
#: Steps one authorised person records directly (``POST .../events``).
DIRECT_STEPS = frozenset(
    {
        EventKind.received,
        EventKind.deposited,
        EventKind.released_to_victim,
        EventKind.returned_to_payer,
    }
)


class RefusedError(Exception):
    """A step the rules refuse; the message says why."""


class IllegalTransitionError(RefusedError):
    """The step is not allowed in the deposit's current state, or not with that amount."""


class TwoPersonError(RefusedError):
    """The person deciding a proposal is the one who made it."""


class DocumentReusedError(RefusedError):
    """The document number is already the basis of another step of the same deposit."""


@dataclass(frozen=True)
class Proposal:
    """An open forfeiture or refund proposal, awaiting the deciding role."""

    kind: ProposalKind
    amount_fen: int
    proposer_id: int


@dataclass(frozen=True)
class DepositState:
    """A deposit's projection: status, balances in fen, open proposal, judgment award."""

    kind: DepositKind
    status: str
    amount_fen: int
    held_fen: int = 0
    forfeited_fen: int = 0
    released_fen: int = 0
    returned_fen: int = 0
    proposal: Proposal | None = None
    award_fen: int | None = None


def _is_fen(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def initial(kind: DepositKind, amount_fen: int) -> DepositState:
    """A new deposit, decided but not yet paid."""
    if not _is_fen(amount_fen) or amount_fen <= 0:
        raise IllegalTransitionError("the amount must be a positive integer number of fen")
    return DepositState(kind, "pending", amount_fen)


#: (kind, event) -> statuses in which the balance step is allowed.
ALLOWED: dict[tuple[DepositKind, EventKind], frozenset[str]] = {
    (DepositKind.bail, EventKind.received): frozenset({"pending"}),
    (DepositKind.bail, EventKind.forfeited): frozenset({"held", "forfeited_in_part"}),
    (DepositKind.bail, EventKind.refunded): frozenset({"held", "forfeited_in_part"}),
    (DepositKind.escrow, EventKind.deposited): frozenset({"pending"}),
    (DepositKind.escrow, EventKind.released_to_victim): frozenset(
        {"deposited", "released_in_part"}
    ),
    (DepositKind.escrow, EventKind.returned_to_payer): frozenset({"deposited", "released_in_part"}),
}


def _whole(state: DepositState, amount: int, what: str) -> None:
    if amount != state.amount_fen:
        raise IllegalTransitionError(f"{what} must be the whole amount, {state.amount_fen} fen")


def _rest(state: DepositState, amount: int, what: str) -> None:
    if amount != state.held_fen:
        raise IllegalTransitionError(f"{what} must be the whole balance, {state.held_fen} fen")


def _part(state: DepositState, amount: int, what: str) -> None:
    if not 0 < amount <= state.held_fen:
        raise IllegalTransitionError(
            f"{what} of {amount} fen: it must be between 1 fen and the balance, "
            f"{state.held_fen} fen"
        )


def _check_release(state: DepositState, amount: int) -> None:
    if state.award_fen is None:
        raise IllegalTransitionError(
            "no effective judgment is recorded: record the court's judgment (court, document "
            "number, date in effect, award) before releasing the escrow to the victim"
        )
    _part(state, amount, "a release to the victim")
    left = state.award_fen - state.released_fen
    if amount > left:
        raise IllegalTransitionError(
            f"a release of {amount} fen exceeds the award: {state.award_fen} fen awarded, "
            f"{state.released_fen} fen released already, {left} fen left to release"
        )


def _check_return(state: DepositState, amount: int) -> None:
    if state.award_fen is None:
        raise IllegalTransitionError(
            "no effective judgment is recorded: the escrow returns to the payer only after the "
            "judgment's award is settled"
        )
    owed = state.award_fen - state.released_fen
    if owed > 0:
        raise IllegalTransitionError(
            f"{owed} fen of the award is still to be released to the victim before the rest "
            "returns to the payer"
        )
    _rest(state, amount, "a return to the payer")


def apply(state: DepositState, event: EventKind, amount_fen: int) -> DepositState:
    """The state after balance step ``event`` of ``amount_fen``; raises if refused."""
    if not _is_fen(amount_fen):
        raise IllegalTransitionError("amounts are integer fen")
    allowed = ALLOWED.get((state.kind, event))
    if allowed is None or state.status not in allowed:
        raise IllegalTransitionError(
            f"a {state.kind.value} deposit that is {state.status} cannot be {event.value}"
        )
    if event in (EventKind.received, EventKind.deposited):
        _whole(state, amount_fen, event.value)
        status = "held" if event is EventKind.received else "deposited"
        return replace(state, status=status, held_fen=amount_fen)
    if event is EventKind.forfeited:
        _part(state, amount_fen, "a forfeiture")
        left = state.held_fen - amount_fen
        return replace(
            state, status="forfeited" if left == 0 else "forfeited_in_part", held_fen=left,
            forfeited_fen=state.forfeited_fen + amount_fen,
        )  # fmt: skip
    if event is EventKind.released_to_victim:
        _check_release(state, amount_fen)
        left = state.held_fen - amount_fen
        return replace(
            state, status="closed" if left == 0 else "released_in_part", held_fen=left,
            released_fen=state.released_fen + amount_fen,
        )  # fmt: skip
    if event is EventKind.returned_to_payer:
        _check_return(state, amount_fen)
    else:
        _rest(state, amount_fen, event.value)
    status = "refunded" if event is EventKind.refunded else "closed"
    return replace(state, status=status, held_fen=0, returned_fen=state.returned_fen + amount_fen)


def direct(state: DepositState, event: EventKind, amount_fen: int) -> DepositState:
    """A step one authorised person records directly; forfeiture and refund are refused here."""
    if event in (EventKind.forfeited, EventKind.refunded):
        raise IllegalTransitionError(
            f"{event.value} is decided by the deciding authority: an officer proposes it "
            "(POST .../proposals with a reason) and a second person of the deciding role "
            "approves it with the decision document"
        )
    if event not in DIRECT_STEPS:
        raise IllegalTransitionError(f"{event.value} is not a step recorded on its own")
    if state.proposal is not None:
        raise IllegalTransitionError(
            f"a {state.proposal.kind.value} proposal is open; decide it first"
        )
    return apply(state, event, amount_fen)


def propose(
    state: DepositState, kind: ProposalKind, amount_fen: int, *, proposer_id: int, ended: bool
) -> DepositState:
    """Open a forfeiture or refund proposal; ``ended`` says whether the measure has ended."""
    if state.kind is not DepositKind.bail:
        raise IllegalTransitionError("only a bail deposit is forfeited or refunded")
    if state.proposal is not None:
        raise IllegalTransitionError(
            f"a {state.proposal.kind.value} proposal of {state.proposal.amount_fen} fen is open "
            "already; it is approved or rejected first"
        )
    if kind is ProposalKind.refund and not ended:
        raise IllegalTransitionError(
            "the deposit is refunded only after the measure ends (the case is released)"
        )
    apply(state, APPROVED_AS[kind], amount_fen)  # the step must be possible now
    return replace(state, proposal=Proposal(kind, amount_fen, proposer_id))


def _open(state: DepositState, decider_id: int) -> Proposal:
    if state.proposal is None:
        raise IllegalTransitionError("no proposal is open on this deposit")
    if state.proposal.proposer_id == decider_id:
        raise TwoPersonError(
            "two-person rule: the person who proposed cannot decide the proposal; a second "
            "person of the deciding role must"
        )
    return state.proposal


def approve(
    state: DepositState, *, decider_id: int, ended: bool
) -> tuple[DepositState, EventKind, int]:
    """Approve the open proposal: the state after its step, the step and its amount."""
    proposal = _open(state, decider_id)
    if proposal.kind is ProposalKind.refund and not ended:
        raise IllegalTransitionError("the measure has not ended; a refund cannot be approved")
    event = APPROVED_AS[proposal.kind]
    after = apply(replace(state, proposal=None), event, proposal.amount_fen)
    return after, event, proposal.amount_fen


def reject(state: DepositState, *, decider_id: int) -> tuple[DepositState, int]:
    """Reject the open proposal: the state (balances unchanged) and the amount proposed."""
    proposal = _open(state, decider_id)
    return replace(state, proposal=None), proposal.amount_fen


def record_judgment(state: DepositState, award_fen: int) -> DepositState:
    """Record the effective judgment's award on an escrow, once, before any release."""
    if state.kind is not DepositKind.escrow:
        raise IllegalTransitionError("a judgment's award is recorded on an escrow only")
    if not _is_fen(award_fen) or award_fen < 0:
        raise IllegalTransitionError("the award is a non-negative integer number of fen")
    if state.award_fen is not None:
        raise IllegalTransitionError(
            f"a judgment awarding {state.award_fen} fen is recorded already"
        )
    if state.status not in ("deposited", "released_in_part"):
        raise IllegalTransitionError(
            f"an escrow that is {state.status} takes no judgment (it must be deposited)"
        )
    return replace(state, award_fen=award_fen)


def document_key(number: str) -> str:
    """A document number as compared for reuse: NFKC (full-width brackets and digits fold to
    their ASCII forms), case-folded, without white space."""
    folded = unicodedata.normalize("NFKC", number).casefold()
    return "".join(folded.split())


def check_document(number: str, used: Iterable[str]) -> None:
    """Refuse a document number already used by another step of the same deposit."""
    key = document_key(number)
    if any(document_key(u) == key for u in used):
        raise DocumentReusedError(
            f"document {number!r} is already the basis of another step of this deposit; "
            "each step has its own document"
        )


def replay(kind: DepositKind, amount_fen: int, events: list[tuple[EventKind, int]]) -> DepositState:
    """The state a history of balance steps produces (the projection can always be rebuilt)."""
    state = initial(kind, amount_fen)
    for event, amount in events:
        if event is EventKind.judgment_recorded:
            state = record_judgment(state, amount)
        else:
            state = apply(state, event, amount)
    return state


#: Every status of each kind (for exhaustive tests and documentation).
STATUSES: dict[DepositKind, tuple[str, ...]] = {
    DepositKind.bail: ("pending", "held", "forfeited_in_part", "forfeited", "refunded"),
    DepositKind.escrow: ("pending", "deposited", "released_in_part", "closed"),
}

"""Pure state machines of the two deposits. Money is integer fen; every step names its event.

Bail deposit (保证金, CPL art. 70-73), paid into the executing police's designated account::

    pending --received(amount)--> held
    held | forfeited_in_part --forfeited(part)--> forfeited_in_part
    held | forfeited_in_part --forfeited(rest)--> forfeited
    held | forfeited_in_part --refunded(rest)--> refunded

Compensation escrow (赔偿保证金提存), lodged with a notary office for the victim::

    pending --deposited(amount)--> deposited
    deposited | released_in_part --released_to_victim(part)--> released_in_part
    deposited | released_in_part --released_to_victim(rest)--> closed
    deposited | released_in_part --returned_to_payer(rest)--> closed

``received`` and ``deposited`` take the whole amount; ``refunded`` and ``returned_to_payer`` the
whole remaining balance; partial steps take 1 fen up to the balance. Anything else is refused.
"""

from __future__ import annotations

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


class IllegalTransitionError(Exception):
    """The event is not allowed in the deposit's current state (or with that amount)."""


@dataclass(frozen=True)
class DepositState:
    """A deposit's projection: status and balances in fen."""

    kind: DepositKind
    status: str
    amount_fen: int
    held_fen: int = 0
    forfeited_fen: int = 0
    released_fen: int = 0
    returned_fen: int = 0


def initial(kind: DepositKind, amount_fen: int) -> DepositState:
    """A new deposit, decided but not yet paid."""
    if isinstance(amount_fen, bool) or not isinstance(amount_fen, int) or amount_fen <= 0:
        raise IllegalTransitionError("the amount must be a positive integer number of fen")
    return DepositState(kind, "pending", amount_fen)


#: (kind, event) -> statuses in which the event is allowed.
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
        raise IllegalTransitionError(f"{what} must be between 1 and {state.held_fen} fen")


def apply(state: DepositState, event: EventKind, amount_fen: int) -> DepositState:
    """The state after ``event`` of ``amount_fen``; raises ``IllegalTransitionError`` if refused."""
    if isinstance(amount_fen, bool) or not isinstance(amount_fen, int):
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
        _part(state, amount_fen, "a release to the victim")
        left = state.held_fen - amount_fen
        return replace(
            state, status="closed" if left == 0 else "released_in_part", held_fen=left,
            released_fen=state.released_fen + amount_fen,
        )  # fmt: skip
    _rest(state, amount_fen, event.value)
    status = "refunded" if event is EventKind.refunded else "closed"
    return replace(state, status=status, held_fen=0, returned_fen=state.returned_fen + amount_fen)


def replay(kind: DepositKind, amount_fen: int, events: list[tuple[EventKind, int]]) -> DepositState:
    """The state a history of events produces (the projection can always be rebuilt)."""
    state = initial(kind, amount_fen)
    for event, amount in events:
        state = apply(state, event, amount)
    return state


#: Every status of each kind (for exhaustive tests and documentation).
STATUSES: dict[DepositKind, tuple[str, ...]] = {
    DepositKind.bail: ("pending", "held", "forfeited_in_part", "forfeited", "refunded"),
    DepositKind.escrow: ("pending", "deposited", "released_in_part", "closed"),
}

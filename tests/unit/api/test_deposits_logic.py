"""Deposit state machines: every (status, event) pair, legal ones with their amounts."""

from __future__ import annotations

import itertools

import pytest

from api.deposits.logic import (
    ALLOWED,
    STATUSES,
    DepositKind,
    DepositState,
    EventKind,
    IllegalTransitionError,
    apply,
    initial,
    replay,
)  # fmt: skip

B, E = DepositKind.bail, DepositKind.escrow


def _state(kind: DepositKind, status: str) -> DepositState:
    held = 0 if status in ("pending", "forfeited", "refunded", "closed") else 600
    return DepositState(kind, status, 1000, held_fen=held)


@pytest.mark.parametrize(
    ("kind", "status", "event"),
    [
        (k, s, e)
        for k in DepositKind
        for s, e in itertools.product(STATUSES[k], EventKind)
        if s not in ALLOWED.get((k, e), frozenset())
    ],
)
def test_every_illegal_transition_is_refused(
    kind: DepositKind, status: str, event: EventKind
) -> None:
    state = _state(kind, status)
    for amount in (0, 1, state.held_fen, state.amount_fen):
        with pytest.raises(IllegalTransitionError):
            apply(state, event, amount)


def test_bail_happy_paths() -> None:
    assert (
        replay(B, 1000, [(EventKind.received, 1000), (EventKind.refunded, 1000)]).status
        == "refunded"
    )
    s = replay(B, 1000, [(EventKind.received, 1000), (EventKind.forfeited, 300)])
    assert (s.status, s.held_fen, s.forfeited_fen) == ("forfeited_in_part", 700, 300)
    s = apply(s, EventKind.refunded, 700)
    assert (s.status, s.returned_fen, s.forfeited_fen) == ("refunded", 700, 300)
    whole = replay(B, 1000, [(EventKind.received, 1000), (EventKind.forfeited, 1000)])
    assert whole.status == "forfeited"
    assert whole.held_fen == 0


def test_escrow_happy_paths() -> None:
    judged = EventKind.judgment_recorded
    s = replay(
        E,
        5000,
        [(EventKind.deposited, 5000), (judged, 3000), (EventKind.released_to_victim, 3000)],
    )
    assert (s.status, s.held_fen, s.released_fen, s.award_fen) == (
        "released_in_part", 2000, 3000, 3000,
    )  # fmt: skip
    s = apply(s, EventKind.returned_to_payer, 2000)
    assert (s.status, s.returned_fen) == ("closed", 2000)
    nothing_awarded = replay(E, 5000, [(EventKind.deposited, 5000), (judged, 0)])
    assert apply(nothing_awarded, EventKind.returned_to_payer, 5000).status == "closed"
    more_than_held = replay(E, 5000, [(EventKind.deposited, 5000), (judged, 9000)])
    assert apply(more_than_held, EventKind.released_to_victim, 5000).status == "closed"


@pytest.mark.parametrize(
    ("history", "event", "amount", "fragment"),
    [
        ([], EventKind.released_to_victim, 1000, "no effective judgment"),
        ([], EventKind.returned_to_payer, 5000, "no effective judgment"),
        ([(EventKind.judgment_recorded, 2000)], EventKind.released_to_victim, 2001, "exceeds"),
        ([(EventKind.judgment_recorded, 2000)], EventKind.returned_to_payer, 3000, "still to be"),
        (
            [(EventKind.judgment_recorded, 2000), (EventKind.released_to_victim, 2000)],
            EventKind.returned_to_payer, 2999, "whole balance",
        ),
        ([(EventKind.judgment_recorded, 2000)], EventKind.judgment_recorded, 1, "already"),
    ],
)  # fmt: skip
def test_escrow_release_needs_judgment_within_award(
    history: list[tuple[EventKind, int]], event: EventKind, amount: int, fragment: str
) -> None:
    state = replay(E, 5000, [(EventKind.deposited, 5000), *history])
    with pytest.raises(IllegalTransitionError, match=fragment):
        replay(E, 5000, [(EventKind.deposited, 5000), *history, (event, amount)])
    assert state.status in ("deposited", "released_in_part")


@pytest.mark.parametrize(
    ("history", "event", "amount"),
    [
        ([], EventKind.received, 999),  # not the whole amount
        ([(EventKind.received, 1000)], EventKind.forfeited, 1001),  # more than held
        ([(EventKind.received, 1000)], EventKind.forfeited, 0),
        ([(EventKind.received, 1000)], EventKind.refunded, 500),  # refund is of the whole rest
        ([(EventKind.received, 1000), (EventKind.forfeited, 400)], EventKind.refunded, 1000),
    ],
)
def test_bail_amounts_checked(
    history: list[tuple[EventKind, int]], event: EventKind, amount: int
) -> None:
    with pytest.raises(IllegalTransitionError):
        apply(replay(B, 1000, history), event, amount)


@pytest.mark.parametrize("amount", [0, -5, 1.5, True, 10.0])
def test_money_is_positive_integer_fen(amount: object) -> None:
    with pytest.raises(IllegalTransitionError):
        initial(B, amount)  # type: ignore[arg-type]
    if amount != 0 and amount != -5:
        with pytest.raises(IllegalTransitionError):
            apply(initial(B, 10), EventKind.received, amount)  # type: ignore[arg-type]

"""Deposit steps as the API takes them (``steps.take``): properties over random histories by
random people, and the refusals one by one with the reason they give."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from api.auth.models import Role
from api.deposits import logic, parties, steps
from api.deposits.logic import DepositKind, DepositState, EventKind, ProposalKind
from api.deposits.parties import Actor, DecidingAuthority, Parties

STATION, PROC, NOTARY, OTHER_STATION, OTHER_NOTARY = 1, 2, 3, 9, 4
PEOPLE = {
    "police": Actor(10, Role.police, STATION),
    "police_b": Actor(11, Role.police, STATION),
    "super": Actor(12, Role.supervisor, STATION),
    "super_b": Actor(13, Role.supervisor, STATION),
    "super_elsewhere": Actor(14, Role.supervisor, OTHER_STATION),
    "pros": Actor(20, Role.prosecutor, PROC),
    "pros_b": Actor(21, Role.prosecutor, PROC),
    "notary": Actor(30, Role.notary, NOTARY),
    "notary_elsewhere": Actor(31, Role.notary, OTHER_NOTARY),
    "admin": Actor(40, Role.admin, STATION),
}
DOCS = ["东公决字〔2026〕1号", "东公决字（2026）1号", "(2026)鲁0502刑初12号", "N-1", "n-1", "N-2"]


def _parties(authority: DecidingAuthority, prosecutor: int | None = 20) -> Parties:
    return Parties(authority, STATION, PROC, prosecutor, NOTARY)


def _commands(amount: int) -> st.SearchStrategy[steps.Command]:
    fen = st.integers(min_value=0, max_value=2 * amount)
    return st.one_of(
        st.builds(steps.Record, st.sampled_from(list(EventKind)), fen),
        st.builds(steps.Propose, st.sampled_from(list(ProposalKind)), fen),
        st.just(steps.Approve()),
        st.just(steps.Reject()),
        st.builds(steps.Judgment, fen),
    )


def _plausible(state: DepositState) -> list[steps.Command]:
    """Commands that fit the state (amounts at or inside the balance and the award), so random
    histories reach approvals, releases and returns often, not only refusals."""
    held, owed = state.held_fen, (state.award_fen or 0) - state.released_fen
    return [
        steps.Record(EventKind.received, state.amount_fen),
        steps.Record(EventKind.deposited, state.amount_fen),
        steps.Propose(ProposalKind.forfeiture, max(1, held // 2)),
        steps.Propose(ProposalKind.forfeiture, max(1, held)),
        steps.Propose(ProposalKind.refund, max(1, held)),
        steps.Approve(),
        steps.Approve(),
        steps.Reject(),
        steps.Judgment(state.amount_fen // 3),
        steps.Record(EventKind.released_to_victim, max(1, min(held, owed))),
        steps.Record(EventKind.returned_to_payer, held),
    ]


def _fitting(
    state: DepositState, who: Parties, *, ended: bool
) -> list[tuple[steps.Command, Actor]]:
    """The (command, person) pairs among the plausible commands that would be accepted."""
    pairs = []
    for command in _plausible(state):
        for actor in PEOPLE.values():
            try:
                steps.take(
                    state, command, actor=actor, who=who, ended=ended, document="fresh",
                    used_documents=[],
                )  # fmt: skip
            except logic.RefusedError:
                continue
            pairs.append((command, actor))
    return pairs


@dataclass
class Taken:
    outcome: steps.Outcome
    actor: Actor
    document: str | None
    step: int


def _check_invariants(state: DepositState) -> None:
    balances = (state.held_fen, state.forfeited_fen, state.released_fen, state.returned_fen)
    assert min(balances) >= 0
    if state.status == "pending":
        assert sum(balances) == 0
    else:
        assert sum(balances) == state.amount_fen  # conserved: nothing appears or vanishes
    if state.award_fen is None:
        assert state.released_fen == 0
    else:
        assert state.released_fen <= state.award_fen
    if state.kind is DepositKind.escrow:
        assert state.forfeited_fen == 0
        assert state.proposal is None


@settings(max_examples=120, deadline=None)
@given(
    kind=st.sampled_from(list(DepositKind)),
    amount=st.integers(min_value=1, max_value=10**9),
    authority=st.sampled_from(list(DecidingAuthority)),
    named_prosecutor=st.booleans(),
    ends_at=st.integers(min_value=0, max_value=30),
    data=st.data(),
)
def test_random_histories_keep_the_rules(
    kind: DepositKind,
    amount: int,
    authority: DecidingAuthority,
    named_prosecutor: bool,
    ends_at: int,
    data: st.DataObject,
) -> None:
    who = _parties(authority, 20 if named_prosecutor else None)
    state = logic.initial(kind, amount)
    taken: list[Taken] = []
    for i in range(data.draw(st.integers(min_value=1, max_value=16))):
        used = [t.document for t in taken if t.document is not None]
        document = data.draw(st.one_of(st.just(f"D-{i}"), st.sampled_from([None, *DOCS])))
        if data.draw(st.booleans()):  # steer: a step somebody may take now, by one who may
            fitting = _fitting(state, who, ended=i >= ends_at)
            command, actor = data.draw(
                st.sampled_from(fitting or [(steps.Approve(), PEOPLE["admin"])])
            )
        else:  # anything by anybody: mostly refused, which must leave no trace
            command = data.draw(_commands(amount))
            actor = data.draw(st.sampled_from(list(PEOPLE.values())))
        try:
            outcome = steps.take(
                state, command, actor=actor, who=who, ended=i >= ends_at, document=document,
                used_documents=used,
            )  # fmt: skip
        except logic.RefusedError:
            continue
        # A proposal or rejection rests on no document: none is recorded (the service passes none).
        recorded = document if outcome.document_kind is not None else None
        taken.append(Taken(outcome, actor, recorded, i))
        event(outcome.event.value)
        state = outcome.after
        _check_invariants(state)

    keys = [logic.document_key(t.document) for t in taken if t.document is not None]
    assert len(keys) == len(set(keys)), "a document served two steps"
    for n, t in enumerate(taken):
        if t.outcome.event in (EventKind.forfeited, EventKind.refunded):
            # Two people: proposed by an officer, approved by another person of the deciding role.
            proposal = next(
                p for p in reversed(taken[:n]) if p.outcome.event in logic.PROPOSED_AS.values()
            )
            assert parties.is_officer(proposal.actor, who)
            assert parties.is_decider(t.actor, who)
            assert t.actor.user_id != proposal.actor.user_id
            assert t.outcome.amount_fen == proposal.outcome.amount_fen
            assert t.document is not None
            assert t.outcome.document_kind == "decision"
        if t.outcome.event is EventKind.released_to_victim:
            assert parties.is_notary(t.actor, who) or parties.is_decider(t.actor, who)
        if t.outcome.event in (EventKind.refund_proposed, EventKind.refunded):
            assert t.step >= ends_at, "a refund before the measure ended"
        if t.outcome.document_kind is not None:
            assert t.document is not None, f"{t.outcome.event} taken without its document"
    balance_steps = [
        (t.outcome.event, t.outcome.amount_fen)
        for t in taken
        if t.outcome.event in (*logic.DIRECT_STEPS, *logic.APPROVED_AS.values())
        or t.outcome.event is EventKind.judgment_recorded
    ]
    rebuilt = logic.replay(kind, amount, balance_steps)
    assert (rebuilt.status, rebuilt.held_fen, rebuilt.returned_fen) == (
        state.status, state.held_fen, state.returned_fen,
    )  # fmt: skip


def _held(amount: int = 1_000_000) -> DepositState:
    return logic.apply(logic.initial(DepositKind.bail, amount), EventKind.received, amount)


def _escrow(award: int | None) -> DepositState:
    s = logic.apply(logic.initial(DepositKind.escrow, 500_000), EventKind.deposited, 500_000)
    return s if award is None else logic.record_judgment(s, award)


PS = _parties(DecidingAuthority.public_security)
PR = _parties(DecidingAuthority.procuratorate)
PROPOSED = logic.propose(
    _held(), ProposalKind.forfeiture, 1_000_000, proposer_id=PEOPLE["super"].user_id, ended=False
)


@pytest.mark.parametrize(
    ("state", "command", "actor", "who", "document", "error", "fragment"),
    [
        # A line officer cannot forfeit alone: direct forfeiture is refused outright.
        (_held(), steps.Record(EventKind.forfeited, 1_000_000), "police", PS, "D-1",
         logic.IllegalTransitionError, "proposes it"),
        # A police officer may propose but not approve.
        (PROPOSED, steps.Approve(), "police", PS, "D-1", parties.NotPermittedError,
         "deciding role (public_security)"),
        # The supervisor who proposed cannot approve their own proposal.
        (PROPOSED, steps.Approve(), "super", PS, "D-1", logic.TwoPersonError, "two-person"),
        (PROPOSED, steps.Reject(), "super", PS, None, logic.TwoPersonError, "two-person"),
        # Another station's supervisor is not the deciding role of this case.
        (PROPOSED, steps.Approve(), "super_elsewhere", PS, "D-1", parties.NotPermittedError,
         "supervisor of the supervising unit"),
        # A procuratorate-decided case: the supervisor may not approve, another prosecutor
        # than the case's may not either.
        (PROPOSED, steps.Approve(), "super_b", PR, "D-1", parties.NotPermittedError,
         "the case's prosecutor (user 20)"),
        (PROPOSED, steps.Approve(), "pros_b", PR, "D-1", parties.NotPermittedError, "user 20"),
        (_held(), steps.Propose(ProposalKind.forfeiture, 1_000_001), "police", PS, None,
         logic.IllegalTransitionError, "balance, 1000000 fen"),
        (_held(), steps.Propose(ProposalKind.refund, 1_000_000), "police", PS, None,
         logic.IllegalTransitionError, "after the measure ends"),
        (PROPOSED, steps.Propose(ProposalKind.forfeiture, 1), "police_b", PS, None,
         logic.IllegalTransitionError, "open already"),
        (_held(), steps.Propose(ProposalKind.forfeiture, 1), "pros", PR, None,
         parties.NotPermittedError, "an officer of the supervising unit"),
        (_held(), steps.Approve(), "super_b", PS, "D-1", logic.IllegalTransitionError,
         "no proposal"),
        # Escrow: no judgment, no release; never above the award; only the holding office.
        (_escrow(None), steps.Record(EventKind.released_to_victim, 1), "notary", PS, "R-1",
         logic.IllegalTransitionError, "no effective judgment"),
        (_escrow(200_000), steps.Record(EventKind.released_to_victim, 200_001), "notary", PS,
         "R-1", logic.IllegalTransitionError, "exceeds the award"),
        (_escrow(200_000), steps.Record(EventKind.released_to_victim, 1), "notary_elsewhere",
         PS, "R-1", parties.NotPermittedError, "notary office holding the escrow"),
        (_escrow(200_000), steps.Record(EventKind.released_to_victim, 1), "police", PS, "R-1",
         parties.NotPermittedError, "written notice"),
        (_escrow(None), steps.Judgment(100), "police", PS, "J-1", parties.NotPermittedError,
         "record the judgment"),
        (_escrow(200_000), steps.Record(EventKind.returned_to_payer, 500_000), "notary", PS,
         "R-2", logic.IllegalTransitionError, "200000 fen of the award is still"),
    ],
)  # fmt: skip
def test_refusals_say_why(
    state: DepositState,
    command: steps.Command,
    actor: str,
    who: Parties,
    document: str | None,
    error: type[logic.RefusedError],
    fragment: str,
) -> None:
    with pytest.raises(error, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        steps.take(
            state, command, actor=PEOPLE[actor], who=who, ended=False, document=document,
            used_documents=[],
        )  # fmt: skip


def test_a_document_number_serves_one_step_only() -> None:
    # Full-width and ASCII brackets, case and spaces do not make another document.
    with pytest.raises(logic.DocumentReusedError, match="its own document"):
        steps.take(
            PROPOSED, steps.Approve(), actor=PEOPLE["super_b"], who=PS, ended=False,
            document="东公决字(2026)1号", used_documents=["东公决字（2026） 1号"],
        )  # fmt: skip


@pytest.mark.parametrize(
    ("authority", "prosecutor", "approver", "recorded_as"),
    [
        (DecidingAuthority.public_security, 20, "super_b", "decision"),
        (DecidingAuthority.court, 20, "super_b", "decision"),
        (DecidingAuthority.procuratorate, 20, "pros", "decision"),
        (DecidingAuthority.procuratorate, None, "pros_b", "decision"),
    ],
)
def test_the_deciding_role_approves(
    authority: DecidingAuthority, prosecutor: int | None, approver: str, recorded_as: str
) -> None:
    out = steps.take(
        PROPOSED, steps.Approve(), actor=PEOPLE[approver], who=_parties(authority, prosecutor),
        ended=False, document="D-9", used_documents=["D-1"],
    )  # fmt: skip
    assert (out.event, out.amount_fen, out.document_kind) == (
        EventKind.forfeited, 1_000_000, recorded_as,
    )  # fmt: skip
    assert (out.after.status, out.after.forfeited_fen, out.after.proposal) == (
        "forfeited", 1_000_000, None,
    )  # fmt: skip


def test_release_by_the_notary_or_on_its_notice() -> None:
    by_office = steps.take(
        _escrow(200_000), steps.Record(EventKind.released_to_victim, 200_000),
        actor=PEOPLE["notary"], who=PS, ended=False, document="R-1", used_documents=[],
    )  # fmt: skip
    on_notice = steps.take(
        _escrow(200_000), steps.Record(EventKind.released_to_victim, 200_000),
        actor=PEOPLE["super"], who=PS, ended=False, document="R-1", used_documents=[],
    )  # fmt: skip
    assert (by_office.document_kind, on_notice.document_kind) == ("notary_record", "notary_notice")
    rest = steps.take(
        by_office.after, steps.Record(EventKind.returned_to_payer, 300_000),
        actor=PEOPLE["notary"], who=PS, ended=False, document="R-2", used_documents=["R-1"],
    )  # fmt: skip
    assert (rest.after.status, rest.after.released_fen, rest.after.returned_fen) == (
        "closed", 200_000, 300_000,
    )  # fmt: skip

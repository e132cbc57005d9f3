"""Who may take each deposit step, and on what kind of document. Pure: the caller passes the
acting person and the case's parties.

=========================  ==============================================  ==================
step                       who                                             document
=========================  ==============================================  ==================
decided (create)           an officer of the supervising unit              decision
received (bail)            an officer of the supervising unit              receipt
deposited (escrow)         an officer, or a user of the notary office      escrow_certificate
forfeiture/refund propose  an officer of the supervising unit              (a reason)
approve / reject           the deciding role, not the proposer             decision / (a note)
judgment_recorded          the notary office, or the deciding role         judgment
released / returned        the notary office (its own record), or the      notary_record /
                           deciding role on the office's written notice    notary_notice
=========================  ==============================================  ==================

The deciding role follows the case's deciding authority (决定机关): public security (county
level or above) -> a supervisor of the supervising unit; the procuratorate -> the case's
prosecutor (any prosecutor of its procuratorate when none is named); a court -> bailwatch has no
court users, so a supervisor of the supervising unit records the court's decision and its number.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from api.auth.models import Role
from api.deposits.logic import EventKind, RefusedError


class DecidingAuthority(StrEnum):
    """The organ that decided the measure and so decides forfeiture and refund."""

    public_security = "public_security"
    procuratorate = "procuratorate"
    court = "court"


class NotPermittedError(RefusedError):
    """The acting person's role or unit may not take this step on this deposit."""


@dataclass(frozen=True)
class Actor:
    user_id: int
    role: Role
    unit_id: int


@dataclass(frozen=True)
class Parties:
    """The case's deciding authority and units, and the notary office holding the deposit."""

    authority: DecidingAuthority
    supervising_unit_id: int
    procuratorate_unit_id: int | None
    prosecutor_user_id: int | None
    notary_unit_id: int | None


def is_officer(actor: Actor, parties: Parties) -> bool:
    """A police officer or supervisor of the supervising (executing) unit."""
    return (
        actor.role in (Role.police, Role.supervisor)
        and actor.unit_id == parties.supervising_unit_id
    )


def is_decider(actor: Actor, parties: Parties) -> bool:
    """A person of the deciding role for this case."""
    if parties.authority is DecidingAuthority.procuratorate:
        if actor.role is not Role.prosecutor:
            return False
        if parties.prosecutor_user_id is not None:
            return actor.user_id == parties.prosecutor_user_id
        return actor.unit_id == parties.procuratorate_unit_id
    return actor.role is Role.supervisor and actor.unit_id == parties.supervising_unit_id


def is_notary(actor: Actor, parties: Parties) -> bool:
    """A user of the notary office that holds this deposit."""
    return (
        actor.role is Role.notary
        and parties.notary_unit_id is not None
        and actor.unit_id == parties.notary_unit_id
    )


def decider_label(parties: Parties) -> str:
    """Who decides, in words, for refusals."""
    if parties.authority is DecidingAuthority.procuratorate:
        if parties.prosecutor_user_id is not None:
            return f"the case's prosecutor (user {parties.prosecutor_user_id})"
        if parties.procuratorate_unit_id is not None:
            return (
                f"a prosecutor of the case's procuratorate (unit {parties.procuratorate_unit_id})"
            )
        return "the case's prosecutor, but the case names no procuratorate; set one first"
    what = "recording the court's decision" if parties.authority is DecidingAuthority.court else ""
    return f"a supervisor of the supervising unit {what}".rstrip()


def _refuse(actor: Actor, step: str, who: str) -> NotPermittedError:
    return NotPermittedError(
        f"role {actor.role.value} of unit {actor.unit_id} may not {step}: it is done by {who}"
    )


def check_officer(actor: Actor, parties: Parties, step: str) -> None:
    if not is_officer(actor, parties):
        raise _refuse(actor, step, "an officer of the supervising unit")


def check_decider(actor: Actor, parties: Parties, step: str) -> None:
    if not is_decider(actor, parties):
        who = decider_label(parties)
        raise _refuse(actor, step, f"the deciding role ({parties.authority.value}): {who}")


def check_judgment(actor: Actor, parties: Parties) -> str:
    """Who may record the effective judgment; returns the document kind."""
    if not (is_notary(actor, parties) or is_decider(actor, parties)):
        who = f"the notary office holding the escrow or {decider_label(parties)}"
        raise _refuse(actor, "record the judgment", who)
    return "judgment"


def check_direct(event: EventKind, actor: Actor, parties: Parties) -> str:
    """Whether ``actor`` may record ``event`` directly; returns the kind of its document."""
    step = f"record {event.value}"
    if event is EventKind.received:
        check_officer(actor, parties, step)
        return "receipt"
    if event is EventKind.deposited:
        if not (is_officer(actor, parties) or is_notary(actor, parties)):
            raise _refuse(actor, step, "an officer or the notary office holding the escrow")
        return "escrow_certificate"
    if is_notary(actor, parties):
        return "notary_record"
    if is_decider(actor, parties):
        return "notary_notice"
    who = f"the notary office holding the escrow, or {decider_label(parties)} on its written notice"
    raise _refuse(actor, step, who)

"""Deposits over HTTP against the real database: forfeiture and refund proposed by an officer
and approved by a second person of the case's deciding role; an escrow released to the victim
only after the effective judgment, within its award, by the notary office holding it (or on its
written notice); every refusal a problem detail saying why; every step in the access log."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from config.settings import Settings
from tests.integration.api import world

pytestmark = pytest.mark.integration
Headers = Callable[[str], dict[str, str]]
Q = "from=2026-11-01T00:00:00Z&to=2026-11-01T02:00:00Z&purpose=custody+necessity+review"
#: Users this module adds: username -> (role, unit code).
EXTRA = {
    "super1b": ("supervisor", "P1"),
    "notary1": ("notary", "NOTARY"),
    "notary2": ("notary", "NOTARY2"),
}


@dataclass
class Extra:
    notary: int
    notary2: int
    cases: list[int]


@pytest.fixture(scope="module")
def extra(api_settings: Settings, seeded: world.World) -> Extra:
    """A second supervisor of station P1, a second notary office, a user of each notary office,
    and a fresh bail case per test (station P1, procuratorate PROC, prosecutor pros1)."""
    with psycopg.connect(api_settings.db.dsn(), autocommit=True) as conn:
        row = conn.execute(
            "INSERT INTO units (code, name, kind) VALUES ('NOTARY2', '另一公证处', 'notary') "
            "RETURNING id"
        ).fetchone()
        assert row
        units = {**seeded.units, "NOTARY2": row[0]}
        for username, (role, unit) in EXTRA.items():
            conn.execute(
                "INSERT INTO users (username, display_name, role, unit_id, password_hash) "
                "VALUES (%s, %s, %s, %s, %s)",
                (username, username, role, units[unit], world._FAST.hash(world.password(username))),
            )
        cases = []
        for n in range(4):
            person = conn.execute(
                "INSERT INTO persons (full_name) VALUES (%s) RETURNING id", (f"D{n}",)
            ).fetchone()
            assert person
            case = conn.execute(
                "INSERT INTO cases (case_number, person_id, measure, status, supervising_unit_id,"
                " procuratorate_unit_id, prosecutor_user_id) VALUES (%s, %s, 'bail', 'active', "
                "%s, %s, %s) RETURNING id",
                (f"DEP-{n}", person[0], units["P1"], units["PROC"], seeded.users["pros1"]),
            ).fetchone()
            assert case
            cases.append(case[0])
    return Extra(units["NOTARY"], units["NOTARY2"], cases)


def _problem(r: Any, status: int, fragment: str) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["status"] == status
    assert fragment in body["detail"], body["detail"]


def _bail(client: TestClient, token: Headers, case: int, amount: int) -> str:
    """A bail deposit decided and received; returns its URL."""
    r = client.post(
        f"/cases/{case}/deposits",
        headers=token("police1"),
        json={
            "kind": "bail", "amount_fen": amount, "payer": "被取保候审人",
            "account_number": "6222000011112222", "account_holder": "东营分局保证金专户",
            "document_number": f"东公(刑)取保字〔2026〕{case}号", "document_date": "2026-11-01",
        },
    )  # fmt: skip
    assert r.status_code == 201, r.text
    url = f"/cases/{case}/deposits/{r.json()['id']}"
    got = client.post(
        f"{url}/events",
        headers=token("police1"),
        json={"kind": "received", "amount_fen": amount, "document_number": f"收据{case}",
              "document_date": "2026-11-02"},
    )  # fmt: skip
    assert got.json()["status"] == "held", got.text
    return url


def _doc(number: str, **more: object) -> dict[str, object]:
    return {"document_number": number, "document_date": "2026-11-20", **more}


def test_a_line_officer_cannot_forfeit_alone(
    client: TestClient, extra: Extra, token: Headers
) -> None:
    url = _bail(client, token, extra.cases[0], 1_000_000)
    direct = client.post(
        f"{url}/events", headers=token("police1"),
        json={**_doc("东公(刑)没字〔2026〕1号"), "kind": "forfeited", "amount_fen": 1_000_000},
    )  # fmt: skip
    _problem(direct, 409, "an officer proposes it")
    over = client.post(
        f"{url}/proposals", headers=token("police1"),
        json={"kind": "forfeiture", "amount_fen": 1_000_001, "reason": "进入被害人住所禁区"},
    )  # fmt: skip
    _problem(over, 409, "balance, 1000000 fen")
    proposed = client.post(
        f"{url}/proposals", headers=token("police1"),
        json={"kind": "forfeiture", "amount_fen": 1_000_000, "reason": "进入被害人住所禁区"},
    )  # fmt: skip
    assert proposed.status_code == 200, proposed.text
    body = proposed.json()
    assert body["status"] == "held"  # a proposal moves no money
    assert body["proposal"]["amount_yuan"] == "¥10,000.00"
    assert body["proposal"]["proposed_by"] == extra_user(client, token, "police1")
    decision = _doc("东公(刑)没字〔2026〕1号", note="经审查决定没收")
    _problem(client.post(f"{url}/proposal/approve", headers=token("police1"), json=decision),
             403, "deciding role (public_security)")  # fmt: skip
    _problem(client.post(f"{url}/proposal/approve", headers=token("pros1"), json=decision),
             403, "a supervisor of the supervising unit")  # fmt: skip
    no_number = client.post(
        f"{url}/proposal/approve", headers=token("super1"), json={"document_date": "2026-11-20"}
    )
    _problem(no_number, 422, "document_number")
    reused = client.post(
        f"{url}/proposal/approve", headers=token("super1"), json=_doc(f"收据{extra.cases[0]}")
    )
    _problem(reused, 409, "its own document")
    done = client.post(f"{url}/proposal/approve", headers=token("super1"), json=decision)
    assert done.status_code == 200, done.text
    dep = done.json()
    assert (dep["status"], dep["held_fen"], dep["forfeited_fen"], dep["proposal"]) == (
        "forfeited", 0, 1_000_000, None,
    )  # fmt: skip
    assert dep["amounts_yuan"]["forfeited"] == "¥10,000.00"
    events = [
        (e["kind"], e["actor_role"], e["document_kind"], e["document_number"])
        for e in dep["events"]
    ]
    assert events == [
        ("decided", "police", "decision", f"东公(刑)取保字〔2026〕{extra.cases[0]}号"),
        ("received", "police", "receipt", f"收据{extra.cases[0]}"),
        ("forfeiture_proposed", "police", None, None),
        ("forfeited", "supervisor", "decision", "东公(刑)没字〔2026〕1号"),
    ]
    assert dep["events"][2]["note"] == "进入被害人住所禁区"
    log = client.get(f"/access-log?case_id={extra.cases[0]}", headers=token("auditor")).json()[
        "items"
    ]
    steps = {e["action"]: e["detail"] for e in log}
    assert steps["deposit.forfeited"]["document_number"] == "东公(刑)没字〔2026〕1号"
    assert steps["deposit.forfeited"]["role"] == "supervisor"
    assert steps["deposit.forfeiture_proposed"]["role"] == "police"
    assert {"deposit.decided", "deposit.received"} <= steps.keys()
    # The compliance report still reads the deposit's status and amounts.
    report = client.get(f"/cases/{extra.cases[0]}/compliance?{Q}", headers=token("pros1"))
    assert report.status_code == 200, report.text
    line = report.json()["deposits"][0]
    assert (line["status"], line["forfeited_fen"]) == ("forfeited", 1_000_000)


def extra_user(client: TestClient, token: Headers, username: str) -> int:
    me = client.get("/auth/me", headers=token(username))
    assert me.status_code == 200, me.text
    return int(me.json()["id"])


def test_the_proposer_cannot_decide_and_a_rejection_keeps_the_money(
    client: TestClient, extra: Extra, token: Headers
) -> None:
    url = _bail(client, token, extra.cases[1], 500_000)
    proposed = client.post(
        f"{url}/proposals", headers=token("super1"),
        json={"kind": "forfeiture", "amount_fen": 200_000, "reason": "未按时报到三次"},
    )  # fmt: skip
    assert proposed.status_code == 200, proposed.text
    _problem(client.post(f"{url}/proposal/approve", headers=token("super1"), json=_doc("D-1")),
             403, "two-person rule")  # fmt: skip
    _problem(client.post(f"{url}/proposal/reject", headers=token("super1"),
                         json={"note": "撤回"}), 403, "two-person rule")  # fmt: skip
    again = client.post(
        f"{url}/proposals", headers=token("police1"),
        json={"kind": "forfeiture", "amount_fen": 1, "reason": "另一提议"},
    )  # fmt: skip
    _problem(again, 409, "open already")
    rejected = client.post(
        f"{url}/proposal/reject", headers=token("super1b"), json={"note": "情节轻微，予以警告"}
    )
    assert rejected.status_code == 200, rejected.text
    dep = rejected.json()
    assert (dep["status"], dep["held_fen"], dep["forfeited_fen"], dep["proposal"]) == (
        "held", 500_000, 0, None,
    )  # fmt: skip
    last = dep["events"][-1]
    assert (last["kind"], last["actor_id"], last["note"]) == (
        "proposal_rejected", extra_user(client, token, "super1b"), "情节轻微，予以警告",
    )  # fmt: skip
    _problem(client.post(f"{url}/proposal/approve", headers=token("super1b"), json=_doc("D-2")),
             409, "no proposal is open")  # fmt: skip


def test_the_procuratorate_decides_when_it_decided_the_measure(
    client: TestClient, extra: Extra, token: Headers
) -> None:
    case = extra.cases[2]
    patched = client.patch(
        f"/cases/{case}", headers=token("super1"), json={"deciding_authority": "procuratorate"}
    )
    assert patched.json()["deciding_authority"] == "procuratorate", patched.text
    url = _bail(client, token, case, 1_000_000)
    client.post(
        f"{url}/proposals", headers=token("police1"),
        json={"kind": "forfeiture", "amount_fen": 300_000, "reason": "擅自离开县域"},
    )  # fmt: skip
    _problem(client.post(f"{url}/proposal/approve", headers=token("super1"), json=_doc("检-1")),
             403, "the case's prosecutor")  # fmt: skip
    part = client.post(f"{url}/proposal/approve", headers=token("pros1"), json=_doc("检-1"))
    assert (part.json()["status"], part.json()["held_fen"]) == ("forfeited_in_part", 700_000)
    early = client.post(
        f"{url}/proposals", headers=token("police1"),
        json={"kind": "refund", "amount_fen": 700_000, "reason": "解除取保候审"},
    )  # fmt: skip
    _problem(early, 409, "after the measure ends")
    released = client.post(
        f"/cases/{case}/status", headers=token("super1"),
        json={"status": "released", "note": "解除取保候审决定书 检-2"},
    )  # fmt: skip
    assert released.status_code == 200, released.text
    client.post(
        f"{url}/proposals", headers=token("police1"),
        json={"kind": "refund", "amount_fen": 700_000, "reason": "解除取保候审，退还余额"},
    )  # fmt: skip
    refunded = client.post(f"{url}/proposal/approve", headers=token("pros1"), json=_doc("检-3"))
    dep = refunded.json()
    assert (dep["status"], dep["held_fen"], dep["forfeited_fen"], dep["returned_fen"]) == (
        "refunded", 0, 300_000, 700_000,
    )  # fmt: skip


def test_escrow_released_only_on_the_judgment_by_the_notary(
    client: TestClient, extra: Extra, token: Headers
) -> None:
    case = extra.cases[3]
    created = client.post(
        f"/cases/{case}/deposits", headers=token("police1"),
        json={**_doc("东公(刑)提存字〔2026〕1号"), "kind": "escrow", "amount_fen": 500_000,
              "payer": "被告人家属", "account_number": "9558", "account_holder": "东营公证处",
              "notary_unit_id": extra.notary, "beneficiary": "被害人"},
    )  # fmt: skip
    assert created.status_code == 201, created.text
    url = f"/cases/{case}/deposits/{created.json()['id']}"
    _bail(client, token, case, 10_000)  # a bail deposit of the same case, not the notary's
    deposited = client.post(
        f"{url}/events", headers=token("notary1"),
        json={**_doc("(2026)鲁东证提字第8号"), "kind": "deposited", "amount_fen": 500_000},
    )  # fmt: skip
    assert deposited.json()["status"] == "deposited", deposited.text
    seen = client.get(f"/cases/{case}/deposits", headers=token("notary1")).json()
    assert [d["kind"] for d in seen] == ["escrow"]  # the office sees only what it holds
    _problem(client.get(f"/cases/{case}", headers=token("notary1")), 403, "notary")
    _problem(client.get(url, headers=token("notary2")), 404, f"no case {case}")

    def release(who: str, amount: int, number: str) -> Any:
        body = {**_doc(number), "kind": "released_to_victim", "amount_fen": amount}
        return client.post(f"{url}/events", headers=token(who), json=body)

    _problem(release("notary1", 100, "R-0"), 409, "no effective judgment")
    judgment = {"court": "东营市东营区人民法院", "document_number": "(2026)鲁0502刑初12号",
                "effective_date": "2026-12-01", "award_fen": 300_000}  # fmt: skip
    _problem(client.post(f"{url}/judgment", headers=token("police1"), json=judgment),
             403, "record the judgment")  # fmt: skip
    judged = client.post(f"{url}/judgment", headers=token("notary1"), json=judgment)
    assert judged.status_code == 200, judged.text
    assert judged.json()["judgment"]["award_yuan"] == "¥3,000.00"
    _problem(release("notary1", 300_001, "R-1"), 409, "exceeds the award")
    _problem(release("notary1", 200_000, "(2026)鲁0502刑初12号"), 409, "its own document")
    _problem(release("notary2", 1, "R-1"), 404, f"no case {case}")
    _problem(release("police1", 100_000, "R-1"), 403, "written notice")
    by_office = release("notary1", 200_000, "R-1").json()
    assert (by_office["status"], by_office["events"][-1]["document_kind"]) == (
        "released_in_part", "notary_record",
    )  # fmt: skip
    on_notice = release("super1", 100_000, "东证通字第3号").json()
    assert on_notice["events"][-1]["document_kind"] == "notary_notice"
    assert on_notice["released_fen"] == 300_000
    back = client.post(
        f"{url}/events", headers=token("notary1"),
        json={**_doc("R-2"), "kind": "returned_to_payer", "amount_fen": 200_000},
    )  # fmt: skip
    dep = back.json()
    assert (dep["status"], dep["held_fen"], dep["released_fen"], dep["returned_fen"]) == (
        "closed", 0, 300_000, 200_000,
    )  # fmt: skip
    assert [e["kind"] for e in dep["events"]] == [
        "decided", "deposited", "judgment_recorded", "released_to_victim",
        "released_to_victim", "returned_to_payer",
    ]  # fmt: skip
    assert dep["events"][2]["actor_role"] == "notary"


def test_bad_deposit_input_is_a_clear_problem(
    client: TestClient, seeded: world.World, token: Headers
) -> None:
    base = f"/cases/{seeded.case_a}/deposits"
    body = {
        **_doc("东公(取)决字〔2026〕12号"), "kind": "bail", "amount_fen": 2_000_000,
        "payer": "Person A", "account_number": "6222000011112222", "account_holder": "专户",
    }  # fmt: skip
    _problem(client.post(base, headers=token("pros1"), json=body), 403, "needs: police")
    _problem(client.post(base, headers=token("police1"), json={**body, "amount_fen": 1.5}),
             422, "amount_fen")  # fmt: skip
    escrow = {**body, "kind": "escrow", "notary_unit_id": seeded.units["P1"]}
    _problem(client.post(base, headers=token("police1"), json=escrow), 400, "not a notary office")
    dep = client.post(base, headers=token("police1"), json=body)
    assert dep.status_code == 201, dep.text
    url = f"{base}/{dep.json()['id']}/events"
    early = {**_doc("R-1"), "kind": "refunded", "amount_fen": 2_000_000}
    _problem(client.post(url, headers=token("super1"), json=early), 409, "deciding authority")
    short = {**_doc("R-1"), "kind": "received", "amount_fen": 1_999_999}
    _problem(client.post(url, headers=token("police1"), json=short), 409, "whole amount")
    floaty = {**_doc("R-1"), "kind": "received", "amount_fen": 2_000_000.0}
    _problem(client.post(url, headers=token("police1"), json=floaty), 422, "amount_fen")


#: (path after /cases/{c}/deposits/1, body) of each deposit step route.
STEP_ROUTES = [
    ("/events", {**_doc("X-1"), "kind": "received", "amount_fen": 1}),
    ("/proposals", {"kind": "forfeiture", "amount_fen": 1, "reason": "原因说明"}),
    ("/proposal/approve", _doc("X-2")),
    ("/proposal/reject", {"note": "不予没收"}),
    ("/judgment", {"court": "某法院", "document_number": "X-3", "effective_date": "2026-12-01",
                   "award_fen": 1}),
]  # fmt: skip


@pytest.mark.parametrize(("path", "body"), STEP_ROUTES)
def test_step_routes_are_scoped_like_every_case_route(
    client: TestClient, seeded: world.World, token: Headers, path: str, body: dict[str, object]
) -> None:
    url = f"/cases/{{c}}/deposits/1{path}"
    assert client.post(url.format(c=seeded.case_a), json=body).status_code == 401
    _problem(client.post(url.format(c=seeded.case_a), json=body, headers=token("auditor")),
             403, "may not do this")  # fmt: skip
    for user, case in (("super2", seeded.case_a), ("pros1", seeded.case_b)):
        other = client.post(url.format(c=case), json=body, headers=token(user))
        missing = client.post(url.format(c=999_999), json=body, headers=token(user))
        assert other.status_code == missing.status_code
        assert other.status_code in (403, 404), other.text  # 403 only where the role never may
        assert other.json()["detail"].replace(str(case), "N") == missing.json()["detail"].replace(
            "999999", "N"
        )


def test_lists_across_cases_are_scoped(
    client: TestClient, seeded: world.World, extra: Extra, token: Headers
) -> None:
    case = seeded.case_a
    escrow = client.post(
        f"/cases/{case}/deposits", headers=token("police1"),
        json={**_doc("L-1"), "kind": "escrow", "amount_fen": 80_000, "payer": "家属",
              "account_number": "1", "account_holder": "公证处", "notary_unit_id": extra.notary},
    )  # fmt: skip
    assert escrow.status_code == 201, escrow.text
    url = _bail(client, token, case, 60_000)
    waiting = client.post(
        f"{url}/proposals", headers=token("police1"),
        json={"kind": "forfeiture", "amount_fen": 60_000, "reason": "未经批准离开"},
    ).json()["id"]  # fmt: skip

    def ids(user: str, query: str = "") -> set[int]:
        r = client.get(f"/deposits?limit=200{query}", headers=token(user))
        assert r.status_code == 200, r.text
        return {d["id"] for d in r.json()["items"]}

    mine = ids("notary1")
    assert escrow.json()["id"] in mine
    assert waiting not in mine  # a bail deposit is not the notary's
    assert escrow.json()["id"] not in ids("notary2")
    inbox = ids("super1", "&awaiting_decision=true")
    assert waiting in inbox
    assert escrow.json()["id"] not in inbox
    assert not ids("police2") & (mine | inbox)  # another station sees none of them
    _problem(client.get("/deposits", headers=token("auditor")), 403, "may not do this")

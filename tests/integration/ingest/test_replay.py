"""A watch fitted before it was enrolled: its fixes from before the assignment are dead-lettered
as unassigned; an administrator sets the assignment's real start through the API, and the
ingester replays those dead letters through the pipeline, so they are stored and judged (a
violation among them raises a late alert, read back through the API). Out-of-bounds starts are
refused with problem details; a replay that meets a crashed claim, a restart and two ingesters
stores each fix once and replays each row once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from config.settings import Settings
from ingest.replay import claim as claim_rows
from tests.integration.ingest.helpers import (
    fix,
    ingester,
    loc,
    metric,
    rows,
    scalar,
    with_metrics,
)
from tests.integration.ingest.replay_world import (
    AWAY,
    VICTIM,
    ReplayWorld,
    api,
    at_ms,
    build,
    login,
    quick,
    track,
)
from tests.support import services

pytestmark = pytest.mark.integration

PROBLEM = "application/problem+json"
REASON = "watch fitted at the station before the case was enrolled"
DEAD = "SELECT count(*) FROM dead_letters WHERE device_id = %s"
PINGS = "SELECT count(*) FROM pings WHERE device_id = %s"
REPLAYED = "SELECT count(*) FROM dead_letters WHERE device_id = %s AND replay_result = 'stored'"
REPLAYED_METRIC = "bailwatch_ingest_replayed_total"
#: A TestClient response (its httpx flavour depends on what is installed).
Reply = Any


def test_fixes_from_before_enrolment_are_stored_and_judged_late(settings: Settings) -> None:
    s = quick(services.with_broker_credentials(settings))
    w = build(s)
    d = w.device_id
    now = datetime.now(UTC).replace(microsecond=0)
    fitted = now - timedelta(minutes=40)
    earlier = track(d, fitted - timedelta(minutes=30), [AWAY], seq0=1)  # before the real start
    early = track(d, fitted, [AWAY, AWAY, VICTIM, VICTIM, AWAY, AWAY], seq0=10)
    no_fix = [loc(d, fix(at_ms(fitted) + 90_000, 30, lat=0.0, lon=0.0))]  # also null_island
    # 530 km away: refused only as unassigned now; once the live fixes anchor the speed check,
    # replaying it finds it impossible (it stays a dead letter, with that reason).
    jump = [loc(d, fix(at_ms(fitted) + 390_000, 20, lat=AWAY[1], lon=AWAY[0] + 6.0))]
    garbage = [(f"bw/v1/dev/{d}/loc", b"\xff\x00 not json")]
    ing = with_metrics(s)
    watch = services.mqtt_client(s)
    try:
        with ingester(ing), api(s) as http:
            services.publish_all(watch, earlier + early + no_fix + jump + garbage)
            services.wait_until(lambda: scalar(s, DEAD, d) == 10, timeout_s=20,
                                what="10 dead letters")  # fmt: skip
            admin = login(http, w.admin)
            r = http.post(f"/cases/{w.case_id}/devices", json={"device_id": d}, headers=admin)
            assert r.status_code == 201, r.text
            assert r.json()["replay_requested"] == 0
            assignment = r.json()["id"]
            after = datetime.fromisoformat(r.json()["valid_from"]) + timedelta(seconds=1)
            live = track(d, after, [AWAY, AWAY], seq0=40, step_s=1)
            services.publish_all(watch, live)
            services.wait_until(lambda: scalar(s, PINGS, d) == 2, timeout_s=20,
                                what="the live fixes")  # fmt: skip

            start = f"/cases/{w.case_id}/assignments/{assignment}/start"
            too_early = {"valid_from": (now - timedelta(hours=25)).isoformat(), "reason": REASON}
            refused = http.post(start, json=too_early, headers=admin)
            assert refused.status_code == 400, refused.text
            assert refused.headers["content-type"].startswith(PROBLEM)
            assert "24 h" in refused.json()["detail"]
            real = {"valid_from": (fitted - timedelta(minutes=1)).isoformat(), "reason": REASON}
            r = http.post(start, json=real, headers=admin)
            assert r.status_code == 200, r.text
            assert r.json()["replay_requested"] == 7
            assert r.json()["valid_from"].startswith(
                (fitted - timedelta(minutes=1)).isoformat()[:19]
            )

            services.wait_until(lambda: scalar(s, REPLAYED, d) == 6, timeout_s=20,
                                what="6 dead letters replayed")  # fmt: skip
            services.wait_until(lambda: scalar(s, PINGS, d) == 8, timeout_s=5, what="8 fixes")
            assert metric(ing, REPLAYED_METRIC, 'result="stored"') == 6
            assert metric(ing, REPLAYED_METRIC, 'result="rejected"') == 1
            officer = login(http, w.officer)

            def alerts() -> list[dict[str, object]]:
                """The case's zone alerts (the refused jump raises an impossible-movement one)."""
                got = http.get("/alerts", params={"case_id": w.case_id}, headers=officer)
                assert got.status_code == 200, got.text
                items: list[dict[str, object]] = got.json()["items"]
                return [a for a in items if a["kind"] != "impossible_movement"]

            services.wait_until(lambda: len(alerts()) == 1, timeout_s=20, what="the late alert")
            (alert,) = alerts()
    finally:
        watch.loop_stop()
        watch.disconnect()

    assert alert["kind"] == "entered_exclusion_zone"
    assert alert["late"] is True
    first_inside = fitted + timedelta(minutes=2)
    assert datetime.fromisoformat(str(alert["started_at"])) == first_inside
    # Only the six unassigned fixes inside the window were replayed: not the one before the
    # real start, not the fix refused for null_island too, not the undecodable bytes (which
    # still carry the device's id from the topic).
    untouched = scalar(
        s, "SELECT array_agg(array_to_string(reasons, '+') ORDER BY reasons) FROM dead_letters "
        "WHERE device_id = %s AND replay_requested_at IS NULL", d,
    )  # fmt: skip
    assert untouched == ["malformed_json", "null_island+unassigned_device", "unassigned_device"]
    assert (
        scalar(s, "SELECT device_id FROM dead_letters WHERE 'malformed_json' = ANY(reasons)") == d
    )
    rejected_again = rows(
        s, "SELECT reasons, replay_result FROM dead_letters WHERE device_id = %s "
        "AND replayed_at IS NOT NULL AND replay_result <> 'stored'", d,
    )  # fmt: skip
    assert rejected_again == [(["impossible_speed"], "rejected")]
    audit = scalar(
        s, "SELECT detail FROM access_log WHERE case_id = %s AND action = 'assignment.start' "
        "AND purpose = %s", w.case_id, REASON,
    )  # fmt: skip
    assert audit["replay_requested"] == 7
    assert audit["old_valid_from"] is not None
    assert audit["new_valid_from"] != audit["old_valid_from"]


def _refused(r: Reply, status: int, words: str) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    assert words in r.json()["detail"], r.json()


def test_out_of_bounds_starts_are_refused_with_problem_details(settings: Settings) -> None:
    s = services.with_broker_credentials(settings)
    w = build(s)
    d = w.device_id
    now = datetime.now(UTC)

    def ago(hours: float) -> str:
        return (now - timedelta(hours=hours)).isoformat()

    with api(s) as http:
        admin, officer = login(http, w.admin), login(http, w.officer)

        def assign(case_id: int, body: dict[str, object], who: dict[str, str]) -> Reply:
            return http.post(
                f"/cases/{case_id}/devices", json={"device_id": d, **body}, headers=who
            )

        _refused(assign(w.case_id, {"valid_from": ago(1), "reason": REASON}, officer),
                 403, "administrator")  # fmt: skip
        _refused(assign(w.case_id, {"valid_from": ago(1)}, admin), 400, "reason")
        _refused(assign(w.case_id, {"valid_from": ago(25), "reason": REASON}, admin), 400, "24 h")
        _refused(assign(w.case_id, {"valid_from": ago(-1), "reason": REASON}, admin), 400, "future")
        naive = assign(w.case_id, {"valid_from": "2026-12-04T08:00:00", "reason": REASON}, admin)
        assert naive.status_code == 422
        assert naive.headers["content-type"].startswith(PROBLEM)

        # The device was on the other case from 3 h ago until now.
        r = assign(w.other_case_id, {"valid_from": ago(3), "reason": REASON}, admin)
        assert r.status_code == 201, r.text
        r = http.post(f"/cases/{w.other_case_id}/devices/{d}/unassign", headers=admin)
        assert r.status_code == 200, r.text
        ended = r.json()["valid_to"]
        r = assign(w.case_id, {}, admin)
        assert r.status_code == 201, r.text
        start = f"/cases/{w.case_id}/assignments/{r.json()['id']}/start"

        def correct(valid_from: str, who: dict[str, str] = admin) -> Reply:
            return http.post(start, json={"valid_from": valid_from, "reason": REASON}, headers=who)

        _refused(correct(ago(2)), 409, "overlaps assignment")
        _refused(correct(ago(-0.5)), 400, "future")
        assert correct(ago(1), officer).status_code == 403
        missing = http.post(start, json={"valid_from": ago(1)}, headers=admin)
        assert missing.status_code == 422
        assert missing.headers["content-type"].startswith(PROBLEM)
        gone = http.post(
            f"/cases/{w.case_id}/assignments/999999/start",
            json={"valid_from": ago(1), "reason": REASON}, headers=admin,
        )  # fmt: skip
        _refused(gone, 404, "no assignment")
        r = correct(ended)  # right where the other assignment ended: no overlap
        assert r.status_code == 200, r.text
        assert r.json()["valid_from"] == ended
        _refused(correct(ended), 400, "only be moved earlier")

    # Before the measure began: a case whose measure starts today (in its zone).
    w2 = build(s, measure_days_ago=0)
    measure = scalar(
        s, "SELECT period_start::timestamp AT TIME ZONE timezone FROM cases WHERE id = %s",
        w2.case_id,
    )  # fmt: skip
    with api(s) as http:
        before = max(measure - timedelta(minutes=1), now - timedelta(hours=23))
        r = http.post(
            f"/cases/{w2.case_id}/devices",
            json={"device_id": w2.device_id, "valid_from": before.isoformat(), "reason": REASON},
            headers=login(http, w2.admin),
        )
        if before < measure:
            _refused(r, 400, "before the measure began")
        else:  # the measure began more than 23 h ago (late evening in its zone): in bounds
            assert r.status_code == 201, r.text
    audited = scalar(
        s, "SELECT count(*) FROM access_log WHERE action = 'assignment.start' "
        "AND case_id = ANY(%s)", [w.case_id, w.other_case_id],
    )  # fmt: skip
    assert audited == 2  # the backdated assignment and the one correction, not the refusals


def _claim_like_a_crashed_ingester(settings: Settings, n: int) -> list[int]:
    """Claim ``n`` rows for replay as an ingester would, then never finish them."""

    async def claim() -> list[int]:
        conn = await asyncpg.connect(settings.db.dsn())
        try:
            claimed = await claim_rows(conn, limit=n, lease_s=2.0)
            return [int(r["id"]) for r in claimed]
        finally:
            await conn.close()

    return asyncio.run(claim())


def test_a_replay_survives_a_crashed_claim_a_restart_and_two_ingesters(
    settings: Settings,
) -> None:
    """Two watches' early fixes, replayed by two ingesters (one of them restarted since the fixes
    were dead-lettered) after a third claimed some rows and died: every fix stored once, every
    row replayed once (the crashed claim's rows once more, after the lease), one alert each."""
    s = quick(services.with_broker_credentials(settings))
    ingest = s.ingest.model_copy(update={"replay_batch": 7})
    s = s.model_copy(update={"ingest": ingest})
    worlds = [build(s), build(s)]
    devices = [w.device_id for w in worlds]
    fitted = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    # Replayed in runs of 7 in fix-time order (after the crashed claim's lease passes, from the
    # first): the three fixes inside the zone fall in one run.
    places = [AWAY] * 15 + [VICTIM] * 3 + [AWAY] * 22
    watch = services.mqtt_client(s)
    try:
        with ingester(s):
            services.publish_all(watch, [m for d in devices for m in track(d, fitted, places)])
            services.wait_until(lambda: all(scalar(s, DEAD, d) == 40 for d in devices),
                                timeout_s=20, what="40 dead letters of each watch")  # fmt: skip
    finally:
        watch.loop_stop()
        watch.disconnect()

    def enrol(http: Any, w: ReplayWorld) -> None:
        r = http.post(
            f"/cases/{w.case_id}/devices",
            json={"device_id": w.device_id, "reason": REASON,
                  "valid_from": (fitted - timedelta(minutes=1)).isoformat()},
            headers=login(http, w.admin),
        )  # fmt: skip
        assert r.status_code == 201, r.text
        assert r.json()["replay_requested"] == 40

    with api(s) as http:
        enrol(http, worlds[0])
    crashed = _claim_like_a_crashed_ingester(s, 5)
    assert len(crashed) == 5
    a = with_metrics(s)
    b_ingest = s.ingest.model_copy(update={"client_id": s.ingest.client_id + "-b"})
    b = with_metrics(s.model_copy(update={"ingest": b_ingest}))
    try:
        with ingester(a), ingester(b), api(s) as http:
            enrol(http, worlds[1])  # while both ingesters look for work
            services.wait_until(lambda: all(scalar(s, REPLAYED, d) == 40 for d in devices),
                                timeout_s=30, what="80 dead letters replayed")  # fmt: skip
            replayed = metric(a, REPLAYED_METRIC) + metric(b, REPLAYED_METRIC)
    finally:
        services.drop_mqtt_session(b, b.ingest.client_id)
    assert replayed == 80  # each row replayed once between the two ingesters
    assert [scalar(s, PINGS, d) for d in devices] == [40, 40]
    attempts = {
        int(i): int(n)
        for i, n in rows(s, "SELECT id, replay_attempts FROM dead_letters WHERE device_id = "
                         "ANY(%s)", devices)
    }  # fmt: skip
    assert len(attempts) == 80
    assert {i for i, n in attempts.items() if n == 2} == set(crashed)
    assert all(n == 1 for i, n in attempts.items() if i not in crashed)
    for w in worlds:
        alerts = rows(
            s, "SELECT started_at FROM alerts WHERE case_id = %s AND kind = %s",
            w.case_id, "entered_exclusion_zone",
        )  # fmt: skip
        assert alerts == [(fitted + timedelta(minutes=15),)]

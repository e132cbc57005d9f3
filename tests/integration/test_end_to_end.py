"""One ping, end to end: a watch publishes over the real broker, the real ingester commits it
to the real PostgreSQL, and the real API (uvicorn in its own process) serves it back as GeoJSON.
A re-sent fix is stored once; reading the track without a token is refused; an officer of the
supervising unit signs in with the OAuth2 password flow; the read is written to the access log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import psycopg
from argon2 import PasswordHasher

from config.settings import Settings
from tests.integration.ingest.helpers import count_pings, fix, free_port, ingester, loc, scalar
from tests.support import services

DEVICE = "e2e-watch-1"
PURPOSE = "custody review of case e2e"
CASE_OF_DEVICE = "SELECT case_id FROM device_assignments WHERE device_id = %s"
OFFICER, OFFICER_PASSWORD = "officer.e2e", "e2e-officer-password"
ADD_OFFICER = """
INSERT INTO users (username, display_name, role, unit_id, password_hash)
SELECT %s, 'E2E officer', 'police', id, %s FROM units WHERE code = 'T-PSB'
"""


def _add_officer(settings: Settings) -> None:
    """A police officer of the unit that supervises the seeded case."""
    with psycopg.connect(settings.db.dsn(), autocommit=True) as conn:
        conn.execute(ADD_OFFICER, [OFFICER, PasswordHasher().hash(OFFICER_PASSWORD)])


def _api_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"api": settings.api.model_copy(update={"port": free_port()})}
    )


def test_ping_travels_from_watch_to_api(settings: Settings) -> None:
    services.seed_devices(settings, [DEVICE])
    _add_officer(settings)
    creds = services.provision_test_device(settings, DEVICE)
    case_id = scalar(settings, CASE_OF_DEVICE, DEVICE)
    assert isinstance(case_id, int)
    t0 = int((datetime.now(UTC) - timedelta(minutes=5)).timestamp() * 1000)
    fixes = [
        fix(t0 + i * 10_000, 100 + i, lat=37.4340 + i * 1e-4, lon=118.6740 + i * 1e-4)
        for i in range(5)
    ]
    watch = services.mqtt_client(settings, username=creds.username, password=creds.password)
    api_settings = _api_settings(settings)
    try:
        with ingester(settings), services.service_process("api", api_settings):
            services.publish_all(watch, [loc(DEVICE, f) for f in fixes])
            # The watch re-sends its last two fixes (e.g. it missed the PUBACK): stored once.
            services.publish_all(watch, [loc(DEVICE, fixes[3:])])
            services.wait_until(lambda: count_pings(settings) >= 5, timeout_s=20,
                                what="5 fixes committed")  # fmt: skip

            base = f"http://127.0.0.1:{api_settings.api.port}"
            services.wait_until(lambda: _ready(base), timeout_s=20, what="API ready")
            window = {
                "from": datetime.fromtimestamp(t0 / 1000 - 60, UTC).isoformat(),
                "to": datetime.now(UTC).isoformat(),
                "purpose": PURPOSE,
            }
            refused = httpx.get(f"{base}/cases/{case_id}/track", params=window)
            login = httpx.post(
                f"{base}/auth/token", data={"username": OFFICER, "password": OFFICER_PASSWORD}
            )
            login.raise_for_status()
            token = login.json()["access_token"]
            resp = httpx.get(
                f"{base}/cases/{case_id}/track",
                params=window,
                headers={"Authorization": f"Bearer {token}"},
            )
    finally:
        watch.loop_stop()
        watch.disconnect()

    assert refused.status_code == 401
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["type"] == "FeatureCollection"
    seqs = [f["properties"]["seq"] for f in body["features"]]
    assert seqs == [100, 101, 102, 103, 104]
    first = body["features"][0]
    assert first["geometry"]["coordinates"] == [118.674, 37.434]
    assert first["properties"]["time"].endswith("+08:00")  # shown in the case's zone
    assert count_pings(settings) == 5  # the re-sent fixes were not stored twice
    audited = scalar(
        settings,
        "SELECT count(*) FROM access_log WHERE case_id = %s AND purpose = %s AND action = %s",
        case_id, PURPOSE, "track.read",
    )  # fmt: skip
    assert audited == 1


def _ready(base: str) -> bool:
    try:
        return httpx.get(f"{base}/readyz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False

"""Typed settings for every bailwatch process.

One pydantic-settings class, environment prefix ``BW_``, nested sections separated by ``__``
(``BW_DB__PORT=5432``, ``BW_MQTT__HOST=broker``). Settings are built once in each process's
``main`` and passed down; nothing here runs at import time.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal, Self

from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

#: Values that must never be used as secrets outside development.
PLACEHOLDER_SECRETS = frozenset({"", "changeme", "change-me", "secret", "bailwatch", "dev"})


class Environment(StrEnum):
    """Where the process runs. Only a developer's machine (``development``, and ``test`` for the
    throwaway services of the test command) may run with placeholder secrets."""

    development = "development"
    test = "test"
    staging = "staging"
    production = "production"


#: Environments in which the built-in placeholder secrets are accepted.
PLACEHOLDERS_ALLOWED = frozenset({Environment.development, Environment.test})


class DatabaseSettings(BaseModel):
    """PostgreSQL (or TimescaleDB) connection and pool sizes."""

    host: str = "127.0.0.1"
    port: int = 55432
    user: str = "bailwatch"
    password: SecretStr = SecretStr("bailwatch")
    name: str = "bailwatch"
    pool_min: int = Field(default=2, ge=1)
    pool_max: int = Field(default=10, ge=1)
    ssl: bool = False
    #: Partitioning of ``pings``: ``auto`` uses TimescaleDB when the extension is available.
    storage: Literal["auto", "timescale", "native"] = "auto"
    #: Seconds a connection attempt may take before it is counted as a failure.
    connect_timeout_s: float = Field(default=5.0, gt=0)

    def dsn(self, *, database: str | None = None) -> str:
        """A libpq URI for psycopg and asyncpg (password included)."""
        pw = self.password.get_secret_value()
        db = database or self.name
        return f"postgresql://{self.user}:{pw}@{self.host}:{self.port}/{db}"


class PingStorageSettings(BaseModel):
    """Time partitioning of ``pings``: TimescaleDB policies or native partitions."""

    #: Compress TimescaleDB chunks older than this many days.
    compress_after_days: int = Field(default=7, ge=1)
    #: Drop position data older than this many days (chunks or partitions).
    retention_days: int = Field(default=730, ge=1)
    #: Native partitioning only: create daily partitions this many days ahead.
    partitions_ahead_days: int = Field(default=7, ge=1)


class MqttSettings(BaseModel):
    """Broker connection of the ingester (and of the simulator, with its own credentials)."""

    host: str = "127.0.0.1"
    port: int = 18830
    username: str | None = None
    password: SecretStr | None = None
    keepalive_s: int = Field(default=30, ge=5)
    #: MQTT v5 session expiry: how long the broker keeps our queued QoS 1 messages offline.
    session_expiry_s: int = Field(default=86_400, ge=0)
    #: Group of the ``$share/<group>/...`` subscription; ingesters in one group share the load.
    shared_group: str = "ingest"
    #: Receive Maximum sent to the broker: unacknowledged messages in flight to one ingester.
    #: Messages are acknowledged only after commit, so this bounds ingester memory
    #: (backpressure: the broker keeps the rest queued).
    receive_maximum: int = Field(default=20_000, ge=1, le=65_535)
    #: MQTT client of the ingester: ``asyncio`` (broker/aio.py, on the event loop; drains
    #: ~20x faster than paho here and keeps alert latency under 0.5 s at 5,000 fixes/s) or
    #: ``paho`` (paho-mqtt 2.x, threaded; its network thread tops out at ~8-15k messages/s on
    #: two cores). Both pass the same adversity tests; see bench/ingest.py and bench/alerts.py.
    client: Literal["paho", "asyncio"] = "asyncio"
    #: Dynamic-security admin (device provisioning); generated into the run dir's
    #: ``mqtt-credentials.env`` by deploy/services.sh.
    admin_username: str | None = None
    admin_password: SecretStr | None = None
    #: Simulator identity (may publish for any watch; demo and benchmarks only).
    sim_username: str | None = None
    sim_password: SecretStr | None = None


class IngestSettings(BaseModel):
    """Batch writer and validation thresholds of the ingester."""

    client_id: str = "bw-ingest-1"
    batch_max: int = Field(default=2_000, ge=1)
    #: Flush a non-empty batch after this many milliseconds even if it is not full.
    batch_max_wait_ms: int = Field(default=50, ge=1)
    #: Payloads larger than this many bytes are refused (dead-lettered).
    max_payload_bytes: int = Field(default=256 * 1024, ge=256)
    #: Fixes dated more than this many seconds after receipt are refused (clock skew).
    future_tolerance_s: float = Field(default=300.0, ge=0)
    #: Fixes older than this many days are refused (watches buffer at most a few days).
    max_age_days: float = Field(default=30.0, gt=0)
    #: Seconds SIGTERM waits for the last batch to commit and be acknowledged.
    shutdown_deadline_s: float = Field(default=10.0, gt=0)
    #: Port of the ingester's Prometheus endpoint (0 disables it).
    metrics_port: int = Field(default=9108, ge=0)
    #: Ground speed (m/s) above which a fix is refused as impossible, measured from the previous
    #: accepted fix of the device after subtracting both accuracy radii (high-speed rail: ~97).
    max_speed_mps: float = Field(default=150.0, gt=0)
    #: Seconds a known device's assignments are cached before being read again.
    directory_ttl_s: float = Field(default=60.0, gt=0)
    #: Seconds an unknown or unassigned device is cached before the database is asked again.
    directory_negative_ttl_s: float = Field(default=5.0, gt=0)
    #: Upper bound (s) of the backoff between attempts to commit a batch while the database is down.
    retry_max_s: float = Field(default=5.0, gt=0)
    #: Dead letters marked for replay (an assignment's start set back): seconds between looks
    #: for work, rows per replay batch, and seconds an ingester's claim on rows lasts before
    #: another may take them (it must outlast a batch's commit, retries included).
    replay_poll_s: float = Field(default=1.0, gt=0)
    replay_batch: int = Field(default=500, ge=1)
    replay_lease_s: float = Field(default=300.0, gt=0)


class ApiSettings(BaseModel):
    """HTTP API: address, token signing, login throttling, report and retention parameters."""

    host: str = "127.0.0.1"
    port: int = 8780
    default_timezone: str = "Asia/Shanghai"
    #: HMAC key (HS256) signing access and refresh tokens; at least 32 characters in production.
    jwt_secret: SecretStr = SecretStr("dev-jwt-secret-not-for-production")
    jwt_issuer: str = "bailwatch"
    #: Lifetime of an access token, seconds.
    access_token_ttl_s: int = Field(default=900, ge=30, le=86_400)
    #: Lifetime of a refresh token, seconds (each is usable once: refreshing rotates it).
    refresh_token_ttl_s: int = Field(default=8 * 3600, ge=60, le=30 * 86_400)
    #: Failed logins within ``login_window_s`` before 429: per username from one client address
    #: (an officer's typos lock only that account from that address), per username from any
    #: address (a guesser spread over many addresses), and per client address over every
    #: username (a sprayer; high, because a whole station may share one NAT address and one
    #: officer's failures are capped by the per-username limit well below it).
    login_max_failures: int = Field(default=5, ge=1)
    login_max_failures_account: int = Field(default=10, ge=1)
    login_max_failures_address: int = Field(default=50, ge=1)
    login_window_s: float = Field(default=300.0, gt=0)
    #: Seconds between two fixes a watch is expected to send (compliance coverage).
    expected_fix_interval_s: float = Field(default=60.0, gt=0)
    #: Position data of a released case is purged this many days after release (no legal hold).
    released_retention_days: int = Field(default=180, ge=1)
    #: Largest page of a list endpoint.
    page_max: int = Field(default=200, ge=1)
    #: The deciding authority (决定机关) of a case that names none: who approves forfeiture and
    #: refund of its bail deposit (public_security: a supervisor of the supervising unit;
    #: procuratorate: the case's prosecutor; court: a supervisor recording the court's decision).
    default_deciding_authority: Literal["public_security", "procuratorate", "court"] = (
        "public_security"
    )
    #: How far back (s) an administrator may set an assignment's start (the watch fitted before
    #: it was enrolled); its dead-lettered fixes from then on are replayed into the case.
    assignment_backdate_max_s: float = Field(default=86_400.0, gt=0, le=7 * 86_400)


class SimSettings(BaseModel):
    """Watch simulator used by the demo and the benchmarks."""

    devices: int = Field(default=6, ge=1)
    #: Seconds between two fixes of one simulated watch.
    interval_s: float = Field(default=5.0, gt=0)
    seed: int = 7
    #: Administrative boundaries (WGS84 GeoJSON) the scenario's zones come from.
    boundaries_path: str = "data/boundaries/dongying.geojson"
    #: DY-2026-003 drives out of the city this many seconds after the simulator starts...
    wander_after_s: float = Field(default=180.0, ge=0)
    #: ...stays out about this many seconds...
    wander_out_s: float = Field(default=600.0, ge=0)
    #: ...and does it again this many seconds later.
    wander_every_s: float = Field(default=3600.0, gt=0)
    #: Mean seconds between two connection losses of one watch (its fixes are buffered meanwhile).
    offline_mean_gap_s: float = Field(default=1800.0, gt=0)
    #: Seconds between two status messages of one watch.
    status_every_s: float = Field(default=60.0, gt=0)


class AlertsSettings(BaseModel):
    """Alert episodes, the watchdog, escalation and delivery (``python -m alerts`` and the API)."""

    #: Broker login of the alerts process (unit topics, watch commands); generated into the run
    #: dir's ``mqtt-credentials.env`` by deploy/services.sh.
    mqtt_username: str | None = None
    mqtt_password: SecretStr | None = None
    mqtt_client_id: str = "bw-alerts-1"
    #: Port of the alerts process's Prometheus endpoint (0 disables it).
    metrics_port: int = Field(default=9109, ge=0)
    #: Seconds without a successful cycle after which a loop of the alerts process is stale and
    #: its ``/healthz`` (on ``metrics_port``) answers 503.
    health_stale_s: float = Field(default=60.0, gt=0)
    #: Seconds between two watchdog rounds (no signal, escalation); the detection delay past a
    #: case's no-signal limit is at most about this.
    watchdog_interval_s: float = Field(default=1.0, gt=0)
    #: Seconds an acknowledgement may wait, by severity, before the alert escalates...
    sla_critical_s: float = Field(default=300.0, gt=0)
    sla_high_s: float = Field(default=900.0, gt=0)
    sla_medium_s: float = Field(default=3600.0, gt=0)
    sla_low_s: float = Field(default=14_400.0, gt=0)
    #: ...and the second escalation happens at this multiple of the SLA.
    second_escalation_factor: float = Field(default=3.0, gt=1)
    #: Battery percentage at or below which a watch that is not charging raises an alert.
    battery_critical_pct: float = Field(default=10.0, ge=0, le=100)
    #: Outbox rows claimed by one drain round; the drain also wakes every ``drain_poll_s``.
    drain_batch: int = Field(default=200, ge=1)
    drain_poll_s: float = Field(default=1.0, gt=0)
    #: Seconds to wait for the broker's PUBACK of one unit-topic message.
    publish_timeout_s: float = Field(default=10.0, gt=0)
    #: Webhooks: seconds per HTTP attempt, first retry delay (doubled each attempt, with jitter,
    #: capped at ``webhook_backoff_max_s``), and the horizon after which a delivery is failed.
    webhook_timeout_s: float = Field(default=10.0, gt=0)
    webhook_backoff_base_s: float = Field(default=2.0, gt=0)
    webhook_backoff_max_s: float = Field(default=300.0, gt=0)
    webhook_horizon_s: float = Field(default=86_400.0, gt=0)
    webhook_batch: int = Field(default=50, ge=1)
    #: Live stream (API): seconds between heartbeat comments, and events replayed per page.
    stream_heartbeat_s: float = Field(default=15.0, gt=0)
    stream_replay_page: int = Field(default=500, ge=1)
    #: Events buffered per live-stream subscriber before it is cut off (it resumes by id).
    stream_queue_max: int = Field(default=10_000, ge=10)
    #: Live stream: at most one ``evidence_added`` entry per alert per this many seconds; the
    #: entries in between are folded into it (how many fixes, the newest position). The
    #: evidence itself is all recorded. 0 sends every entry.
    stream_evidence_every_s: float = Field(default=30.0, ge=0)
    #: Re-alert: after an alert is resolved while its condition goes on, a new alert opens when
    #: the condition has lasted this many seconds since the resolution (and meets its rule's
    #: grace again with fixes taken after the resolution).
    realert_after_s: float = Field(default=60.0, ge=0)

    def sla_s(self, severity: str) -> float:
        """Seconds before an unacknowledged alert of ``severity`` escalates the first time."""
        return float(getattr(self, f"sla_{severity}_s"))


class SmppSettings(BaseModel):
    """SMS gateway (SMSC) reached over SMPP 3.4 as a transceiver (``notify/smpp``)."""

    host: str = "127.0.0.1"
    port: int = Field(default=2775, ge=1, le=65_535)
    system_id: str = Field(default="bailwatch", max_length=15)
    #: Bind password (at most 8 characters by the protocol); unset binds with an empty one.
    password: SecretStr | None = None
    system_type: str = Field(default="", max_length=12)
    #: Sender address shown on the handset (a carrier-assigned service number) and its TON/NPI.
    source_addr: str = Field(default="10690000", max_length=20)
    source_addr_ton: int = Field(default=0, ge=0, le=6)
    source_addr_npi: int = Field(default=0, ge=0, le=18)
    #: TON/NPI of recipients' numbers (1/1: international, E.164, e.g. ``8613800000000``).
    dest_addr_ton: int = Field(default=1, ge=0, le=6)
    dest_addr_npi: int = Field(default=1, ge=0, le=18)
    #: Ask the SMSC for delivery receipts (registered_delivery 1).
    receipts: bool = True
    #: Seconds to open the TCP connection and to get bind_transceiver_resp.
    connect_timeout_s: float = Field(default=5.0, gt=0)
    #: Seconds to wait for the response to one request (submit_sm, enquire_link).
    response_timeout_s: float = Field(default=10.0, gt=0)
    #: Seconds a send waits for a bound session before it counts as a transient failure.
    bind_wait_s: float = Field(default=5.0, ge=0)
    #: Seconds between two enquire_link keepalives on an idle session.
    enquire_link_s: float = Field(default=30.0, gt=0)
    #: Reconnect backoff: first delay, doubled each failure up to the cap (seconds, jittered).
    reconnect_min_s: float = Field(default=0.5, gt=0)
    reconnect_max_s: float = Field(default=30.0, gt=0)


class SmtpSettings(BaseModel):
    """Mail server reached over SMTP with STARTTLS required (``notify/email``)."""

    host: str = "127.0.0.1"
    port: int = Field(default=587, ge=1, le=65_535)
    username: str | None = None
    password: SecretStr | None = None
    sender: str = "bailwatch@localhost"
    #: PEM file of the CA that signs the server's certificate (system store when unset).
    ca_file: str | None = None
    #: Seconds for the whole SMTP conversation of one message.
    timeout_s: float = Field(default=15.0, gt=0)


class RobotSettings(BaseModel):
    """A group robot's webhook (WeCom ``key`` or DingTalk ``access_token``, and DingTalk's
    signing ``secret``)."""

    #: Base address of the robot API, without query (the vendor's, or a local receiver).
    url: str
    token: SecretStr | None = None
    secret: SecretStr | None = None
    #: Seconds per HTTP request.
    timeout_s: float = Field(default=10.0, gt=0)


class WeComSettings(RobotSettings):
    """WeCom group robot (``token`` is the webhook's ``key``)."""

    url: str = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send"


class DingTalkSettings(RobotSettings):
    """DingTalk custom robot (``token`` is ``access_token``; ``secret`` the SEC... signing key)."""

    url: str = "https://oapi.dingtalk.com/robot/send"


class NotifySettings(BaseModel):
    """Notification channels (SMS over SMPP, e-mail, WeCom and DingTalk group robots)."""

    smpp: SmppSettings = SmppSettings()
    smtp: SmtpSettings = SmtpSettings()
    wecom: WeComSettings = WeComSettings()
    dingtalk: DingTalkSettings = DingTalkSettings()

    def secrets(self) -> dict[str, str]:
        """Secrets that are set, by environment variable, for the placeholder check."""
        optional = {
            "BW_NOTIFY__SMPP__PASSWORD": self.smpp.password,
            "BW_NOTIFY__SMTP__PASSWORD": self.smtp.password,
            "BW_NOTIFY__WECOM__TOKEN": self.wecom.token,
            "BW_NOTIFY__DINGTALK__TOKEN": self.dingtalk.token,
            "BW_NOTIFY__DINGTALK__SECRET": self.dingtalk.secret,
        }
        return {k: v.get_secret_value() for k, v in optional.items() if v is not None}


class Settings(BaseSettings):
    """All settings of one bailwatch process."""

    model_config = SettingsConfigDict(
        env_prefix="BW_", env_nested_delimiter="__", extra="ignore", env_file=None
    )

    environment: Environment = Environment.development
    #: Directory of project-local services' data, logs and generated config.
    run_dir: str = ".run"
    log_level: str = "INFO"
    db: DatabaseSettings = DatabaseSettings()
    pings: PingStorageSettings = PingStorageSettings()
    mqtt: MqttSettings = MqttSettings()
    ingest: IngestSettings = IngestSettings()
    api: ApiSettings = ApiSettings()
    sim: SimSettings = SimSettings()
    alerts: AlertsSettings = AlertsSettings()
    notify: NotifySettings = NotifySettings()

    def to_env(self) -> dict[str, str]:
        """These settings as ``BW_*`` environment variables, to start another process with them."""
        env: dict[str, str] = {}

        def walk(prefix: str, value: object) -> None:
            if isinstance(value, BaseModel):
                for name in type(value).model_fields:
                    walk(f"{prefix}__{name.upper()}", getattr(value, name))
            elif value is not None:
                if isinstance(value, SecretStr):
                    value = value.get_secret_value()
                env[prefix] = str(value)

        for name in type(self).model_fields:
            walk(f"BW_{name.upper()}", getattr(self, name))
        return env

    @model_validator(mode="after")
    def _refuse_placeholder_secrets(self) -> Self:
        if self.environment in PLACEHOLDERS_ALLOWED:
            return self
        secrets = {
            "BW_DB__PASSWORD": self.db.password.get_secret_value(),
            "BW_API__JWT_SECRET": self.api.jwt_secret.get_secret_value(),
        }
        if self.mqtt.password is not None:
            secrets["BW_MQTT__PASSWORD"] = self.mqtt.password.get_secret_value()
        if self.alerts.mqtt_password is not None:
            secrets["BW_ALERTS__MQTT_PASSWORD"] = self.alerts.mqtt_password.get_secret_value()
        secrets |= self.notify.secrets()
        bad = [
            name
            for name, value in secrets.items()
            if value.lower() in PLACEHOLDER_SECRETS or value.startswith("dev-")
        ]
        if len(self.api.jwt_secret.get_secret_value()) < 32 and "BW_API__JWT_SECRET" not in bad:
            bad.append("BW_API__JWT_SECRET (shorter than 32 characters)")
        if bad:
            raise ValueError(
                f"placeholder secrets are refused in {self.environment}: {', '.join(bad)}"
            )
        return self

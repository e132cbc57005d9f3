"""Robot formats, DingTalk's signature, and how replies are judged."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import parse_qs, urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from notify.models import Outcome
from notify.robots import dingtalk, wecom
from notify.robots.post import judge
from tests.support.notifications import notification


def test_dingtalk_sign_matches_openssl() -> None:
    # printf '%s\n%s' 1764812345678 SECtest0123456789abcdef |
    #   openssl dgst -sha256 -hmac SECtest0123456789abcdef -binary | base64
    assert dingtalk.sign("SECtest0123456789abcdef", 1764812345678) == (
        "Qxk3FZElk/OMk5N3wHsLQM41SrJHLjPvnTHeVARBEBA="
    )


def test_dingtalk_query_is_signed_in_milliseconds() -> None:
    now = datetime(2026, 12, 4, 1, 2, 3, 456000, tzinfo=UTC)
    q = dingtalk.query("tok", "SECx", now)
    assert q["access_token"] == "tok"
    assert q["timestamp"] == str(int(now.timestamp() * 1000))
    assert q["sign"] == dingtalk.sign("SECx", int(q["timestamp"]))
    # URL-encoded and decoded again it is the same signature ('+' must not become ' ').
    assert parse_qs(urlencode(q))["sign"] == [q["sign"]]
    assert dingtalk.query("tok", None, now) == {"access_token": "tok"}


def test_dingtalk_payload_mentions_the_recipient() -> None:
    body = dingtalk.payload(notification())
    assert body["msgtype"] == "markdown"
    assert body["at"] == {"atMobiles": ["8613800138000"], "isAtAll": False}
    assert body["markdown"]["text"].endswith("@8613800138000")
    anonymous = dingtalk.payload(notification(mobile=None))
    assert anonymous["at"]["atMobiles"] == []


def test_wecom_payload() -> None:
    body = wecom.payload(notification())
    assert body["msgtype"] == "markdown"
    assert len(body["markdown"]["content"].encode()) <= wecom.MAX_CONTENT_BYTES
    assert body["markdown"]["content"].endswith("→ 李警官")


@settings(max_examples=300, deadline=None)
@given(st.text(st.characters(exclude_categories=["Cs"]), max_size=3000), st.integers(8, 4096))
def test_truncation_keeps_whole_characters_within_the_limit(text: str, limit: int) -> None:
    cut = wecom.truncate_utf8(text, limit)
    assert len(cut.encode("utf-8")) <= limit
    if cut != text:
        assert cut.endswith("…")
        assert text.startswith(cut[:-1])


@pytest.mark.parametrize(
    ("status", "body", "outcome", "reason"),
    [
        (200, b'{"errcode":0,"errmsg":"ok"}', Outcome.accepted, None),
        (
            200,
            b'{"errcode":45009,"errmsg":"api freq out of limit"}',
            Outcome.failed,
            "errcode 45009",
        ),
        (200, b'{"errcode":-1,"errmsg":"system busy"}', Outcome.failed, "errcode -1"),
        (
            200,
            b'{"errcode":93000,"errmsg":"invalid webhook url"}',
            Outcome.rejected,
            "errcode 93000",
        ),
        (200, b"<html>bad gateway</html>", Outcome.failed, "reply is not"),
        (200, b'{"ok":true}', Outcome.failed, "reply is not"),
        (502, b"", Outcome.failed, "HTTP 502"),
        (429, b"", Outcome.failed, "HTTP 429"),
        (404, b"not found", Outcome.rejected, "HTTP 404"),
    ],
)
def test_replies_are_judged(status: int, body: bytes, outcome: Outcome, reason: str | None) -> None:
    got = judge(status, body, wecom.TRANSIENT_ERRCODES)
    assert got.outcome is outcome
    if reason is None:
        assert got.reason is None
    else:
        assert got.reason is not None
        assert got.reason.startswith(reason)


def test_dingtalk_rate_limits_are_transient() -> None:
    for code in (130101, 410100, -1):
        assert judge(200, b'{"errcode":%d}' % code, dingtalk.TRANSIENT_ERRCODES).outcome is (
            Outcome.failed
        )
    assert judge(200, b'{"errcode":310000}', dingtalk.TRANSIENT_ERRCODES).outcome is (
        Outcome.rejected
    )

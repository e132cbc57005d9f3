"""NotifySettings: typed, from BW_NOTIFY__*, placeholder secrets refused outside development."""

from __future__ import annotations

import os

import pytest
from pydantic import ValidationError

from config.settings import Settings

STRONG = {
    "BW_DB__PASSWORD": "Vq8-long-random-database-password",
    "BW_API__JWT_SECRET": "k" * 16 + "Zr93mXw1pQe7LbT4",
}


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for key in list(os.environ):
        if key.startswith("BW_"):
            monkeypatch.delenv(key)
    return monkeypatch


def test_sections_come_from_the_environment(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("BW_NOTIFY__SMPP__PORT", "2776")
    clean_env.setenv("BW_NOTIFY__SMPP__PASSWORD", "pw")
    clean_env.setenv("BW_NOTIFY__DINGTALK__SECRET", "SECabc")
    s = Settings().notify
    assert s.smpp.port == 2776
    assert s.smpp.password is not None
    assert s.smpp.password.get_secret_value() == "pw"
    assert s.dingtalk.url == "https://oapi.dingtalk.com/robot/send"
    assert s.wecom.url == "https://qyapi.weixin.qq.com/cgi-bin/webhook/send"
    assert Settings().to_env()["BW_NOTIFY__DINGTALK__SECRET"] == "SECabc"


def test_unset_channel_secrets_do_not_stop_production(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("BW_ENVIRONMENT", "production")
    for key, value in STRONG.items():
        clean_env.setenv(key, value)
    assert Settings().notify.smtp.password is None


@pytest.mark.parametrize(
    "variable",
    [
        "BW_NOTIFY__SMPP__PASSWORD",
        "BW_NOTIFY__SMTP__PASSWORD",
        "BW_NOTIFY__WECOM__TOKEN",
        "BW_NOTIFY__DINGTALK__TOKEN",
        "BW_NOTIFY__DINGTALK__SECRET",
    ],
)
def test_placeholder_channel_secrets_are_refused_in_production(
    clean_env: pytest.MonkeyPatch, variable: str
) -> None:
    clean_env.setenv("BW_ENVIRONMENT", "production")
    for key, value in STRONG.items():
        clean_env.setenv(key, value)
    clean_env.setenv(variable, "changeme")
    with pytest.raises(ValidationError) as err:
        Settings()
    assert variable in str(err.value)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("BW_NOTIFY__SMPP__SYSTEM_ID", "x" * 16),
        ("BW_NOTIFY__SMPP__PORT", "0"),
        ("BW_NOTIFY__SMTP__TIMEOUT_S", "0"),
    ],
)
def test_impossible_values_are_refused(
    clean_env: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    clean_env.setenv(variable, value)
    with pytest.raises(ValidationError):
        Settings()

"""Every text a notification shows, Chinese first, English available. Pure.

SMS texts are short (one UCS-2 part holds 70 characters, each further part 67): the kind,
the case number, the person, the zone, the local time and the position, nothing else.
E-mail and the group robots get a title and a longer body in Markdown-safe plain lines.
"""

from __future__ import annotations

import unicodedata
from zoneinfo import ZoneInfo

from notify.models import AlertFacts, Language, Notification

#: Alert kinds (``alerts.kinds.AlertKind`` values) as people read them.
KIND_TEXT: dict[str, dict[Language, str]] = {
    "left_permitted_area": {Language.zh: "离开限定区域", Language.en: "Left permitted area"},
    "entered_exclusion_zone": {Language.zh: "进入禁入区域", Language.en: "Entered exclusion zone"},
    "crossed_exclusion_zone": {Language.zh: "穿越禁入区域", Language.en: "Crossed exclusion zone"},
    "curfew_broken": {Language.zh: "违反宵禁", Language.en: "Curfew broken"},
    "too_close_to_protected_person": {
        Language.zh: "接近被保护人",
        Language.en: "Too close to protected person",
    },
    "overdue_return": {Language.zh: "逾期未归", Language.en: "Overdue return"},
    "no_signal": {Language.zh: "设备失联", Language.en: "No signal"},
    "location_uncertain": {Language.zh: "位置不确定", Language.en: "Location uncertain"},
    "strap_opened": {Language.zh: "腕带被打开", Language.en: "Strap opened"},
    "battery_critical": {Language.zh: "电量严重不足", Language.en: "Battery critical"},
    "powered_off": {Language.zh: "设备关机", Language.en: "Powered off"},
    "impossible_movement": {Language.zh: "异常移动", Language.en: "Impossible movement"},
}

SEVERITY_TEXT: dict[str, dict[Language, str]] = {
    "critical": {Language.zh: "紧急", Language.en: "CRITICAL"},
    "high": {Language.zh: "高", Language.en: "HIGH"},
    "medium": {Language.zh: "中", Language.en: "MEDIUM"},
    "low": {Language.zh: "低", Language.en: "LOW"},
}

EVENT_TEXT: dict[str, dict[Language, str]] = {
    "opened": {Language.zh: "新告警", Language.en: "New alert"},
    "escalated": {Language.zh: "告警升级", Language.en: "Escalated alert"},
    "reminder": {Language.zh: "告警提醒", Language.en: "Alert reminder"},
}

#: Events in the SMS form, after the severity ("紧急告警升级", "CRITICAL escalation").
SMS_EVENT_TEXT: dict[str, dict[Language, str]] = {
    "opened": {Language.zh: "告警", Language.en: "alert"},
    "escalated": {Language.zh: "告警升级", Language.en: "escalation"},
    "reminder": {Language.zh: "告警提醒", Language.en: "reminder"},
}

#: Labels of the long form, in order of display.
LABELS: dict[str, dict[Language, str]] = {
    "case": {Language.zh: "案件", Language.en: "Case"},
    "person": {Language.zh: "人员", Language.en: "Person"},
    "zone": {Language.zh: "区域", Language.en: "Zone"},
    "time": {Language.zh: "时间", Language.en: "Time"},
    "position": {Language.zh: "位置", Language.en: "Position"},
    "severity": {Language.zh: "级别", Language.en: "Severity"},
    "alert": {Language.zh: "告警编号", Language.en: "Alert"},
    "act": {Language.zh: "请尽快处置并在系统中确认。", Language.en: "Please act and acknowledge."},
}

#: Prefix of SMS texts (Chinese carriers require a bracketed signature).
SMS_SIGNATURE: dict[Language, str] = {Language.zh: "【电子监管】", Language.en: "[bailwatch] "}


def clean(text: str) -> str:
    """``text`` with unpaired surrogates (a str decoded from JSON may hold them) replaced by
    U+FFFD, so every channel can encode it; well-formed text is returned unchanged."""
    return text.encode("utf-16-be", "surrogatepass").decode("utf-16-be", "replace")


def kind_text(kind: str, language: Language) -> str:
    """The kind's name; an unknown kind is shown as it is rather than dropped."""
    return KIND_TEXT.get(kind, {}).get(language, kind)


def _event_text(event: str, language: Language) -> str:
    return EVENT_TEXT.get(event, {}).get(language, event)


def local_time_short(facts: AlertFacts) -> str:
    """``11-22 10:05`` in the case's zone (SMS)."""
    return facts.occurred_at.astimezone(ZoneInfo(facts.timezone)).strftime("%m-%d %H:%M")


def local_time_long(facts: AlertFacts) -> str:
    """``2026-11-22 10:05:09 +08:00 (Asia/Shanghai)``."""
    local = facts.occurred_at.astimezone(ZoneInfo(facts.timezone))
    offset = local.strftime("%z")
    return f"{local:%Y-%m-%d %H:%M:%S} {offset[:3]}:{offset[3:]} ({facts.timezone})"


def position_text(facts: AlertFacts) -> str | None:
    """``37.43210N 118.67450E`` (WGS84, 5 decimals: about 1 m), or ``None``."""
    if facts.position is None:
        return None
    lon, lat = facts.position
    ns = "N" if lat >= 0 else "S"
    ew = "E" if lon >= 0 else "W"
    return f"{abs(lat):.5f}{ns} {abs(lon):.5f}{ew}"


def title(n: Notification) -> str:
    """One line: event, severity, kind, case number (e-mail subject, robot title)."""
    lang, f = n.language, n.facts
    sev = SEVERITY_TEXT[f.severity][lang]
    if lang is Language.zh:
        text = f"{_event_text(n.event, lang)}（{sev}）{kind_text(f.kind, lang)} {f.case_number}"
    else:
        text = f"{_event_text(n.event, lang)} ({sev}): {kind_text(f.kind, lang)}, {f.case_number}"
    return clean(single_line(text))


def sms_text(n: Notification) -> str:
    """The short form for SMS: signature, severity and event, then the facts, comma-separated.

    Kept within one UCS-2 part (70 characters) for an ordinary case: the year is left out of
    the time, and labels are left out altogether.
    """
    lang, f = n.language, n.facts
    sev = SEVERITY_TEXT[f.severity][lang]
    event = SMS_EVENT_TEXT.get(n.event, {}).get(lang, n.event)
    facts = [kind_text(f.kind, lang), f.case_number, f.person_name]
    if f.zone_name:
        facts.append(f.zone_name)
    facts.append(local_time_short(f))
    pos = position_text(f)
    if pos:
        facts.append(pos)
    if lang is Language.zh:
        text = f"{SMS_SIGNATURE[lang]}{sev}{event}：" + "，".join(facts)
    else:
        text = f"{SMS_SIGNATURE[lang]}{sev} {event}: " + ", ".join(facts)
    return clean(single_line(text))


def body_lines(n: Notification) -> list[tuple[str, str]]:
    """The long form as ``(label, value)`` pairs, in display order."""
    lang, f = n.language, n.facts
    rows = [
        (LABELS["severity"][lang], SEVERITY_TEXT[f.severity][lang]),
        (LABELS["case"][lang], f.case_number),
        (LABELS["person"][lang], f.person_name),
    ]
    if f.zone_name:
        rows.append((LABELS["zone"][lang], f.zone_name))
    rows.append((LABELS["time"][lang], local_time_long(f)))
    pos = position_text(f)
    if pos:
        rows.append((LABELS["position"][lang], f"{pos} (WGS84)"))
    rows.append((LABELS["alert"][lang], f"#{f.alert_id}"))
    return rows


def plain_text(n: Notification) -> str:
    """E-mail body: the title, one fact per line, and what to do."""
    sep = "：" if n.language is Language.zh else ": "
    lines = [title(n), ""]
    lines += [f"{label}{sep}{value}" for label, value in body_lines(n)]
    lines += ["", LABELS["act"][n.language]]
    return clean("\n".join(lines) + "\n")


def single_line(value: str) -> str:
    """``value`` with control characters and line or paragraph separators as spaces."""
    return "".join(" " if unicodedata.category(c) in {"Cc", "Zl", "Zp"} else c for c in value)


def _md_escape(value: str) -> str:
    """A value we did not write, made inert in Markdown: on one line (no new heading or
    paragraph), every character the robots interpret escaped."""
    out = single_line(value)
    for ch in "\\`*_[]<>#":
        out = out.replace(ch, "\\" + ch)
    return out


def markdown(n: Notification) -> str:
    """Group-robot body (WeCom and DingTalk Markdown subsets: headings, bold, line breaks)."""
    sep = "：" if n.language is Language.zh else ": "
    lines = [f"### {_md_escape(title(n))}"]
    lines += [f"**{label}**{sep}{_md_escape(value)}" for label, value in body_lines(n)]
    lines.append(LABELS["act"][n.language])
    # Both robots need a blank line (or two spaces) for a line break in Markdown.
    return clean("\n\n".join(lines))

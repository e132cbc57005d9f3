"""Chinese names of what the score speaks of (alert kinds, statuses, dispositions). Pure data."""

from __future__ import annotations

from collections.abc import Mapping

KIND_ZH: Mapping[str, str] = {
    "left_permitted_area": "离开允许区域",
    "entered_exclusion_zone": "进入禁入区域",
    "crossed_exclusion_zone": "穿越禁入区域",
    "too_close_to_protected_person": "接近受保护人",
    "overdue_return": "逾期未归",
    "strap_opened": "腕带打开",
    "curfew_broken": "违反宵禁",
    "no_signal": "无信号",
    "powered_off": "关机",
    "battery_critical": "电量严重不足",
    "impossible_movement": "异常移动",
    "location_uncertain": "位置不确定",
}
STATUS_ZH: Mapping[str, str] = {"open": "未处理", "acknowledged": "已签收", "resolved": "已处置"}
DISPOSITION_ZH: Mapping[str, str] = {
    "violation_confirmed": "违规属实",
    "false_alarm": "误报",
    "technical_fault": "技术故障",
    "excused_by_permit": "经许可",
}


def yuan(fen: int) -> str:
    """Integer fen as yuan with thousands separators and two decimals: 1000050 -> 10,000.50."""
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100:,}.{abs(fen) % 100:02d}"

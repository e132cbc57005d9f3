"""Money as people read it: integer fen in, yuan with two decimals out. Pure.

Amounts are kept as integer fen everywhere inside (no float ever touches them); this is the one
place they become text. Chinese puts the unit after the number ("10,000.00元"), English the sign
before it ("¥10,000.00"); both group thousands with commas.
"""

from __future__ import annotations

from typing import Literal

Lang = Literal["zh", "en"]


def yuan(fen: int, lang: Lang = "zh") -> str:
    """``fen`` (integer, may be negative) as yuan with fen: 1_000_000 -> "10,000.00元" (zh) or
    "¥10,000.00" (en)."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    number = f"{whole:,}.{cents:02d}"
    return f"{sign}{number}元" if lang == "zh" else f"{sign}¥{number}"

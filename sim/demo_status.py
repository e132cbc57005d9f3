"""``python -m sim.demo_status``: one line on what the demo has stored, for ``make run``."""

from __future__ import annotations

import psycopg

from config.settings import Settings
from store import stats


def main() -> None:
    """Print fixes stored today, watches reporting, the newest fix and dead letters."""
    settings = Settings()
    with psycopg.connect(settings.db.dsn(), connect_timeout=3) as conn:
        row = conn.execute(stats.SELECT_RECENT_PINGS).fetchone()
        dead = conn.execute(stats.SELECT_RECENT_DEAD_LETTERS).fetchone()
    if row is None or dead is None:
        raise RuntimeError("summary queries returned no row")
    fixes, devices, newest, recent = row
    newest_s = newest.isoformat(timespec="seconds") if newest else "-"
    print(
        f"[demo] fixes stored today: {fixes} from {devices} watches; "
        f"{recent} received in the last 10 s; newest fix {newest_s}; dead letters: {dead[0]}",
        flush=True,
    )


if __name__ == "__main__":
    main()

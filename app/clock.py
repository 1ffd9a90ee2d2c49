"""The product's clock: 北京时间 (``TIMEZONE``, default Asia/Shanghai), whatever the server's.

Records keep naive local times — 最近操作时间, 申报时间, a history entry's time, the date a
number or a "today" default takes — all from ``datetime.now()`` / ``date.today()``.  A server or
container on UTC showed every time eight hours early and changed the date at 08:00.  The process
therefore keeps the product's zone (``TZ`` and ``time.tzset()``), set when the application
package is imported — before anything reads the clock — and again by ``create_app`` from its
configuration.  A zone the machine does not know is a settings problem (app/settings.py).
"""

from __future__ import annotations

import datetime as dt
import os
import time

DEFAULT_ZONE = "Asia/Shanghai"


def configured() -> str:
    return os.environ.get("TIMEZONE", "").strip() or DEFAULT_ZONE


def use(zone: str) -> str | None:
    """Make ``zone`` the process's local time; a problem (text) when the machine lacks it."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        expected = dt.datetime.now(ZoneInfo(zone)).utcoffset()
    except (ZoneInfoNotFoundError, ValueError):
        return f"TIMEZONE={zone!r} is not a time zone this machine knows (e.g. Asia/Shanghai)"
    if os.environ.get("TZ") != zone:
        os.environ["TZ"] = zone
        time.tzset()
    if dt.timedelta(seconds=time.localtime().tm_gmtoff) != expected:
        return (f"TIMEZONE={zone!r}: the system's time zone data lacks it (install the "
                f"tzdata package)")
    return None

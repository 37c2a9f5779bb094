"""Daily slow logs for the nightly tests, built from real fixtures.

Each day is fixtures/slowlogs/example-marketplace.log (MariaDB 10.11, 250 events, 15
classes) with its timestamps shifted to that day and its query times scaled (x0.3, with a
seeded +-10% jitter per event so days differ), plus the scenario of :func:`write_days`.
"""

from __future__ import annotations

import random
import re
from datetime import date, datetime, timedelta
from pathlib import Path

FIXTURES = Path(__file__).parent.parent / "fixtures" / "slowlogs"
BASE = FIXTURES / "example-marketplace.log"
CAPTURED = FIXTURES / "mariadb-10.11-captured.log"
BASE_DAY = date(2026, 11, 26)  # the fixture's own day

#: the classes of the scenario (fingerprint prefixes of example-marketplace.log)
REGRESSES = "select o.id, o.total, oi.product_id, p.sku from orders o"  # 64 events
FIXED = "select * from orders where status >="  # 26 events
GONE = "select id, user_id, status, total from orders where total ="  # 20 events
NEW = "SELECT channel, COUNT(*), AVG(price) FROM products GROUP BY channel"  # captured log

_QUERY_TIME = re.compile(r"(# Query_time: )([0-9.]+)")
_TIME_LINE = re.compile(r"^# Time: (\d{6}) +(\d{1,2}:\d\d:\d\d)$", re.M)
_TIMESTAMP = re.compile(r"^SET timestamp=(\d+);$", re.M)


def entries(path: Path) -> tuple[str, list[str]]:
    """The banner and the entries of a log (an entry starts at ``# Time:`` or
    ``# User@Host:``, a ``# Time:`` line belonging to the entry after it)."""
    text = path.read_text()
    starts = [m.start() for m in re.finditer(r"^# (?:Time|User@Host):", text, re.M)]
    keep = [s for i, s in enumerate(starts)
            if not (i and text.startswith("# User@Host:", s) and text.startswith("# Time:",
                                                                                  starts[i - 1]))]
    bounds = keep + [len(text)]
    return text[:keep[0]], [text[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]


def shifted(entry: str, days: int, scale: float) -> str:
    """``entry`` moved by ``days`` and its Query_time multiplied by ``scale``."""
    def time_line(m: re.Match) -> str:
        when = datetime.strptime(f"{m.group(1)} {m.group(2)}", "%y%m%d %H:%M:%S")
        return f"# Time: {when + timedelta(days=days):%y%m%d %H:%M:%S}"

    entry = _TIME_LINE.sub(time_line, entry)
    entry = _TIMESTAMP.sub(lambda m: f"SET timestamp={int(m.group(1)) + days * 86400};", entry)
    return _QUERY_TIME.sub(lambda m: f"{m.group(1)}{float(m.group(2)) * scale:.6f}", entry)


def day_log(day: date, *, regress: bool = False, slow_fixed: bool = False,
            gone: bool = False, new: bool = False, seed: int | None = None) -> str:
    """One day's log text (see the module docstring)."""
    rnd = random.Random(seed if seed is not None else day.toordinal())
    offset = (day - BASE_DAY).days
    banner, base = entries(BASE)
    out = [banner]
    for entry in base:
        sql = " ".join(entry.lower().split())
        if gone and GONE in sql:
            continue
        scale = 0.3 * rnd.uniform(0.9, 1.1)
        if regress and REGRESSES in sql:
            scale *= 25
        if slow_fixed and FIXED in sql:
            scale *= 6
        out.append(shifted(entry, offset, scale))
    if new:
        extra = next(e for e in entries(CAPTURED)[1] if NEW in e)
        out += [shifted(extra, offset, 1.0) for _ in range(12)]
    return "".join(out)


def write_days(directory: Path, first: date, count: int = 14) -> list[tuple[date, Path]]:
    """``count`` daily logs from ``first``: on every day but the last one class (FIXED) is
    over the 200 ms warning threshold; on the last day it is fixed, one class (REGRESSES)
    is 25x slower, one (GONE) is gone and one (NEW, from the captured log) appears."""
    out = []
    for i in range(count):
        day = first + timedelta(days=i)
        last = i == count - 1
        path = directory / f"slow-{day.isoformat()}.log"
        path.write_text(day_log(day, regress=last, slow_fixed=not last, gone=last, new=last))
        out.append((day, path))
    return out

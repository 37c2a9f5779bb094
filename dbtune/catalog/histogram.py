"""Column value distributions read from a server's statistics, as cumulative points
``(value, fraction of the non-NULL rows <= value)``, and the fraction a constant range keeps.

Values are placed on one numeric axis: numbers as themselves, dates and datetimes as days
(proleptic ordinal, the time of day as a fraction). MariaDB's binary histograms place their
bucket ends between min and max on the server's own axis (``Field::pos_in_interval`` uses
``val_real``: ``YYYYMMDD`` for a date, ``YYYYMMDDhhmmss`` for a datetime); those positions are
turned back into dates first. Strings are not placed (the caller keeps its default).

Sources: MariaDB's engine-independent statistics (``mysql.column_stats``: ``min_value``,
``max_value``, ``hist_type`` SINGLE_PREC_HB / DOUBLE_PREC_HB / JSON_HB, ``histogram``; after
``ANALYZE TABLE ... PERSISTENT FOR ALL``) and MySQL 8's
``information_schema.COLUMN_STATISTICS`` (``ANALYZE TABLE ... UPDATE HISTOGRAM ON ...``):
singleton buckets ``[value, cumulative frequency]``, equi-height ones
``[lower, upper, cumulative frequency, distinct values]``.

>>> points = mariadb_points("DOUBLE_PREC_HB", b"\\xff\\x7f", "0", "100", "int")
>>> [(round(v, 1), round(f, 2)) for v, f in points]
[(0.0, 0.0), (50.0, 0.5), (100.0, 1.0)]
>>> round(fraction_between(points, 25, 75), 2)
0.5
"""

from __future__ import annotations

import json
import re
import struct
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

Points = tuple[tuple[float, float], ...]

_NUMERIC = re.compile(r"\s*(tinyint|smallint|mediumint|int|integer|bigint|decimal|numeric|"
                      r"float|double|real|year)\b", re.I)
_TEMPORAL = re.compile(r"\s*(date|datetime|timestamp)\b", re.I)


def axis_value(value: Any, type_sql: str) -> float | None:
    """``value`` on the numeric axis of a column of type ``type_sql``, else None.

    >>> axis_value("1995-09-01", "date"), axis_value("1995-09-01 12:00:00", "datetime")
    (728537.0, 728537.5)
    >>> axis_value("12.5", "decimal(15,2)"), axis_value("abc", "varchar(10)")
    (12.5, None)
    """
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, (date, datetime)):
        value = value.isoformat(sep=" ")
    if not isinstance(value, str):
        return None
    text = value.strip()
    if _NUMERIC.match(type_sql):
        try:
            return float(text)
        except ValueError:
            return None
    kind = _TEMPORAL.match(type_sql)
    if kind is None:
        return None
    found = re.match(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?", text)
    if found is None:
        return None
    y, m, d, hh, mm, ss = (int(g or 0) for g in found.groups())
    try:
        day = date(y, m, d).toordinal()
    except ValueError:
        return None
    return day + (hh * 3600 + mm * 60 + ss) / 86400


def _server_axis(value: float, type_sql: str) -> float:
    """MariaDB's axis for a value of :func:`axis_value` (``YYYYMMDD[hhmmss]`` for dates)."""
    if not _TEMPORAL.match(type_sql):
        return value
    day = date.fromordinal(int(value))
    ymd = day.year * 10_000 + day.month * 100 + day.day
    if _TEMPORAL.match(type_sql).group(1).lower() == "date":
        return float(ymd)
    seconds = round((value - int(value)) * 86400)
    return ymd * 1e6 + seconds // 3600 * 10_000 + seconds % 3600 // 60 * 100 + seconds % 60


def _from_server_axis(number: float, type_sql: str) -> float:
    """:func:`axis_value`'s axis for a position on MariaDB's; an impossible date on it (a
    day 75 lies between the 31st and the next month's 1st) goes to its month's end."""
    if not _TEMPORAL.match(type_sql):
        return number
    dated = _TEMPORAL.match(type_sql).group(1).lower() == "date"
    ymd, rest = (int(number), 0.0) if dated else divmod(number, 1e6)
    y, m, d = int(ymd) // 10_000, int(ymd) // 100 % 100, int(ymd) % 100
    if m > 12:
        y, m, d = y, 12, 31
    m, d = max(m, 1), max(d, 1)
    last = (date(y + m // 12, m % 12 + 1, 1) - date(y, m, 1)).days
    if d > last:
        return float(date(y, m, last).toordinal()) + 0.999
    hh, mm, ss = int(rest) // 10_000, int(rest) // 100 % 100, int(rest) % 100
    return date(y, m, d).toordinal() + min(hh * 3600 + mm * 60 + ss, 86399) / 86400


def mariadb_points(kind: str | None, histogram: Any, low: Any, high: Any,
                   type_sql: str) -> Points:
    """Cumulative points of a ``mysql.column_stats`` row (empty when the column cannot be
    placed). SINGLE_PREC_HB / DOUBLE_PREC_HB hold N positions between min and max (1 or 2
    bytes each, little-endian), the right ends of N + 1 buckets of equal height; JSON_HB
    (MariaDB 10.8+) holds the buckets' start values and sizes; without a histogram the
    values are taken as spread evenly between min and max."""
    lo, hi = axis_value(low, type_sql), axis_value(high, type_sql)
    if lo is None or hi is None or hi < lo:
        return ()
    kind = (kind or "").upper()
    if kind == "JSON_HB" and histogram:
        return _json_hb(histogram, type_sql, lo, hi)
    width = {"SINGLE_PREC_HB": 1, "DOUBLE_PREC_HB": 2}.get(kind)
    data = bytes(histogram or b"")
    if width is None or not data:
        return ((lo, 0.0), (hi, 1.0))
    count = len(data) // width
    scale = 255.0 if width == 1 else 65535.0
    positions = struct.unpack("<" + ("B" if width == 1 else "H") * count,
                              data[: count * width])
    server_lo, server_hi = _server_axis(lo, type_sql), _server_axis(hi, type_sql)
    points = [(lo, 0.0)]
    points += [(_from_server_axis(server_lo + (server_hi - server_lo) * p / scale, type_sql),
                (i + 1) / (count + 1)) for i, p in enumerate(positions)]
    points.append((hi, 1.0))
    return _monotone(points)


def _json_hb(histogram: Any, type_sql: str, lo: float, hi: float) -> Points:
    try:
        buckets = json.loads(histogram).get("histogram_hb") or []
    except (ValueError, AttributeError):
        return ((lo, 0.0), (hi, 1.0))
    points, total = [], 0.0
    for bucket in buckets:
        start = axis_value(bucket.get("start"), type_sql)
        if start is None:
            return ((lo, 0.0), (hi, 1.0))
        points.append((start, total))
        total += float(bucket.get("size") or 0)
    end = axis_value(buckets[-1].get("end"), type_sql) if buckets else None
    points.append((hi if end is None else end, total or 1.0))
    return _monotone([(v, f / (total or 1.0)) for v, f in points])


def mysql_points(histogram: Any, type_sql: str) -> Points:
    """Cumulative points of a MySQL 8 ``COLUMN_STATISTICS.HISTOGRAM`` (a JSON document or
    its text), normalised to the non-NULL rows; empty when the values cannot be placed.

    >>> doc = {"buckets": [["2017-01-01", "2017-01-31", 0.5, 31],
    ...                    ["2017-02-01", "2017-12-31", 1.0, 334]],
    ...        "histogram-type": "equi-height", "data-type": "date"}
    >>> mysql_points(doc, "date")
    ((736330.0, 0.0), (736360.0, 0.5), (736361.0, 0.5), (736694.0, 1.0))
    """
    doc = json.loads(histogram) if isinstance(histogram, (str, bytes)) else histogram
    buckets = (doc or {}).get("buckets") or []
    if not buckets:
        return ()
    singleton = doc.get("histogram-type") == "singleton"
    last = float(buckets[-1][1 if singleton else 2]) or 1.0
    points: list[tuple[float, float]] = []
    previous = 0.0
    for bucket in buckets:
        if singleton:
            value = axis_value(bucket[0], type_sql)
            if value is None:
                return ()
            points += [(value, previous / last), (value, float(bucket[1]) / last)]
            previous = float(bucket[1])
        else:
            lower, upper = axis_value(bucket[0], type_sql), axis_value(bucket[1], type_sql)
            if lower is None or upper is None:
                return ()
            points += [(lower, previous / last), (upper, float(bucket[2]) / last)]
            previous = float(bucket[2])
    return _monotone(points)


def cumulative(points: Points, value: float) -> float:
    """Fraction of the rows at most ``value`` (linear between the points; a run of points
    at one value - a singleton - counts whole).

    >>> cumulative(((0.0, 0.0), (10.0, 1.0)), 2.5)
    0.25
    """
    if not points or value < points[0][0]:
        return 0.0
    if value >= points[-1][0]:
        return 1.0
    for (v0, f0), (v1, f1) in zip(points, points[1:], strict=False):
        if v0 <= value < v1:
            return f0 + (f1 - f0) * (value - v0) / (v1 - v0)
    return 1.0


def fraction_between(points: Points, low: float | None, high: float | None) -> float:
    """Fraction of the rows in [``low``, ``high``] (None: unbounded on that side)."""
    top = 1.0 if high is None else cumulative(points, high)
    bottom = 0.0 if low is None else _below(points, low)
    return max(0.0, top - bottom)


def _below(points: Points, value: float) -> float:
    """Fraction of the rows strictly below ``value`` (below a singleton's value: before it)."""
    same = [f for v, f in points if v == value]
    return min(same) if same else cumulative(points, value)


def _monotone(points: Sequence[tuple[float, float]]) -> Points:
    out: list[tuple[float, float]] = []
    for value, fraction in points:
        if out and (value < out[-1][0] or fraction < out[-1][1]):
            value, fraction = max(value, out[-1][0]), max(fraction, out[-1][1])
        out.append((value, fraction))
    return tuple(out)

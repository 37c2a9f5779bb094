"""Seeded generator and fast loader for the marketplace fixture (fixtures/marketplace/).

>>> counts = load_marketplace(server, "shop", scale=0.05, seed=42)   # doctest: +SKIP
>>> counts["audit_log"]                                                # doctest: +SKIP
35000

Rows are generated in chunks with numpy (popular products, active sellers and repeat
customers follow Zipf-like laws; sync times come in bursts; audit_log holds four years of
growing history), written to temporary tab-separated files and loaded with
``LOAD DATA LOCAL INFILE``; where the client or server refuses that, batched multi-row
INSERTs are used instead.
"""

from __future__ import annotations

import csv
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pymysql

from dbtune.workload import model as m

#: fixtures/marketplace/schema.sql, through a symlink in the package so that a wheel (which
#: copies the file) carries it too
SCHEMA_PATH = Path(__file__).with_name("marketplace_schema.sql")
TABLES = (
    "products", "marketplace_listings", "listing_sync_jobs", "customers", "orders",
    "order_items", "user_sessions", "audit_log",
)
CHUNK = 100_000
_T0 = np.datetime64(m.NOW, "s")
_DAY = 86_400


class LoadError(Exception):
    """The fixture cannot be loaded where asked (one line, names the database/table)."""


def schema_statements(path: Path = SCHEMA_PATH) -> list[str]:
    """The CREATE TABLE statements of the fixture's schema.sql."""
    if not path.is_file():
        raise LoadError(f"{path}: marketplace schema not found")
    text = re.sub(r"--[^\n]*", "", path.read_text(encoding="utf-8"))
    return [s.strip() for s in text.split(";") if s.strip()]


def _times(seconds_ago: np.ndarray) -> np.ndarray:
    return _T0 - np.round(seconds_ago).astype("int64").astype("timedelta64[s]")


def _history(q: np.ndarray, days: float, rng: np.random.Generator, jitter_s: float) -> np.ndarray:
    """Times for rows at positions q in (0, 1] of an append-only table whose rate grows
    linearly over ``days``: nearly ordered by id, like real insert-time history."""
    age = (1.0 - np.sqrt(q)) * days * _DAY + rng.exponential(jitter_s, q.size)
    return _times(age)


def _bursty(rng: np.random.Generator, size: int, mean_days: float, max_days: float) -> np.ndarray:
    """Sync-style times: recent-skewed, snapped to 15-minute bursts plus a short tail."""
    age = np.minimum(rng.exponential(mean_days * _DAY, size), max_days * _DAY)
    age = np.ceil(age / 900.0) * 900.0 - rng.exponential(60.0, size)
    return _times(np.maximum(age, 0.0))


def _money(values: np.ndarray) -> np.ndarray:
    return np.round(values, 2)


def _products(d: m.Distributions, rng: np.random.Generator, ids: np.ndarray) -> pd.DataFrame:
    n = ids.size
    created = _times(rng.uniform(30, 5 * 365, n) * _DAY)
    return pd.DataFrame({
        "id": ids,
        "sku": [m.product_sku(i) for i in ids],
        "title": [m.product_title(i) for i in ids],
        "brand": [m.BRANDS[(i * 7) % len(m.BRANDS)] for i in ids],
        "category": np.array(m.CATEGORIES)[rng.integers(0, len(m.CATEGORIES), n)],
        "base_price": _money(rng.lognormal(3.3, 0.9, n) + 1),
        "weight_grams": rng.integers(50, 20_000, n),
        "created_at": created,
        "updated_at": np.maximum(created, _bursty(rng, n, 60, 365)),
    })


def _listings(d: m.Distributions, rng: np.random.Generator, ids: np.ndarray) -> pd.DataFrame:
    n = ids.size
    product = (ids - 1) // 3 + 1
    market = (ids - 1) % 3
    names = np.array(m.MARKETPLACES)[market]
    stock = np.where(rng.random(n) < 0.08, 0, rng.geometric(0.02, n))
    status = np.where(stock == 0, "out_of_stock", np.where(
        rng.random(n) < 0.06, "paused", np.where(rng.random(n) < 0.01, "error", "active")))
    updated = _bursty(rng, n, 12, 400)
    synced = updated + rng.integers(5, 600, n).astype("timedelta64[s]")
    return pd.DataFrame({
        "id": ids,
        "marketplace": names,
        "sku": [m.listing_sku(k, p) for k, p in zip(names, product, strict=True)],
        "external_id": [
            f"X{k[0].upper()}{i * 7919 % 10**9:09d}" for k, i in zip(names, ids, strict=True)
        ],
        "product_id": product,
        "seller_id": d.sellers.sample(rng, n),
        "price": _money(rng.lognormal(3.3, 0.9, n) * np.array([1.0, 0.9, 1.1])[market] + 1),
        "currency": np.array(["USD", "TRY", "USD"])[market],
        "stock": stock,
        "status": status,
        "updated_at": updated,
        "synced_at": pd.Series(synced).where(rng.random(n) > 0.05),
    })


_SYNC_ERRORS = np.array([
    "HTTP 429 Too Many Requests", "HTTP 503 Service Unavailable", "invalid price for category",
    "SP-API: QuotaExceeded", "timeout after 30s", "listing not found on marketplace",
])


def _sync_jobs(d: m.Distributions, rng: np.random.Generator, ids: np.ndarray) -> pd.DataFrame:
    n = ids.size
    q = ids / d.sizes.sync_jobs
    # 90 days of history up to two hours ahead of NOW, scheduled on 5-minute ticks
    age = (1.0 - q) * 90 * _DAY - 7200 + rng.exponential(120.0, n)
    scheduled = _times(np.round(age / 300.0) * 300.0)
    product = d.products.sample(rng, n)
    market = rng.integers(0, 3, n)
    ahead = scheduled > _T0
    recent = ~ahead & (scheduled > _T0 - np.timedelta64(900, "s"))
    stuck = rng.random(n) < 0.004
    failed = rng.random(n) < 0.07
    status = np.where(ahead | stuck, "pending", np.where(
        recent, np.where(rng.random(n) < 0.5, "running", "pending"),
        np.where(failed, "failed", "done")))
    started = scheduled + rng.integers(0, 120, n).astype("timedelta64[s]")
    finished = started + rng.integers(1, 90, n).astype("timedelta64[s]")
    return pd.DataFrame({
        "id": ids,
        "listing_id": m.listing_id(product, market),
        "marketplace": np.array(m.MARKETPLACES)[market],
        "job_type": np.array(["price", "stock", "full"])[rng.choice(3, n, p=[0.45, 0.45, 0.1])],
        "status": status,
        "attempts": np.where(status == "failed", rng.integers(1, 6, n), 1),
        "scheduled_at": scheduled,
        "started_at": pd.Series(started).where(~np.isin(status, ["pending"])),
        "finished_at": pd.Series(finished).where(np.isin(status, ["done", "failed"])),
        "error": pd.Series(_SYNC_ERRORS[rng.integers(0, len(_SYNC_ERRORS), n)]).where(
            status == "failed"),
    })


def _customers(d: m.Distributions, rng: np.random.Generator, ids: np.ndarray) -> pd.DataFrame:
    n = ids.size
    return pd.DataFrame({
        "id": ids,
        "email": [m.customer_email(i) for i in ids],
        "name": [f"Customer {i}" for i in ids],
        "country": np.array(["TR", "US", "DE", "GB", "FR", "NL"])[
            rng.choice(6, n, p=[0.35, 0.3, 0.12, 0.1, 0.08, 0.05])],
        "created_at": _history(ids / d.sizes.customers, 4 * 365, rng, 3600.0),
    })


_ORDER_STATUS = np.array(["pending", "paid", "shipped", "delivered", "cancelled", "refunded"])


def _orders(d: m.Distributions, rng: np.random.Generator, ids: np.ndarray,
            first_item: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    n = ids.size
    created = _history(ids / d.sizes.orders, 3 * 365, rng, 600.0)
    market = rng.choice(3, n, p=[0.3, 0.45, 0.25])
    age_days = (_T0 - created).astype("int64") / _DAY
    settled = _ORDER_STATUS[rng.choice([3, 4, 5], n, p=[0.9, 0.07, 0.03])]
    fresh = _ORDER_STATUS[rng.choice(4, n, p=[0.1, 0.3, 0.4, 0.2])]
    items_per = 1 + rng.poisson(1.4, n)
    order_of_item = np.repeat(ids, items_per)
    k = order_of_item.size
    product = d.products.sample(rng, k)
    quantity = np.where(rng.random(k) < 0.8, 1, rng.integers(2, 6, k))
    unit = _money(rng.lognormal(3.3, 0.9, k) + 1)
    total = np.bincount(order_of_item - ids[0], weights=quantity * unit, minlength=n)
    orders = pd.DataFrame({
        "id": ids,
        "customer_id": d.customers.sample(rng, n),
        "marketplace": np.array(m.MARKETPLACES)[market],
        "status": np.where(age_days > 14, settled, fresh),
        "total": _money(total),
        "currency": np.array(["USD", "TRY", "USD"])[market],
        "created_at": created,
        "updated_at": created + rng.integers(0, 14 * _DAY, n).astype("timedelta64[s]"),
    })
    items = pd.DataFrame({
        "id": np.arange(first_item, first_item + k),
        "order_id": order_of_item,
        "listing_id": m.listing_id(product, np.repeat(market, items_per)),
        "product_id": product,
        "quantity": quantity,
        "unit_price": unit,
    })
    return orders, items


_AGENTS = np.array([
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/128.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) Safari/604.1",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) Safari/605.1.15",
    "okhttp/4.12.0 marketplace-android/7.3",
])


def _sessions(d: m.Distributions, rng: np.random.Generator, ids: np.ndarray) -> pd.DataFrame:
    n = ids.size
    created = _times((1.0 - ids / d.sizes.sessions) * 60 * _DAY + rng.exponential(60.0, n))
    ttl = np.where(rng.random(n) < 0.7, 30, 7) * _DAY
    expires = created + ttl.astype("timedelta64[s]")
    seen = created + (rng.random(n) * (np.minimum(expires, _T0) - created).astype("int64")
                      ).astype("int64").astype("timedelta64[s]")
    return pd.DataFrame({
        "id": ids,
        "token": [m.session_token(i) for i in ids],
        "user_id": d.customers.sample(rng, n),
        "ip": [f"10.{a}.{b}.{c}" for a, b, c in rng.integers(0, 256, (n, 3))],
        "user_agent": _AGENTS[rng.integers(0, len(_AGENTS), n)],
        "created_at": created,
        "expires_at": expires,
        "last_seen": seen,
    })


_ACTIONS = {
    "listing": ("price_changed", "stock_changed", "status_changed", "synced"),
    "order": ("created", "paid", "shipped", "cancelled"),
    "product": ("created", "updated", "image_added"),
    "sync_job": ("scheduled", "failed", "retried"),
    "customer": ("registered", "address_changed", "login"),
}


def _audit(d: m.Distributions, rng: np.random.Generator, ids: np.ndarray) -> pd.DataFrame:
    n = ids.size
    etype = rng.choice(len(m.ENTITY_TYPES), n, p=m.ENTITY_SHARE)
    entity = np.empty(n, dtype=np.int64)
    action = np.empty(n, dtype=object)
    for t, name in enumerate(m.ENTITY_TYPES):
        mask = etype == t
        entity[mask] = d.entity(name).sample(rng, int(mask.sum()))
        action[mask] = np.array(_ACTIONS[name])[rng.integers(0, len(_ACTIONS[name]), mask.sum())]
    actor_kind = rng.random(n)
    workers = rng.integers(1, 9, n)
    users = d.customers.sample(rng, n)
    actor = [
        f"sync-worker-{w}" if k < 0.6 else ("system" if k < 0.75 else f"user:{u}")
        for k, w, u in zip(actor_kind, workers, users, strict=True)
    ]
    old, new = rng.integers(0, 500, n), rng.integers(0, 500, n)
    return pd.DataFrame({
        "id": ids,
        "entity_type": np.array(m.ENTITY_TYPES)[etype],
        "entity_id": entity,
        "action": action,
        "actor": actor,
        "created_at": _history(ids / d.sizes.audit, 4 * 365, rng, 30.0),
        "payload": [
            f'{{"old":{o},"new":{w}}}' for o, w in zip(old, new, strict=True)
        ],
    })


def generate(scale: float = 1.0, seed: int = 42) -> Iterator[tuple[str, pd.DataFrame]]:
    """Yield (table, chunk DataFrame) for the whole fixture, deterministically."""
    d = m.Distributions(scale)
    s = d.sizes
    simple: list[tuple[str, int, Callable]] = [
        ("products", s.products, _products), ("marketplace_listings", s.listings, _listings),
        ("listing_sync_jobs", s.sync_jobs, _sync_jobs), ("customers", s.customers, _customers),
        ("user_sessions", s.sessions, _sessions), ("audit_log", s.audit, _audit),
    ]
    for number, (table, total, make) in enumerate(simple):
        for lo in range(1, total + 1, CHUNK):
            rng = np.random.default_rng([seed, number, lo])
            yield table, make(d, rng, np.arange(lo, min(lo + CHUNK, total + 1)))
    first_item = 1
    for lo in range(1, s.orders + 1, CHUNK):
        rng = np.random.default_rng([seed, 99, lo])
        orders, items = _orders(d, rng, np.arange(lo, min(lo + CHUNK, s.orders + 1)), first_item)
        first_item += len(items)
        yield "orders", orders
        yield "order_items", items


def load_marketplace(target, database: str, scale: float = 1.0, seed: int = 42,
                     on_progress: Callable[[str, int], None] | None = None) -> dict[str, int]:
    """Create the fixture's tables in ``database`` (created if missing) and fill them.

    ``target`` is a dbtune.sandbox Server (must be disposable; LOAD DATA LOCAL on a sandbox
    dbtune started, INSERTs on a DSN) or an open pymysql connection. Refuses a database
    that already holds any of the fixture's tables. Returns rows loaded per table.
    """
    if hasattr(target, "connect") and hasattr(target, "disposable"):
        from dbtune.sandbox.server import require_disposable

        require_disposable(target, f"load the marketplace fixture into {database!r}")
        # LOAD DATA LOCAL lets the server ask for any client file: only our own sandboxes
        # get it; a user's server (even one marked disposable) is loaded with INSERTs.
        with target.connect(local_infile=target.backend != "dsn") as connection:
            return load_marketplace(connection, database, scale, seed, on_progress)
    if not re.fullmatch(r"[A-Za-z0-9_]{1,64}", database):
        raise LoadError(f"database name {database!r}: use letters, digits and _ only")
    if scale <= 0:
        raise LoadError(f"scale {scale}: must be greater than 0")
    statements = schema_statements()
    counts = dict.fromkeys(TABLES, 0)
    with target.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE IF NOT EXISTS `{database}` CHARACTER SET utf8mb4")
        cursor.execute(f"USE `{database}`")
        cursor.execute("SHOW TABLES")
        clash = sorted({row[0] for row in cursor.fetchall()} & set(TABLES))
        if clash:
            raise LoadError(f"database {database!r} already has table {clash[0]!r}; "
                            "load into an empty database")
        # keep the loader out of a sandbox's slow log (long_query_time=0 there)
        cursor.execute("SET SESSION long_query_time = 3600, unique_checks = 0")
        for statement in statements:
            cursor.execute(statement)
        use_infile = True
        with tempfile.TemporaryDirectory(prefix="dbtune-marketplace-") as tmp:
            for table, frame in generate(scale, seed):
                if use_infile:
                    use_infile = _load_infile(cursor, table, frame, Path(tmp) / f"{table}.tsv")
                if not use_infile:
                    _load_insert(cursor, table, frame)
                counts[table] += len(frame)
                if on_progress:
                    on_progress(table, len(frame))
        cursor.execute(f"ANALYZE TABLE {', '.join(TABLES)}")
        cursor.fetchall()
        cursor.execute("SET SESSION unique_checks = 1")
    target.commit()
    return counts


def _load_infile(cursor, table: str, frame: pd.DataFrame, path: Path) -> bool:
    """LOAD DATA LOCAL one chunk; False if the client or server does not allow it."""
    # generated values never hold a backslash; quotes are doubled inside "..." fields
    frame.to_csv(path, sep="\t", header=False, index=False, na_rep="NULL",
                 quoting=csv.QUOTE_MINIMAL, date_format="%Y-%m-%d %H:%M:%S",
                 lineterminator="\n")
    columns = ", ".join(f"`{c}`" for c in frame.columns)
    try:
        cursor.execute(
            f"LOAD DATA LOCAL INFILE %s INTO TABLE `{table}` CHARACTER SET utf8mb4 "
            f"FIELDS TERMINATED BY '\\t' OPTIONALLY ENCLOSED BY '\"' LINES TERMINATED BY '\\n' "
            f"({columns})",
            (os.fspath(path),),
        )
    except pymysql.err.OperationalError as exc:
        if exc.args and exc.args[0] in (1148, 3948, 2068, 4166):  # local infile refused
            return False
        raise
    finally:
        path.unlink(missing_ok=True)
    return True


def _load_insert(cursor, table: str, frame: pd.DataFrame, batch: int = 2000) -> None:
    """Fallback: multi-row INSERTs (pymysql folds executemany into one INSERT per batch)."""
    columns = ", ".join(f"`{c}`" for c in frame.columns)
    sql = f"INSERT INTO `{table}` ({columns}) VALUES ({', '.join(['%s'] * len(frame.columns))})"
    clean = frame.astype(object).where(frame.notna(), None)
    rows = [tuple(_plain(v) for v in row) for row in clean.itertuples(index=False)]
    for lo in range(0, len(rows), batch):
        cursor.executemany(sql, rows[lo:lo + batch])


def _plain(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    return value

"""Weighted query templates, and the marketplace platform's workload built from them.

A :class:`WorkloadSpec` turns a seed into a reproducible stream of statements with their
literals inlined (escaped by pymysql), so a replay lands in the slow log like real traffic:

>>> spec = marketplace_spec(scale=1.0)
>>> name, sql = next(spec.statements(1, seed=7))
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

import numpy as np
from pymysql.converters import escape_item

from dbtune.workload import model as m

Kind = Literal["read", "write"]


class Draw:
    """Parameter draws for one statement stream: the data's own skewed distributions."""

    def __init__(self, rng: np.random.Generator, dist: m.Distributions) -> None:
        self.rng = rng
        self.dist = dist
        self.sizes = dist.sizes

    def pick(self, options: tuple, p: tuple | None = None):
        return options[int(self.rng.choice(len(options), p=p))]

    def integer(self, low: int, high: int) -> int:
        """Uniform in [low, high]."""
        return int(self.rng.integers(low, high + 1))

    def marketplace(self) -> str:
        return self.pick(m.MARKETPLACES, (0.3, 0.45, 0.25))

    def product(self) -> int:
        return self.dist.products.sample(self.rng)

    def listing(self) -> int:
        return int(m.listing_id(self.product(), self.integer(0, 2)))

    def listing_sku(self) -> dict[str, str]:
        """{"mp": marketplace, "sku": that marketplace's SKU of a popular product}."""
        mp = self.marketplace()
        return {"mp": mp, "sku": m.listing_sku(mp, self.product())}

    def seller(self) -> int:
        return self.dist.sellers.sample(self.rng)

    def customer(self) -> int:
        return self.dist.customers.sample(self.rng)

    def recent_id(self, total: int, fraction: float) -> int:
        """An id among the newest ``fraction`` of an append-only table."""
        return self.integer(max(1, int(total * (1 - fraction))), total)

    def entity(self) -> tuple[str, int]:
        kind = self.pick(m.ENTITY_TYPES, m.ENTITY_SHARE)
        return kind, self.dist.entity(kind).sample(self.rng)

    def ago(self, mean_days: float) -> datetime:
        """A recent moment: NOW minus an exponential number of days."""
        return m.ago(float(self.rng.exponential(mean_days)))

    def window(self, mean_days: float, minutes: int) -> tuple[datetime, datetime]:
        start = self.ago(mean_days).replace(second=0)
        return start, start + timedelta(minutes=minutes)

    def money(self, low: float, high: float) -> Decimal:
        """An amount with two decimals (inlined as 12.34, not as a float)."""
        return Decimal(f"{low + (high - low) * self.rng.random():.2f}")

    def hex(self, chars: int) -> str:
        return self.rng.bytes(chars // 2).hex()


@dataclass(frozen=True)
class Template:
    """One query shape: pymysql ``%(name)s`` placeholders filled by ``params(draw)``."""

    name: str
    weight: float
    kind: Kind
    sql: str
    params: Callable[[Draw], dict[str, Any]]

    def render(self, draw: Draw) -> str:
        """The statement with its parameters inlined as escaped SQL literals."""
        return self.sql % {k: _literal(v) for k, v in self.params(draw).items()}


@dataclass(frozen=True)
class WorkloadSpec:
    """A named, weighted mix of templates over data of a given scale."""

    name: str
    scale: float
    templates: tuple[Template, ...]

    def __post_init__(self) -> None:
        names = [t.name for t in self.templates]
        if len(set(names)) != len(names):
            raise ValueError(f"workload {self.name!r}: duplicate template names")

    @property
    def kinds(self) -> dict[str, Kind]:
        """Template name -> "read" | "write"."""
        return {t.name: t.kind for t in self.templates}

    def statements(self, count: int | None = None, seed: int = 0, *,
                   read_only: bool = False) -> Iterator[tuple[str, str]]:
        """(template name, SQL) pairs drawn by weight; endless when count is None."""
        templates = [t for t in self.templates if not (read_only and t.kind == "write")]
        weights = np.array([t.weight for t in templates], dtype=float)
        rng = np.random.default_rng(seed)
        draw = Draw(rng, m.Distributions(self.scale))
        produced = 0
        while count is None or produced < count:
            for index in rng.choice(len(templates), size=1024, p=weights / weights.sum()):
                if count is not None and produced >= count:
                    return
                template = templates[index]
                yield template.name, template.render(draw)
                produced += 1


def _literal(value: Any) -> str:
    """An escaped SQL literal; a tuple becomes a parenthesised IN list."""
    if isinstance(value, tuple):
        return "(" + ", ".join(escape_item(v, "utf8mb4") for v in value) + ")"
    return escape_item(value, "utf8mb4")


def _t(name: str, weight: float, kind: Kind, sql: str,
       params: Callable[[Draw], dict[str, Any]]) -> Template:
    return Template(name, weight, kind, " ".join(sql.split()), params)


def _sync_window(d: Draw) -> dict[str, Any]:
    start, end = d.window(3, 15)
    return {"mp": d.marketplace(), "start": start, "end": end}


def _sku_list(d: Draw) -> dict[str, Any]:
    mp = d.marketplace()
    skus = tuple(m.listing_sku(mp, d.product()) for _ in range(d.integer(3, 12)))
    return {"mp": mp, "skus": skus}


def _new_session(d: Draw) -> dict[str, Any]:
    created = d.ago(0.02)
    return {
        "token": d.hex(40), "user": d.customer(),
        "ip": f"10.0.{d.integer(0, 255)}.{d.integer(1, 254)}",
        "agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/131.0", "created": created,
        "expires": created + timedelta(days=30),
    }


def _new_audit(d: Draw) -> dict[str, Any]:
    kind, entity = d.entity()
    payload = f'{{"old": {d.integer(0, 499)}, "new": {d.integer(0, 499)}}}'
    return {"type": kind, "id": entity, "action": "updated",
            "actor": f"sync-worker-{d.integer(1, 8)}", "at": d.ago(0.01), "payload": payload}


def marketplace_templates() -> tuple[Template, ...]:
    """The marketplace platform's query mix (weights are per cent of statements)."""
    return (
        # --- listings and their synchronisation with eBay / Trendyol / Amazon
        _t("listing_sync_window", 4.11, "read", """
            SELECT id, sku, price, stock, status FROM marketplace_listings
            WHERE marketplace = %(mp)s AND updated_at >= %(start)s AND updated_at < %(end)s
            ORDER BY updated_at LIMIT 500""", _sync_window),
        _t("listing_by_sku", 4.11, "read", """
            SELECT id, product_id, price, stock, status FROM marketplace_listings
            WHERE marketplace = %(mp)s AND sku = %(sku)s""",
           lambda d: d.listing_sku()),
        _t("listing_by_id", 7.72, "read", "SELECT * FROM marketplace_listings WHERE id = %(id)s",
           lambda d: {"id": d.listing()}),
        _t("listings_for_product", 2.05, "read", """
            SELECT marketplace, sku, price, stock, status FROM marketplace_listings
            WHERE product_id = %(p)s""", lambda d: {"p": d.product()}),
        _t("listings_sku_in", 1.08, "read", """
            SELECT sku, price, stock FROM marketplace_listings
            WHERE marketplace = %(mp)s AND sku IN %(skus)s""", _sku_list),
        _t("seller_listings_page", 1.08, "read", """
            SELECT id, sku, price, stock FROM marketplace_listings
            WHERE seller_id = %(s)s AND status = 'active'
            ORDER BY updated_at DESC LIMIT 50 OFFSET %(off)s""",
           lambda d: {"s": d.seller(), "off": 50 * d.pick((0, 0, 0, 1, 2, 5))}),
        _t("top_sellers_report", 0.49, "read", """
            SELECT seller_id, COUNT(*) AS listings, SUM(stock) AS units
            FROM marketplace_listings WHERE marketplace = %(mp)s AND status = 'active'
            GROUP BY seller_id ORDER BY units DESC LIMIT 20""",
           lambda d: {"mp": d.marketplace()}),
        _t("listing_price_update", 4.03, "write", """
            UPDATE marketplace_listings SET price = %(price)s, stock = %(stock)s,
            updated_at = %(at)s WHERE id = %(id)s""",
           lambda d: {"price": d.money(5, 205), "stock": d.integer(0, 300),
                      "at": d.ago(0.01), "id": d.listing()}),
        _t("listing_stock_by_sku", 0.68, "write", """
            UPDATE marketplace_listings SET stock = %(stock)s, synced_at = %(at)s
            WHERE marketplace = %(mp)s AND sku = %(sku)s""",
           lambda d: {"stock": d.integer(0, 300), "at": d.ago(0.01), **d.listing_sku()}),
        _t("pending_sync_jobs", 2.05, "read", """
            SELECT id, listing_id, job_type, attempts FROM listing_sync_jobs
            WHERE status = 'pending' AND marketplace = %(mp)s AND scheduled_at <= %(at)s
            ORDER BY scheduled_at LIMIT 100""",
           lambda d: {"mp": d.marketplace(), "at": d.ago(0.005)}),
        _t("sync_jobs_for_listing", 1.08, "read", """
            SELECT id, job_type, status, scheduled_at, error FROM listing_sync_jobs
            WHERE listing_id = %(l)s ORDER BY scheduled_at DESC LIMIT 10""",
           lambda d: {"l": d.listing()}),
        _t("sync_failures_report", 0.29, "read", """
            SELECT marketplace, error, COUNT(*) AS failures FROM listing_sync_jobs
            WHERE status = 'failed' AND finished_at >= %(since)s
            GROUP BY marketplace, error ORDER BY failures DESC""",
           lambda d: {"since": m.ago(d.pick((1, 7, 30)))}),
        _t("sync_job_insert", 2.01, "write", """
            INSERT INTO listing_sync_jobs (listing_id, marketplace, job_type, status, attempts,
            scheduled_at) VALUES (%(l)s, %(mp)s, 'stock', 'pending', 1, %(at)s)""",
           lambda d: {"l": d.listing(), "mp": d.marketplace(), "at": m.ago(-0.01)}),
        _t("sync_job_finish", 2.01, "write", """
            UPDATE listing_sync_jobs SET status = 'done', finished_at = %(at)s
            WHERE id = %(id)s""",
           lambda d: {"at": d.ago(0.001), "id": d.recent_id(d.sizes.sync_jobs, 0.01)}),
        # --- catalogue
        _t("product_by_id", 8.56, "read", "SELECT * FROM products WHERE id = %(id)s",
           lambda d: {"id": d.product()}),
        _t("product_by_sku", 4.11, "read", """
            SELECT id, title, base_price FROM products WHERE sku = %(s)s""",
           lambda d: {"s": m.product_sku(d.product())}),
        _t("product_search_title", 2.05, "read", """
            SELECT id, sku, title, base_price FROM products WHERE title LIKE %(q)s
            ORDER BY title LIMIT 20""",
           lambda d: {"q": m.product_title(d.product())[: d.integer(4, 9)] + "%"}),
        _t("product_category_page", 1.01, "read", """
            SELECT id, sku, title, base_price FROM products WHERE category = %(c)s
            ORDER BY id LIMIT 20 OFFSET %(off)s""",
           lambda d: {"c": d.pick(m.CATEGORIES), "off": 20 * d.pick((0, 0, 1, 2, 10, 50))}),
        # --- customers and orders
        _t("customer_by_id", 4.03, "read", "SELECT * FROM customers WHERE id = %(id)s",
           lambda d: {"id": d.customer()}),
        _t("customer_by_email", 2.05, "read", "SELECT id, name FROM customers WHERE email = %(e)s",
           lambda d: {"e": m.customer_email(d.customer())}),
        _t("order_by_id", 5.34, "read", "SELECT * FROM orders WHERE id = %(id)s",
           lambda d: {"id": d.recent_id(d.sizes.orders, 0.2)}),
        _t("orders_by_customer", 5.19, "read", """
            SELECT id, status, total, created_at FROM orders
            WHERE customer_id = %(c)s AND created_at >= %(since)s
            ORDER BY created_at DESC LIMIT 20""",
           lambda d: {"c": d.customer(), "since": m.ago(d.pick((30, 90, 365, 1095)))}),
        _t("order_with_items", 2.05, "read", """
            SELECT o.id, o.status, i.product_id, i.quantity, i.unit_price
            FROM orders o JOIN order_items i ON i.order_id = o.id WHERE o.id = %(id)s""",
           lambda d: {"id": d.recent_id(d.sizes.orders, 0.2)}),
        _t("daily_sales_report", 0.2, "read", """
            SELECT DATE(created_at) AS day, marketplace, COUNT(*) AS orders, SUM(total) AS revenue
            FROM orders WHERE created_at >= %(start)s AND created_at < %(end)s
            GROUP BY day, marketplace ORDER BY day""",
           lambda d: {"start": m.ago(7).date(), "end": m.NOW.date()}),
        _t("top_products_report", 0.1, "read", """
            SELECT i.product_id, SUM(i.quantity) AS units FROM orders o
            JOIN order_items i ON i.order_id = o.id
            WHERE o.created_at >= %(since)s AND o.status <> 'cancelled'
            GROUP BY i.product_id ORDER BY units DESC LIMIT 10""",
           lambda d: {"since": m.ago(d.pick((1, 2, 7)))}),
        _t("orders_status_count", 0.68, "read", """
            SELECT status, COUNT(*) FROM orders WHERE marketplace = %(mp)s GROUP BY status""",
           lambda d: {"mp": d.marketplace()}),
        _t("order_insert", 1.01, "write", """
            INSERT INTO orders (customer_id, marketplace, status, total, currency, created_at,
            updated_at) VALUES (%(c)s, %(mp)s, 'pending', %(total)s, 'USD', %(at)s, %(at)s)""",
           lambda d: {"c": d.customer(), "mp": d.marketplace(),
                      "total": d.money(10, 310), "at": d.ago(0.01)}),
        _t("order_status_update", 1.01, "write", """
            UPDATE orders SET status = %(s)s, updated_at = %(at)s WHERE id = %(id)s""",
           lambda d: {"s": d.pick(("paid", "shipped", "delivered")), "at": d.ago(0.01),
                      "id": d.recent_id(d.sizes.orders, 0.02)}),
        # --- sessions
        _t("session_by_token", 12.33, "read", """
            SELECT id, user_id, expires_at FROM user_sessions WHERE token = %(t)s""",
           lambda d: {"t": m.session_token(d.recent_id(d.sizes.sessions, 0.4))}),
        _t("sessions_for_user", 1.08, "read", """
            SELECT id, ip, user_agent, last_seen FROM user_sessions
            WHERE user_id = %(u)s AND expires_at > %(now)s ORDER BY last_seen DESC""",
           lambda d: {"u": d.customer(), "now": m.NOW}),
        _t("session_touch", 6.38, "write", """
            UPDATE user_sessions SET last_seen = %(at)s WHERE id = %(id)s""",
           lambda d: {"at": d.ago(0.001), "id": d.recent_id(d.sizes.sessions, 0.4)}),
        _t("session_insert", 1.34, "write", """
            INSERT INTO user_sessions (token, user_id, ip, user_agent, created_at, expires_at,
            last_seen) VALUES (%(token)s, %(user)s, %(ip)s, %(agent)s, %(created)s,
            %(expires)s, %(created)s)""", _new_session),
        _t("session_expire_cleanup", 0.17, "write", """
            DELETE FROM user_sessions WHERE expires_at < %(cutoff)s LIMIT 1000""",
           lambda d: {"cutoff": m.ago(d.pick((1, 2, 3)))}),
        # --- audit trail (append-only, the biggest table)
        _t("audit_by_entity", 2.45, "read", """
            SELECT id, action, actor, created_at, payload FROM audit_log
            WHERE entity_type = %(type)s AND entity_id = %(id)s
            ORDER BY created_at DESC LIMIT 50""",
           lambda d: dict(zip(("type", "id"), d.entity(), strict=True))),
        _t("audit_by_time", 0.68, "read", """
            SELECT id, entity_type, entity_id, action, actor FROM audit_log
            WHERE created_at >= %(start)s AND created_at < %(end)s
            ORDER BY created_at LIMIT 200""",
           lambda d: dict(zip(("start", "end"), d.window(60, 60), strict=True))),
        _t("audit_insert", 5.37, "write", """
            INSERT INTO audit_log (entity_type, entity_id, action, actor, created_at, payload)
            VALUES (%(type)s, %(id)s, %(action)s, %(actor)s, %(at)s, %(payload)s)""", _new_audit),
    )


def marketplace_spec(scale: float = 1.0) -> WorkloadSpec:
    """The marketplace platform's workload over data loaded at ``scale``."""
    return WorkloadSpec("marketplace", scale, marketplace_templates())

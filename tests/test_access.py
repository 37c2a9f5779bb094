"""Access patterns of marketplace statements: each case asserts the exact extracted pattern."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dbtune.access import FINDING_KINDS, AccessPattern, JoinColumn, access_patterns
from dbtune.catalog import Catalog
from dbtune.workload.spec import marketplace_spec


def P(table: str, **kw) -> AccessPattern:  # noqa: N802 - reads like a constructor
    return AccessPattern(table=table, **kw)


def J(column: str, other_table: str, other_column: str) -> JoinColumn:  # noqa: N802
    return JoinColumn(column, other_table, other_column)


@dataclass
class Case:
    sql: str
    accesses: tuple[AccessPattern, ...]
    findings: list[tuple[str, str | None, str | None]] = field(default_factory=list)
    kind: str = "select"
    limit: int | None = None
    offset: int | None = None
    written: tuple[str, ...] = ()


CASES: dict[str, Case] = {
    # -- single-table reads -------------------------------------------------------------
    "listings by marketplace and updated_at": Case(
        "SELECT id, sku, price FROM marketplace_listings WHERE marketplace = 'ebay' "
        "AND updated_at >= '2024-05-01 00:00:00' ORDER BY updated_at LIMIT 500",
        (P("marketplace_listings", equality={"marketplace": 1}, range=("updated_at",),
           order_by=(("updated_at", "asc"),),
           read=("id", "sku", "price", "marketplace", "updated_at"), limit=500),),
        limit=500),
    "sku lookup": Case(
        "SELECT * FROM marketplace_listings WHERE sku = 'SKU-00042' AND marketplace = 'amazon'",
        (P("marketplace_listings", equality={"sku": 1, "marketplace": 1},
           read=("sku", "marketplace"), star=True),)),
    "session by token": Case(
        "SELECT user_id, expires_at FROM user_sessions WHERE token = 'a1b2c3' LIMIT 1",
        (P("user_sessions", equality={"token": 1}, read=("user_id", "expires_at", "token"),
           limit=1),),
        limit=1),
    "orders by customer newest first": Case(
        "SELECT o.id, o.total FROM orders AS o WHERE o.customer_id = 1234 "
        "AND o.created_at BETWEEN '2024-01-01' AND '2024-06-30' ORDER BY o.created_at DESC",
        (P("orders", alias="o", equality={"customer_id": 1}, range=("created_at",),
           order_by=(("created_at", "desc"),),
           read=("id", "total", "customer_id", "created_at")),)),
    "audit by entity and time": Case(
        "SELECT action, actor, created_at FROM audit_log WHERE entity_type = 'order' AND "
        "entity_id = 991 AND created_at > NOW() - INTERVAL 30 DAY "
        "ORDER BY created_at DESC LIMIT 50",
        (P("audit_log", equality={"entity_type": 1, "entity_id": 1}, range=("created_at",),
           order_by=(("created_at", "desc"),),
           read=("action", "actor", "created_at", "entity_type", "entity_id"), limit=50),),
        limit=50),
    "audit time range only": Case(
        "SELECT COUNT(*) FROM audit_log "
        "WHERE created_at >= '2024-01-01' AND created_at < '2024-02-01'",
        (P("audit_log", range=("created_at",), read=("created_at",)),)),
    "constant on the left": Case(
        "SELECT id FROM user_sessions WHERE '2024-05-01 10:00:00' > expires_at",
        (P("user_sessions", range=("expires_at",), read=("id", "expires_at")),)),
    "null-safe equality and placeholders": Case(
        "SELECT id FROM listing_sync_jobs WHERE listing_id <=> ? AND marketplace = ?",
        (P("listing_sync_jobs", equality={"listing_id": 1, "marketplace": 1},
           read=("id", "listing_id", "marketplace")),)),
    "in list size": Case(
        "SELECT id, status FROM orders WHERE status IN ('paid', 'shipped', 'delivered') "
        "AND marketplace = 'trendyol'",
        (P("orders", equality={"status": 3, "marketplace": 1},
           read=("id", "status", "marketplace")),)),
    "row constructor in list": Case(
        "SELECT price FROM marketplace_listings WHERE (marketplace, sku) IN "
        "(('ebay', 'A1'), ('amazon', 'B2'))",
        (P("marketplace_listings", equality={"marketplace": 2, "sku": 2},
           read=("price", "marketplace", "sku")),)),
    "or on one column is an in list": Case(
        "SELECT id FROM orders WHERE customer_id = 7 AND (status = 'paid' OR status = 'shipped')",
        (P("orders", equality={"customer_id": 1, "status": 2},
           read=("id", "customer_id", "status")),)),
    "or of ranges on one column": Case(
        "SELECT id FROM orders WHERE created_at < '2020-01-01' OR created_at > '2025-01-01'",
        (P("orders", range=("created_at",), read=("id", "created_at")),)),
    "like prefix is a range": Case(
        "SELECT id, sku FROM products WHERE sku LIKE 'ACME-%' ORDER BY sku LIMIT 20",
        (P("products", range=("sku",), order_by=(("sku", "asc"),), read=("id", "sku"),
           limit=20),),
        limit=20),
    "keyset pagination with a row constructor": Case(
        "SELECT id, action FROM audit_log WHERE entity_type = 'order' AND (created_at, id) < "
        "('2024-05-01 10:00:00', 99123) ORDER BY created_at DESC, id DESC LIMIT 100",
        (P("audit_log", equality={"entity_type": 1}, range=("created_at",),
           order_by=(("created_at", "desc"), ("id", "desc")),
           read=("id", "action", "entity_type", "created_at"), limit=100),),
        limit=100),
    "row constructor equality": Case(
        "SELECT stock FROM marketplace_listings WHERE (marketplace, sku) = ('ebay', 'E-1')",
        (P("marketplace_listings", equality={"marketplace": 1, "sku": 1},
           read=("stock", "marketplace", "sku")),)),
    "null-safe null, any and like binary": Case(
        "SELECT id FROM listing_sync_jobs WHERE error <=> NULL AND listing_id = ANY "
        "(SELECT id FROM marketplace_listings WHERE seller_id = 4) AND job_type LIKE BINARY 'st%'",
        (P("listing_sync_jobs", equality={"listing_id": None}, range=("job_type",),
           is_null=("error",), read=("id", "error", "listing_id", "job_type")),
         P("marketplace_listings", equality={"seller_id": 1}, read=("id", "seller_id")))),
    "like with escape": Case(
        "SELECT id FROM products WHERE title LIKE '100!%%' ESCAPE '!'",
        (P("products", range=("title",), read=("id", "title")),)),
    "is null": Case(
        "SELECT id FROM listing_sync_jobs WHERE status = 'running' AND finished_at IS NULL "
        "AND started_at IS NOT NULL",
        (P("listing_sync_jobs", equality={"status": 1}, is_null=("finished_at",),
           read=("id", "status", "finished_at", "started_at")),)),
    "constant between two columns": Case(
        "SELECT user_id FROM user_sessions WHERE '2024-05-01' BETWEEN created_at AND expires_at",
        (P("user_sessions", range=("created_at", "expires_at"),
           read=("user_id", "created_at", "expires_at")),)),
    "group by report": Case(
        "SELECT marketplace, status, COUNT(*) AS n, SUM(stock) FROM marketplace_listings "
        "WHERE seller_id = 88 GROUP BY marketplace, status ORDER BY n DESC",
        (P("marketplace_listings", equality={"seller_id": 1}, group_by=("marketplace", "status"),
           read=("marketplace", "status", "stock", "seller_id")),)),
    "group by and order by position": Case(
        "SELECT status, COUNT(*) FROM orders WHERE created_at >= '2024-01-01' "
        "GROUP BY 1 ORDER BY 1",
        (P("orders", range=("created_at",), order_by=(("status", "asc"),), group_by=("status",),
           read=("status", "created_at")),)),
    "order by select alias of a column": Case(
        "SELECT o.created_at AS placed FROM orders o WHERE o.customer_id = 5 "
        "ORDER BY placed DESC LIMIT 10",
        (P("orders", alias="o", equality={"customer_id": 1}, order_by=(("created_at", "desc"),),
           read=("created_at", "customer_id"), limit=10),),
        limit=10),
    "multi-column order by": Case(
        "SELECT o.* FROM orders o WHERE o.customer_id = 3 ORDER BY o.created_at DESC, o.id DESC "
        "LIMIT 10",
        (P("orders", alias="o", equality={"customer_id": 1},
           order_by=(("created_at", "desc"), ("id", "desc")),
           read=("customer_id", "created_at", "id"), star=True, limit=10),),
        limit=10),
    "qualified database name": Case(
        "SELECT email FROM shop.customers WHERE email = 'ann@example.com'",
        (P("shop.customers", equality={"email": 1}, read=("email",)),)),
    "use statement sets the database": Case(
        "USE shop; SELECT id FROM orders WHERE id = 10",
        (P("shop.orders", equality={"id": 1}, read=("id",)),)),
    # -- joins --------------------------------------------------------------------------
    "orders join customers": Case(
        "SELECT o.id, c.email FROM orders o JOIN customers c ON c.id = o.customer_id "
        "WHERE o.status = 'paid' AND c.country = 'TR' ORDER BY o.created_at DESC LIMIT 20",
        (P("orders", alias="o", equality={"status": 1},
           joins=(J("customer_id", "customers", "id"),),
           order_by=(("created_at", "desc"),), read=("id", "customer_id", "status", "created_at"),
           limit=20),
         P("customers", alias="c", driving=False, equality={"country": 1},
           joins=(J("id", "orders", "customer_id"),), read=("email", "id", "country"))),
        limit=20),
    "order by a joined table is not the driving table's": Case(
        "SELECT o.id FROM orders o JOIN customers c ON c.id = o.customer_id ORDER BY c.name",
        (P("orders", alias="o", joins=(J("customer_id", "customers", "id"),),
           read=("id", "customer_id")),
         P("customers", alias="c", driving=False, joins=(J("id", "orders", "customer_id"),),
           read=("id", "name"))),),
    "three-way join with constant in on": Case(
        "SELECT i.quantity, l.sku FROM orders o "
        "JOIN order_items i ON i.order_id = o.id "
        "LEFT JOIN marketplace_listings l ON l.id = i.listing_id AND l.marketplace = 'ebay' "
        "WHERE o.id = 77",
        (P("orders", alias="o", equality={"id": 1}, joins=(J("id", "order_items", "order_id"),),
           read=("id",)),
         P("order_items", alias="i", driving=False,
           joins=(J("order_id", "orders", "id"), J("listing_id", "marketplace_listings", "id")),
           read=("quantity", "order_id", "listing_id")),
         P("marketplace_listings", alias="l", driving=False, equality={"marketplace": 1},
           joins=(J("id", "order_items", "listing_id"),), read=("sku", "id", "marketplace")))),
    "join using": Case(
        "SELECT * FROM orders o JOIN order_items i USING (order_id) WHERE o.customer_id = 5",
        (P("orders", alias="o", equality={"customer_id": 1},
           joins=(J("order_id", "order_items", "order_id"),), read=("order_id", "customer_id"),
           star=True),
         P("order_items", alias="i", driving=False,
           joins=(J("order_id", "orders", "order_id"),), read=("order_id",), star=True))),
    "comma join in where": Case(
        "SELECT p.title FROM products p, marketplace_listings l WHERE l.product_id = p.id "
        "AND l.seller_id = 12",
        (P("products", alias="p", joins=(J("id", "marketplace_listings", "product_id"),),
           read=("title", "id")),
         P("marketplace_listings", alias="l", driving=False, equality={"seller_id": 1},
           joins=(J("product_id", "products", "id"),), read=("product_id", "seller_id")))),
    "self join keeps both references": Case(
        "SELECT a.id FROM audit_log a JOIN audit_log b ON b.entity_id = a.entity_id "
        "WHERE a.actor = 'bot' AND b.action = 'delete'",
        (P("audit_log", alias="a", equality={"actor": 1},
           joins=(J("entity_id", "audit_log", "entity_id"),), read=("id", "entity_id", "actor")),
         P("audit_log", alias="b", driving=False, equality={"action": 1},
           joins=(J("entity_id", "audit_log", "entity_id"),), read=("entity_id", "action")))),
    "join to an expression": Case(
        "SELECT s.id FROM user_sessions s JOIN customers c ON c.id = s.user_id + 0",
        (P("user_sessions", alias="s", read=("id", "user_id")),
         P("customers", alias="c", driving=False,
           joins=(J("id", "user_sessions", "s.user_id + 0"),), read=("id",)))),
    "anti-join is null is not an index filter": Case(
        "SELECT p.id FROM products p LEFT JOIN marketplace_listings l ON l.product_id = p.id "
        "AND l.marketplace = 'amazon' WHERE l.id IS NULL AND p.category = 'toys'",
        (P("products", alias="p", equality={"category": 1},
           joins=(J("id", "marketplace_listings", "product_id"),), read=("id", "category")),
         P("marketplace_listings", alias="l", driving=False, equality={"marketplace": 1},
           joins=(J("product_id", "products", "id"),), read=("product_id", "marketplace", "id")))),
    "right join: the preserved table is read first": Case(
        "SELECT c.email FROM orders o RIGHT JOIN customers c ON o.customer_id = c.id "
        "WHERE c.country = 'TR'",
        (P("orders", alias="o", driving=False, joins=(J("customer_id", "customers", "id"),),
           read=("customer_id",)),
         P("customers", alias="c", equality={"country": 1},
           joins=(J("id", "orders", "customer_id"),), read=("email", "id", "country")))),
    "right join anti-join is null is not an index filter": Case(
        "SELECT c.id FROM orders o RIGHT JOIN customers c ON o.customer_id = c.id "
        "WHERE o.id IS NULL AND c.country = 'TR'",
        (P("orders", alias="o", driving=False, joins=(J("customer_id", "customers", "id"),),
           read=("customer_id", "id")),
         P("customers", alias="c", equality={"country": 1},
           joins=(J("id", "orders", "customer_id"),), read=("id", "country")))),
    "mysql select options and index hints": Case(
        "SELECT SQL_NO_CACHE id FROM orders FORCE INDEX (PRIMARY) WHERE id = 1 FOR UPDATE",
        (P("orders", equality={"id": 1}, read=("id",)),)),
    # -- subqueries, derived tables, CTEs, UNION ------------------------------------------
    "in subquery": Case(
        "SELECT id, total FROM orders WHERE id IN (SELECT order_id FROM order_items "
        "WHERE product_id = 42)",
        (P("orders", equality={"id": None}, read=("id", "total")),
         P("order_items", equality={"product_id": 1}, read=("order_id", "product_id")))),
    "scalar subquery": Case(
        "SELECT * FROM orders WHERE id = (SELECT MAX(order_id) FROM order_items WHERE "
        "listing_id = 9)",
        (P("orders", equality={"id": 1}, read=("id",), star=True),
         P("order_items", equality={"listing_id": 1}, read=("order_id", "listing_id")))),
    "correlated not exists": Case(
        "SELECT p.id FROM products p WHERE NOT EXISTS (SELECT 1 FROM marketplace_listings l "
        "WHERE l.product_id = p.id AND l.marketplace = 'trendyol') AND p.category = 'toys'",
        (P("products", alias="p", equality={"category": 1},
           joins=(J("id", "marketplace_listings", "product_id"),), read=("id", "category")),
         P("marketplace_listings", alias="l", equality={"marketplace": 1},
           joins=(J("product_id", "products", "id"),), read=("product_id", "marketplace")))),
    "derived table is merged": Case(
        "SELECT d.sku FROM (SELECT id, sku AS s2, sku, marketplace FROM marketplace_listings "
        "WHERE stock = 0) AS d WHERE d.marketplace = 'amazon' AND d.s2 LIKE 'X%' LIMIT 5",
        (P("marketplace_listings", equality={"stock": 1, "marketplace": 1}, range=("sku",),
           read=("id", "sku", "marketplace", "stock"), limit=5),),
        limit=5),
    "grouped cte is materialised": Case(
        "WITH last AS (SELECT customer_id, MAX(created_at) AS m FROM orders "
        "WHERE status = 'paid' GROUP BY customer_id) "
        "SELECT c.email, last.m FROM customers c JOIN last ON last.customer_id = c.id "
        "WHERE c.country = 'DE'",
        (P("orders", equality={"status": 1}, group_by=("customer_id",),
           read=("customer_id", "created_at", "status")),
         P("customers", alias="c", equality={"country": 1}, read=("email", "id", "country")))),
    "union arms": Case(
        "SELECT sku FROM marketplace_listings WHERE marketplace = 'amazon' AND status = 'error' "
        "UNION ALL SELECT sku FROM products WHERE category = 'books' ORDER BY sku LIMIT 50",
        (P("marketplace_listings", equality={"marketplace": 1, "status": 1},
           read=("sku", "marketplace", "status")),
         P("products", equality={"category": 1}, read=("sku", "category"))),
        limit=50),
    "union in a derived table stays opaque": Case(
        "SELECT u.id FROM (SELECT id FROM orders WHERE status = 'refunded' UNION "
        "SELECT order_id FROM order_items WHERE quantity > 10) u WHERE u.id > 100",
        (P("orders", equality={"status": 1}, read=("id", "status")),
         P("order_items", range=("quantity",), read=("order_id", "quantity")))),
    # -- writes -------------------------------------------------------------------------
    "session expiry clean-up": Case(
        "DELETE FROM user_sessions WHERE expires_at < NOW() ORDER BY expires_at LIMIT 1000",
        (P("user_sessions", range=("expires_at",), order_by=(("expires_at", "asc"),),
           read=("expires_at",), limit=1000),),
        kind="delete", limit=1000, written=("user_sessions",)),
    "update listing stock by sku": Case(
        "UPDATE marketplace_listings SET stock = stock - 1, updated_at = NOW() "
        "WHERE marketplace = 'ebay' AND sku = 'SKU-1'",
        (P("marketplace_listings", equality={"marketplace": 1, "sku": 1},
           read=("stock", "marketplace", "sku")),),
        kind="update", written=("marketplace_listings",)),
    "multi-table update": Case(
        "UPDATE listing_sync_jobs j JOIN marketplace_listings l ON l.id = j.listing_id "
        "SET j.status = 'pending' WHERE l.seller_id = 3 AND j.status = 'failed'",
        (P("listing_sync_jobs", alias="j", equality={"status": 1},
           joins=(J("listing_id", "marketplace_listings", "id"),),
           read=("listing_id", "status")),
         P("marketplace_listings", alias="l", driving=False, equality={"seller_id": 1},
           joins=(J("id", "listing_sync_jobs", "listing_id"),), read=("id", "seller_id"))),
        kind="update", written=("listing_sync_jobs",)),
    "multi-table delete": Case(
        "DELETE j FROM listing_sync_jobs j JOIN marketplace_listings l ON l.id = j.listing_id "
        "WHERE l.status = 'paused'",
        (P("listing_sync_jobs", alias="j", joins=(J("listing_id", "marketplace_listings", "id"),),
           read=("listing_id",)),
         P("marketplace_listings", alias="l", driving=False, equality={"status": 1},
           joins=(J("id", "listing_sync_jobs", "listing_id"),), read=("id", "status"))),
        kind="delete", written=("listing_sync_jobs",)),
    "delete with a cte": Case(
        "WITH stale AS (SELECT id FROM user_sessions WHERE last_seen < '2024-01-01') "
        "DELETE FROM user_sessions WHERE id IN (SELECT id FROM stale)",
        (P("user_sessions", range=("last_seen",), read=("id", "last_seen")),
         P("user_sessions", equality={"id": None}, read=("id",))),
        kind="delete", written=("user_sessions",)),
    "insert select": Case(
        "INSERT INTO listing_sync_jobs (listing_id, marketplace, job_type, status) "
        "SELECT id, marketplace, 'stock', 'pending' FROM marketplace_listings "
        "WHERE synced_at < '2024-05-01' LIMIT 1000",
        (P("marketplace_listings", range=("synced_at",), read=("id", "marketplace", "synced_at"),
           limit=1000),),
        kind="insert", limit=1000, written=("listing_sync_jobs",)),
    "replace into values": Case(
        "REPLACE INTO user_sessions (token, user_id) VALUES ('t0k', 5)",
        (), kind="insert", written=("user_sessions",)),
    "replace after a comment": Case(
        "/* app:sync */ REPLACE INTO listing_sync_jobs (listing_id, status) "
        "SELECT id, 'pending' FROM marketplace_listings WHERE seller_id = 9",
        (P("marketplace_listings", equality={"seller_id": 1}, read=("id", "seller_id")),),
        kind="insert", written=("listing_sync_jobs",)),
    # -- non-sargable shapes ------------------------------------------------------------
    "function on column": Case(
        "SELECT id FROM orders WHERE DATE(created_at) = '2024-05-01' AND customer_id = 9",
        (P("orders", equality={"customer_id": 1}, read=("id", "created_at", "customer_id")),),
        findings=[("function_on_column", "orders", "created_at")]),
    "lower on column": Case(
        "SELECT id FROM customers WHERE LOWER(email) = 'ann@example.com'",
        (P("customers", read=("id", "email")),),
        findings=[("function_on_column", "customers", "email")]),
    "arithmetic on column": Case(
        "SELECT id FROM marketplace_listings WHERE stock + 1 > 10",
        (P("marketplace_listings", read=("id", "stock")),),
        findings=[("function_on_column", "marketplace_listings", "stock")]),
    "function on column in like and between": Case(
        "SELECT id FROM audit_log WHERE UPPER(actor) LIKE 'ADM%' AND YEAR(created_at) "
        "BETWEEN 2020 AND 2022",
        (P("audit_log", read=("id", "actor", "created_at")),),
        findings=[("function_on_column", "audit_log", "actor"),
                  ("function_on_column", "audit_log", "created_at")]),
    "leading wildcard": Case(
        "SELECT id FROM products WHERE title LIKE '%phone%' AND brand = 'Acme'",
        (P("products", equality={"brand": 1}, read=("id", "title", "brand")),),
        findings=[("leading_wildcard", "products", "title")]),
    "or across columns": Case(
        "SELECT id FROM customers WHERE email = 'a@b.c' OR name = 'Ann'",
        (P("customers", read=("id", "email", "name")),),
        findings=[("or_across_columns", "customers", None)]),
    "deep offset": Case(
        "SELECT id, sku FROM marketplace_listings WHERE marketplace = 'ebay' ORDER BY id "
        "LIMIT 50 OFFSET 20000",
        (P("marketplace_listings", equality={"marketplace": 1}, order_by=(("id", "asc"),),
           read=("id", "sku", "marketplace"), limit=50),),
        findings=[("deep_offset", "marketplace_listings", None)], limit=50, offset=20000),
    "mysql limit offset form under the threshold": Case(
        "SELECT id FROM orders ORDER BY id LIMIT 900, 100",
        (P("orders", order_by=(("id", "asc"),), read=("id",), limit=100),),
        limit=100, offset=900),
    "not in as the only predicate": Case(
        "SELECT id FROM orders WHERE status NOT IN ('cancelled', 'refunded')",
        (P("orders", read=("id", "status")),),
        findings=[("negation_only", "orders", "status")]),
    "not equal as the only predicate": Case(
        "SELECT id FROM listing_sync_jobs WHERE status != 'done' AND attempts <> 0",
        (P("listing_sync_jobs", read=("id", "status", "attempts")),),
        findings=[("negation_only", "listing_sync_jobs", "status")]),
    "not like and not between as the only predicates": Case(
        "SELECT id FROM products WHERE sku NOT LIKE 'TEST-%' AND base_price NOT BETWEEN 1 AND 5",
        (P("products", read=("id", "sku", "base_price")),),
        findings=[("negation_only", "products", "sku")]),
    "negation next to an equality is fine": Case(
        "SELECT id FROM orders WHERE customer_id = 4 AND status <> 'cancelled'",
        (P("orders", equality={"customer_id": 1}, read=("id", "customer_id", "status")),)),
    "unqualified column in a join without catalog": Case(
        "SELECT o.id FROM orders o JOIN customers c ON c.id = o.customer_id WHERE country = 'TR'",
        (P("orders", alias="o", joins=(J("customer_id", "customers", "id"),),
           read=("id", "customer_id")),
         P("customers", alias="c", driving=False, joins=(J("id", "orders", "customer_id"),),
           read=("id",))),
        findings=[("unresolved_column", None, "country")]),
}


def _findings(result) -> list[tuple[str, str | None, str | None]]:
    return [(f.kind, f.table, f.column) for f in result.findings]


@pytest.mark.parametrize("name", list(CASES))
def test_marketplace_statement(name: str) -> None:
    case = CASES[name]
    result = access_patterns(case.sql)
    assert result.accesses == case.accesses
    assert _findings(result) == case.findings
    assert (result.kind, result.limit, result.offset, result.written) == (
        case.kind, case.limit, case.offset, case.written)
    assert all(f.message for f in result.findings)


SCHEMA = """
CREATE TABLE customers (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT, email VARCHAR(120) NOT NULL,
  name VARCHAR(120) NOT NULL, country CHAR(2) NOT NULL, created_at DATETIME NOT NULL,
  PRIMARY KEY (id)) ENGINE=InnoDB;
CREATE TABLE orders (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT, customer_id BIGINT UNSIGNED NOT NULL,
  status ENUM('pending','paid','shipped') NOT NULL, total DECIMAL(12,2) NOT NULL,
  created_at DATETIME NOT NULL, PRIMARY KEY (id)) ENGINE=InnoDB;
CREATE TABLE marketplace_listings (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT, sku VARCHAR(40) NOT NULL,
  external_id VARCHAR(40) NOT NULL, stock INT NOT NULL, PRIMARY KEY (id)) ENGINE=InnoDB;
"""


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.from_ddl(SCHEMA)


def test_string_column_compared_to_number_is_not_indexed(catalog) -> None:
    sql = "SELECT id FROM customers WHERE email = 12345 AND country = 'TR'"
    result = access_patterns(sql, catalog=catalog)
    assert result.tables["customers"].equality == {"country": 1}
    assert _findings(result) == [("implicit_conversion", "customers", "email")]
    assert "12345" in result.findings[0].message and "varchar(120)" in result.findings[0].message
    # without a catalog the type is unknown: no finding, the column counts as equality
    plain = access_patterns(sql)
    assert plain.tables["customers"].equality == {"email": 1, "country": 1}
    assert plain.findings == []


def test_in_list_of_numbers_on_string_column(catalog) -> None:
    result = access_patterns("SELECT id FROM marketplace_listings WHERE sku IN (1001, 1002)",
                             catalog=catalog)
    assert result.tables["marketplace_listings"].equality == {}
    assert _findings(result) == [("implicit_conversion", "marketplace_listings", "sku")]


def test_number_column_compared_to_string_is_fine(catalog) -> None:
    result = access_patterns("SELECT id FROM orders WHERE customer_id = '42' AND id IN ('7')",
                             catalog=catalog)
    assert result.tables["orders"].equality == {"customer_id": 1, "id": 1}
    assert result.findings == []


def test_join_of_string_and_number_columns(catalog) -> None:
    result = access_patterns(
        "SELECT o.id FROM orders o JOIN marketplace_listings l ON l.external_id = o.id",
        catalog=catalog)
    assert result.tables["orders"].joins == (J("id", "marketplace_listings", "external_id"),)
    assert result.tables["marketplace_listings"].joins == ()
    assert _findings(result) == [("implicit_conversion", "marketplace_listings", "external_id")]


def test_catalog_resolves_unqualified_columns_in_a_join(catalog) -> None:
    sql = ("SELECT o.id, email FROM orders o JOIN customers c ON c.id = o.customer_id "
           "WHERE country = 'TR' AND Status = 'paid' ORDER BY total DESC")
    result = access_patterns(sql, catalog=catalog)
    assert result.findings == []
    assert result.tables["customers"].equality == {"country": 1}
    assert result.tables["customers"].read == ("email", "id", "country")
    # the catalog's spelling wins: Status -> status
    assert result.tables["orders"].equality == {"status": 1}
    assert result.tables["orders"].order_by == (("total", "desc"),)
    # created_at is in both tables: the catalog cannot tell, so it stays unresolved
    both = access_patterns(sql.replace("ORDER BY total", "ORDER BY created_at"), catalog=catalog)
    assert _findings(both) == [("unresolved_column", None, "created_at")]
    assert "orders, customers" in both.findings[0].message
    assert both.tables["orders"].order_by == ()


def test_catalog_resolves_correlated_column_to_the_outer_table(catalog) -> None:
    sql = ("SELECT c.id FROM customers c WHERE EXISTS (SELECT 1 FROM orders "
           "WHERE customer_id = c.id AND country = 'TR')")
    result = access_patterns(sql, catalog=catalog)
    assert result.accesses == (
        P("customers", alias="c", equality={"country": 1},
          joins=(J("id", "orders", "customer_id"),), read=("id", "country")),
        P("orders", joins=(J("customer_id", "customers", "id"),), read=("customer_id",)),
    )
    assert result.findings == []


def test_default_db_qualifies_tables_and_catalog_still_applies(catalog) -> None:
    result = access_patterns("SELECT id FROM customers WHERE email = 7", default_db="shop",
                             catalog=catalog)
    assert list(result.tables) == ["shop.customers"]
    assert _findings(result) == [("implicit_conversion", "shop.customers", "email")]


@pytest.mark.parametrize("sql", [
    "", "   ", "SELEC id FROM orders", "SELECT * FROM orders WHERE (", "SELECT 'unterminated",
    "SELECT 1; SELECT 2", "\x00\xff garbage", "orders.id = 5", "SELECT * FROM",
])
def test_unparsable_statements_never_raise(sql: str) -> None:
    result = access_patterns(sql)
    assert result.kind == "other"
    assert result.tables == {}
    assert [f.kind for f in result.findings] == ["unparsable"]
    assert "\n" not in result.findings[0].message


def test_pathological_statements_stay_bounded() -> None:
    nested = access_patterns("SELECT * FROM t WHERE " + "(" * 300 + "a = 1" + ")" * 300)
    assert [f.kind for f in nested.findings] == ["unparsable"]
    wide = access_patterns("SELECT id FROM t WHERE "
                           + " OR ".join(f"c{i} = {i}" for i in range(200)))
    assert [f.kind for f in wide.findings] == ["or_across_columns"]
    assert wide.findings[0].message.startswith("OR across different columns (t.c0, t.c1, t.c2, "
                                               "t.c3 and 196 more)")


@pytest.mark.parametrize("sql", ["SHOW TABLES", "SET NAMES utf8mb4", "COMMIT",
                                 "SELECT @@version", "SELECT NOW()"])
def test_statements_without_tables(sql: str) -> None:
    result = access_patterns(sql)
    assert (result.tables, result.findings) == ({}, [])
    assert result.kind == ("select" if sql.startswith("SELECT") else "other")


def test_tables_maps_a_repeated_table_to_its_first_reference() -> None:
    result = access_patterns(CASES["self join keeps both references"].sql)
    assert list(result.tables) == ["audit_log"]
    assert result.tables["audit_log"] is result.accesses[0]
    assert result.accesses[1].alias == "b"


def test_results_are_cached_per_statement_and_catalog(catalog) -> None:
    sql = "SELECT id FROM customers WHERE email = 99"
    first = access_patterns(sql)
    assert access_patterns(sql) is first
    with_catalog = access_patterns(sql, catalog=catalog)
    assert with_catalog is not first
    assert [f.kind for f in with_catalog.findings] == ["implicit_conversion"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.kind = "update"  # type: ignore[misc]


_WORDS = ["SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "IN", "(", ")", ",", "=", "<", "LIKE",
          "'%a'", "'a%'", "1", "?", "orders", "o", "o.id", "customer_id", "JOIN", "ON", "USING",
          "GROUP BY", "ORDER BY", "LIMIT", "OFFSET", "UNION", "WITH", "AS", "UPDATE", "SET",
          "DELETE", "INSERT INTO", "VALUES", "BETWEEN", "IS", "NULL", "*", "DATE(created_at)",
          "EXISTS", "DESC", "`q`", "@v", "/*", "*/", ";", "REPLACE", "+", "!="]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.text(max_size=60),
                 st.lists(st.sampled_from(_WORDS), max_size=25).map(" ".join)))
def test_never_raises(sql: str) -> None:
    result = access_patterns(sql)
    assert result.kind in ("select", "insert", "update", "delete", "other")
    assert all(f.kind in FINDING_KINDS and f.message for f in result.findings)


def test_marketplace_workload_templates_on_the_fixture_schema() -> None:
    """Every template of the marketplace workload is understood on its own schema."""
    root = Path(__file__).resolve().parent.parent
    schema = Catalog.from_ddl(root / "fixtures" / "marketplace" / "schema.sql")
    spec = marketplace_spec(0.1)
    kinds = {t.name: t.kind for t in spec.templates}
    samples: dict[str, str] = {}
    for name, sql in spec.statements(5000, seed=7):
        samples.setdefault(name, sql)
        if len(samples) == len(kinds):
            break
    assert set(samples) == set(kinds)
    results = {name: access_patterns(sql, catalog=schema) for name, sql in samples.items()}
    for name, result in results.items():
        # OFFSET pagination templates may draw a deep page; nothing else is non-sargable
        assert {f.kind for f in result.findings} <= {"deep_offset"}, (name, result.findings)
        assert (result.kind == "select") == (kinds[name] == "read"), name
        if result.kind != "insert":
            assert any(p.equality or p.range for p in result.accesses), name
    assert results["listing_sync_window"].tables["marketplace_listings"] == P(
        "marketplace_listings", equality={"marketplace": 1}, range=("updated_at",),
        order_by=(("updated_at", "asc"),),
        read=("id", "sku", "price", "stock", "status", "marketplace", "updated_at"), limit=500)
    assert results["session_by_token"].tables["user_sessions"].equality == {"token": 1}
    audit = results["audit_by_entity"].tables["audit_log"]
    assert (audit.equality, audit.order_by) == ({"entity_type": 1, "entity_id": 1},
                                                (("created_at", "desc"),))
    orders = results["orders_by_customer"].tables["orders"]
    assert (orders.equality, orders.range) == ({"customer_id": 1}, ("created_at",))


EXPLAIN_TABLE = """CREATE TABLE orders (
  id INT NOT NULL AUTO_INCREMENT, customer_id INT NOT NULL, email VARCHAR(120) NOT NULL,
  code VARCHAR(20) NOT NULL, total DECIMAL(10,2) NOT NULL, created_at DATETIME NOT NULL,
  PRIMARY KEY (id), KEY ix_customer_id (customer_id), KEY ix_email (email),
  KEY ix_code (code), KEY ix_total (total), KEY ix_created_at (created_at)) ENGINE=InnoDB"""

#: (WHERE clause, the indexed column it filters on)
EXPLAIN_PREDICATES = [
    ("customer_id = 17", "customer_id"),
    ("customer_id + 1 = 18", "customer_id"),
    ("email = 'user42@mail.example'", "email"),
    ("LOWER(email) = 'user42@mail.example'", "email"),
    ("email LIKE 'user42%'", "email"),
    ("email LIKE '%42@mail.example'", "email"),
    ("code = '100042'", "code"),
    ("code = 100042", "code"),
    ("total > 998", "total"),
    ("total + 1 > 999", "total"),
    ("created_at >= '2024-06-01' AND created_at < '2024-06-02'", "created_at"),
    ("DATE(created_at) = '2024-06-01'", "created_at"),
]


@pytest.mark.server
def test_agrees_with_the_optimizer_on_what_an_index_can_serve(dbtune_server,
                                                              dbtune_database) -> None:
    """A column is indexed by us exactly when MariaDB's EXPLAIN seeks its index."""
    rows = [(i % 800, f"user{i}@mail.example", str(100000 + i), i % 1000 + 0.5, i)
            for i in range(4000)]
    with dbtune_server.connect(dbtune_database) as conn, conn.cursor() as cursor:
        cursor.execute(EXPLAIN_TABLE)
        cursor.executemany(
            "INSERT INTO orders (customer_id, email, code, total, created_at) VALUES "
            "(%s, %s, %s, %s, '2024-01-01' + INTERVAL %s HOUR)",
            rows)
        cursor.execute("ANALYZE TABLE orders")
        cursor.fetchall()
        schema = Catalog.from_server(conn, dbtune_database)
        verdicts = []
        for where, column in EXPLAIN_PREDICATES:
            sql = f"SELECT * FROM orders WHERE {where}"
            cursor.execute(f"EXPLAIN {sql}")
            names = [d[0] for d in cursor.description]
            plan = dict(zip(names, cursor.fetchone(), strict=True))
            server = plan["type"] in ("const", "eq_ref", "ref", "range") and (
                plan["key"] == f"ix_{column}")
            ours = access_patterns(sql, catalog=schema)
            pattern = ours.tables["orders"]
            indexed = column in pattern.equality or column in pattern.range
            verdicts.append((where, server, indexed, bool(ours.findings)))
    # the table alternates a sargable predicate and its non-sargable twin
    assert [s for _, s, _, _ in verdicts] == [True, False] * 6, verdicts
    assert [(w, s) for w, s, _, _ in verdicts] == [(w, i) for w, _, i, _ in verdicts]
    assert [(w, not s) for w, s, _, _ in verdicts] == [(w, f) for w, _, _, f in verdicts]

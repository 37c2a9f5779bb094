"""The shape of the marketplace data, shared by the generator and the workload spec.

Keys (which ids exist, SKUs, e-mails, session tokens) depend only on the scale, so a
workload spec built for a scale finds the rows a loader put there whatever its seed;
the seed only decides the values (prices, times, statuses, who bought what).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property

import numpy as np

#: The fixture's "now": every timestamp is relative to it, so loads are reproducible.
NOW = datetime(2026, 6, 1, 0, 0, 0)
MARKETPLACES = ("ebay", "trendyol", "amazon")
SKU_PREFIX = {"ebay": "EB", "trendyol": "TY", "amazon": "AMZ"}
CATEGORIES = (
    "electronics", "home", "garden", "toys", "fashion", "beauty", "sports", "books",
    "automotive", "pet", "office", "kitchen",
)
BRANDS = (
    "Acme", "Bolt", "Cedar", "Delta", "Ember", "Falcon", "Granite", "Harbor", "Iris", "Juniper",
    "Kestrel", "Lumen", "Meadow", "Nimbus", "Orion", "Pioneer", "Quartz", "Ridge", "Summit",
    "Tundra",
)
NOUNS = (
    "Kettle", "Lamp", "Backpack", "Charger", "Headphones", "Blender", "Sneakers", "Jacket",
    "Drill", "Mug", "Tent", "Watch", "Speaker", "Cable", "Pillow", "Toaster", "Scooter",
    "Camera", "Keyboard", "Mouse", "Router", "Bottle", "Chair", "Desk",
)
ENTITY_TYPES = ("listing", "order", "product", "sync_job", "customer")
ENTITY_SHARE = (0.50, 0.25, 0.10, 0.10, 0.05)


class _Scaled:
    """A table's row count: ``base`` rows at scale 1.0, scaled, at least 10.

    >>> Sizes(0.5).orders, Sizes(0.00001).orders
    (85000, 10)
    """

    def __init__(self, base: int) -> None:
        self.base = base

    def __get__(self, sizes: Sizes, owner: type | None = None) -> int:
        return max(10, int(self.base * sizes.scale))


@dataclass(frozen=True)
class Sizes:
    """Row counts of the key tables at a scale (scale 1.0 is the calibrated default)."""

    scale: float

    products = _Scaled(40_000)
    sellers = _Scaled(2_000)
    sync_jobs = _Scaled(200_000)
    customers = _Scaled(60_000)
    orders = _Scaled(170_000)
    sessions = _Scaled(150_000)
    audit = _Scaled(700_000)

    @property
    def listings(self) -> int:
        return 3 * self.products

    def entity_count(self, entity_type: str) -> int:
        """How many ids an audit_log entity_type ranges over."""
        return {
            "listing": self.listings, "order": self.orders, "product": self.products,
            "sync_job": self.sync_jobs, "customer": self.customers,
        }[entity_type]


class Zipf:
    """Bounded Zipf-like popularity over ids 1..n; rank r maps to a fixed, scattered id.

    Popular ids are spread over the key range (not just the lowest ids) by a
    multiplicative permutation that depends only on n.
    """

    def __init__(self, n: int, exponent: float) -> None:
        self.n = n
        weights = np.arange(1, n + 1, dtype=np.float64) ** -exponent
        self._cdf = np.cumsum(weights / weights.sum())
        self._stride = _coprime_stride(n)

    def sample(self, rng: np.random.Generator, size: int | None = None) -> np.ndarray | int:
        """Ids (1-based) drawn by popularity; an int when size is None."""
        count = 1 if size is None else size
        ranks = np.minimum(np.searchsorted(self._cdf, rng.random(count)), self.n - 1)
        ids = (ranks * self._stride) % self.n + 1
        return int(ids[0]) if size is None else ids


def _coprime_stride(n: int) -> int:
    stride = int(n * 0.6180339887) | 1
    while np.gcd(stride, n) != 1:
        stride += 2
    return stride


class Distributions:
    """The skewed distributions the data is drawn from, reused by the workload's parameters."""

    def __init__(self, scale: float) -> None:
        self.sizes = Sizes(scale)
        self._entities: dict[str, Zipf] = {}

    @cached_property
    def products(self) -> Zipf:
        return Zipf(self.sizes.products, 1.05)

    @cached_property
    def sellers(self) -> Zipf:
        return Zipf(self.sizes.sellers, 1.2)

    @cached_property
    def customers(self) -> Zipf:
        return Zipf(self.sizes.customers, 0.8)

    def entity(self, entity_type: str) -> Zipf:
        """Popularity of the ids of one audit_log entity_type."""
        if entity_type not in self._entities:
            exponent = {"listing": 1.05, "product": 1.05, "customer": 0.8}.get(entity_type, 0.6)
            self._entities[entity_type] = Zipf(self.sizes.entity_count(entity_type), exponent)
        return self._entities[entity_type]


def listing_id(product_id: int | np.ndarray,
               marketplace_index: int | np.ndarray) -> int | np.ndarray:
    """Every product is listed once on each marketplace: ids 3*(p-1)+1 .. 3*(p-1)+3."""
    return (product_id - 1) * 3 + marketplace_index + 1


def product_sku(product_id: int) -> str:
    return f"P{product_id:07d}"


def listing_sku(marketplace: str, product_id: int) -> str:
    return f"{SKU_PREFIX[marketplace]}-{product_id:07d}"


def customer_email(customer_id: int) -> str:
    return f"customer{customer_id}@mail.example"


def session_token(session_id: int) -> str:
    """The 40-hex token of session ``session_id`` (deterministic, so workloads can find it)."""
    return hashlib.sha1(f"session:{session_id}".encode()).hexdigest()


def product_title(product_id: int) -> str:
    brand = BRANDS[(product_id * 7) % len(BRANDS)]
    noun = NOUNS[(product_id * 13) % len(NOUNS)]
    return f"{brand} {noun} {product_id % 1000:03d}"


def ago(days: float) -> datetime:
    """NOW minus ``days`` (fractional days allowed), to the second."""
    return (NOW - timedelta(days=days)).replace(microsecond=0)

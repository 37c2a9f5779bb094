"""The shared Advice shape: every advisor's plan converts to it, with runnable DDL."""

from pathlib import Path

from dbtune.advise import advise_indexes, find_hygiene
from dbtune.catalog import Catalog
from dbtune.digest import digest_slowlog
from dbtune.report import render


def test_index_plan_converts_to_advice_with_ddl_and_rollback():
    # the marketplace fixture's schema (primary keys only) with two duplicate indexes
    cat = Catalog.from_ddl(Path("fixtures/marketplace/schema.sql").read_text()
                           + "CREATE INDEX ix_c ON orders (customer_id);"
                           "CREATE INDEX ix_c2 ON orders (customer_id);")
    digest = digest_slowlog(["fixtures/slowlogs/example-marketplace.log"])
    plan = advise_indexes(digest.classes, cat, hygiene=find_hygiene(cat))
    advice = plan.to_advice()
    kinds = [a.kind for a in advice]
    assert kinds.count("add_index") == len(plan.advice) > 0 and plan.drops
    assert len(advice) == len(plan.advice) + len(plan.drops)
    for a in advice:
        assert a.ddl and a.rollback and a.reasons
        assert all(s.startswith("ALTER TABLE ") and not s.endswith(";") for s in a.ddl + a.rollback)
        assert a.to_dict()["basis"] == "estimated"
    added = next(a for a in advice if a.kind == "add_index")
    assert added.effects and added.effects[0].class_id in {c.id for c in digest.classes}


def test_render_redacts_dsn_passwords_in_every_format():
    class Result:
        def to_document(self):
            return {"server": "mysql://root:s3cr@t@db:3306/"}

        def rows(self):
            return [self.to_document()]

        def sections(self):
            from dbtune.report import Section
            return [Section("Server", rows=self.rows(), text="mysql://root:s3cr@t@db:3306/")]

    for fmt in ("table", "markdown", "json", "csv", "html"):
        out = render(Result(), fmt)
        assert "s3cr" not in out and "t@db" not in out and "db:3306" in out, fmt

"""A live server's catalog: read-only queries on information_schema, assembled into tables.

:func:`load_catalog` is the entry the CLI uses: DDL files, or a database on a server by DSN.
"""

from __future__ import annotations

import contextlib
import json
import warnings
from pathlib import Path

from dbtune.catalog.histogram import Points, mariadb_points, mysql_points
from dbtune.catalog.model import Catalog, Column, ForeignKey, Index, Partitioning, Table
from dbtune.catalog.sqltext import expression_list, normalize_type, partition_expression
from dbtune.model import InputError


def read_catalog(connection, database: str) -> list[Table]:
    """The base tables of ``database`` with columns, indexes, FKs, partitions and statistics.

    Only SELECTs (and, on MySQL 8, ``information_schema_stats_expiry = 0`` for this session so
    row counts are fresh). A table listed but gone by the time its columns are read is skipped
    with a warning.
    """
    import pymysql

    def rows(sql: str, *args, optional: bool = False) -> list[dict]:
        try:
            with connection.cursor(pymysql.cursors.DictCursor) as cur:
                cur.execute(sql, args)
                return [{k.upper(): v for k, v in r.items()} for r in cur.fetchall()]
        except (
            pymysql.err.OperationalError,
            pymysql.err.ProgrammingError,
            pymysql.err.InternalError,
        ):
            if optional:
                return []
            raise

    rows("SET SESSION information_schema_stats_expiry = 0", optional=True)
    version = rows("SELECT VERSION() AS V")[0]["V"]
    stat_cols = {
        r["COLUMN_NAME"].upper()
        for r in rows(
            "SELECT COLUMN_NAME FROM information_schema.COLUMNS "
            "WHERE TABLE_SCHEMA = 'information_schema' AND TABLE_NAME = 'STATISTICS'"
        )
    }
    extra = [c for c in ("IS_VISIBLE", "IGNORED", "EXPRESSION") if c in stat_cols]
    tables = rows(
        "SELECT TABLE_NAME, ENGINE, TABLE_ROWS, DATA_LENGTH, INDEX_LENGTH, TABLE_COMMENT "
        "FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s AND TABLE_TYPE = 'BASE TABLE' "
        "ORDER BY TABLE_NAME",
        database,
    )
    columns = rows(
        "SELECT TABLE_NAME, COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, EXTRA, GENERATION_EXPRESSION "
        "FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %s "
        "ORDER BY TABLE_NAME, ORDINAL_POSITION",
        database,
    )
    stats = rows(
        "SELECT TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX, COLUMN_NAME, SUB_PART, NON_UNIQUE, "
        "CARDINALITY, INDEX_TYPE, COLLATION"
        + "".join(f", {c}" for c in extra)
        + " FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = %s",
        database,
    )
    fks = rows(
        "SELECT CONSTRAINT_NAME, TABLE_NAME, COLUMN_NAME, REFERENCED_TABLE_SCHEMA, "
        "REFERENCED_TABLE_NAME, REFERENCED_COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE "
        "WHERE TABLE_SCHEMA = %s AND REFERENCED_TABLE_NAME IS NOT NULL "
        "ORDER BY TABLE_NAME, CONSTRAINT_NAME, ORDINAL_POSITION",
        database,
    )
    fk_rules = rows(
        "SELECT TABLE_NAME, CONSTRAINT_NAME, DELETE_RULE, UPDATE_RULE "
        "FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = %s",
        database,
    )
    parts = rows(
        "SELECT TABLE_NAME, PARTITION_NAME, PARTITION_METHOD, PARTITION_EXPRESSION "
        "FROM information_schema.PARTITIONS WHERE TABLE_SCHEMA = %s "
        "AND PARTITION_NAME IS NOT NULL ORDER BY TABLE_NAME, PARTITION_ORDINAL_POSITION",
        database,
    )
    sizes = rows(
        "SELECT s.TABLE_NAME, s.INDEX_NAME, s.STAT_VALUE * @@innodb_page_size AS BYTES "
        "FROM mysql.innodb_index_stats s WHERE s.DATABASE_NAME = %s AND s.STAT_NAME = 'size'",
        database,
        optional=True,
    )
    histograms = rows(
        "SELECT TABLE_NAME, COLUMN_NAME, HISTOGRAM FROM information_schema.COLUMN_STATISTICS "
        "WHERE SCHEMA_NAME = %s",
        database,
        optional=True,
    )
    column_stats = rows(
        "SELECT table_name AS TABLE_NAME, column_name AS COLUMN_NAME, nulls_ratio AS NULLS, "
        "avg_frequency AS FREQ, min_value AS LOW, max_value AS HIGH, hist_type AS HIST_TYPE, "
        "histogram AS HISTOGRAM FROM mysql.column_stats WHERE db_name = %s",
        database,
        optional=True,
    )
    found = assemble(database, tables, columns, stats, fks, parts, sizes, histograms, column_stats,
                     fk_rules)
    for table in found:
        table.flavour = "mariadb" if "mariadb" in version.lower() else "mysql"
    return found


def assemble(
    database: str,
    tables: list[dict],
    columns: list[dict],
    stats: list[dict],
    fks: list[dict] = (),
    parts: list[dict] = (),
    sizes: list[dict] = (),
    histograms: list[dict] = (),
    column_stats: list[dict] = (),
    fk_rules: list[dict] = (),
) -> list[Table]:
    """Build tables from information_schema rows (upper-case keys); see :func:`read_catalog`."""
    by_table: dict[str, Table] = {}
    for row in tables:
        by_table[row["TABLE_NAME"]] = Table(
            row["TABLE_NAME"],
            database,
            rows=_int(row["TABLE_ROWS"]),
            data_bytes=_int(row["DATA_LENGTH"]),
            index_bytes=_int(row["INDEX_LENGTH"]),
            engine=row["ENGINE"],
            comment=row["TABLE_COMMENT"] or None,
        )
    for row in columns:
        table = by_table.get(row["TABLE_NAME"])
        if table is None:
            continue
        generated = row.get("GENERATION_EXPRESSION") or None
        if generated:
            with contextlib.suppress(ValueError):
                generated = expression_list(generated)[0]
        table.columns[row["COLUMN_NAME"]] = Column(
            row["COLUMN_NAME"],
            normalize_type(row["COLUMN_TYPE"]),
            row["IS_NULLABLE"] == "YES",
            generated=generated,
            stored="STORED" in (row.get("EXTRA") or "").upper()
            or "PERSISTENT" in (row.get("EXTRA") or "").upper(),
        )
    for name in [n for n, t in by_table.items() if not t.columns]:
        warnings.warn(f"table {database}.{name} vanished while reading; skipped", stacklevel=2)
        del by_table[name]

    first_cardinality: dict[tuple[str, str], int] = {}
    for row in sorted(stats, key=lambda r: (r["TABLE_NAME"], r["SEQ_IN_INDEX"])):
        table = by_table.get(row["TABLE_NAME"])
        if table is None:
            continue
        index = table.index(row["INDEX_NAME"])
        if index is None:
            kind = (row["INDEX_TYPE"] or "BTREE").upper()
            index = Index(
                row["INDEX_NAME"],
                [],
                unique=not int(row["NON_UNIQUE"]),
                primary=row["INDEX_NAME"] == "PRIMARY",
                visible=row.get("IS_VISIBLE", "YES") != "NO" and row.get("IGNORED", "NO") != "YES",
                kind=kind if kind in ("FULLTEXT", "SPATIAL", "HASH") else "BTREE",
            )
            table.indexes.append(index)
        if row["COLUMN_NAME"] is None and row.get("EXPRESSION"):
            try:
                part = expression_list(row["EXPRESSION"])[0]
            except ValueError:
                part = row["EXPRESSION"]
            index.columns.append(part)
            index.expressions.append(True)
        else:
            index.columns.append(row["COLUMN_NAME"])
            index.expressions.append(False)
        # SPATIAL keys report SUB_PART 32 (the MBR), not a column prefix
        index.prefix_lengths.append(None if index.kind == "SPATIAL" else _int(row["SUB_PART"]))
        index.descending.append(row["COLLATION"] == "D")
        index.cardinality = _int(row["CARDINALITY"])
        if row["SEQ_IN_INDEX"] == 1 and row["COLUMN_NAME"] and index.cardinality is not None:
            key = (row["TABLE_NAME"], row["COLUMN_NAME"].lower())
            first_cardinality[key] = max(first_cardinality.get(key, 0), index.cardinality)

    for row in fks:
        table = by_table.get(row["TABLE_NAME"])
        if table is None:
            continue
        fk = next((f for f in table.foreign_keys if f.name == row["CONSTRAINT_NAME"]), None)
        if fk is None:
            fk = ForeignKey(
                row["CONSTRAINT_NAME"],
                [],
                row["REFERENCED_TABLE_NAME"],
                [],
                row["REFERENCED_TABLE_SCHEMA"],
            )
            table.foreign_keys.append(fk)
        fk.columns.append(row["COLUMN_NAME"])
        fk.ref_columns.append(row["REFERENCED_COLUMN_NAME"])
    for row in fk_rules:
        table = by_table.get(row["TABLE_NAME"])
        fk = next((f for f in table.foreign_keys if f.name == row["CONSTRAINT_NAME"]),
                  None) if table is not None else None
        if fk is not None:
            fk.on_delete, fk.on_update = row["DELETE_RULE"], row["UPDATE_RULE"]

    for row in parts:
        table = by_table.get(row["TABLE_NAME"])
        if table is None:
            continue
        if table.partitioning is None:
            try:
                expression, cols = partition_expression(row["PARTITION_EXPRESSION"] or "")
            except ValueError:
                expression, cols = row["PARTITION_EXPRESSION"], []
            table.partitioning = Partitioning(row["PARTITION_METHOD"], expression, cols)
        table.partitioning.partitions.append(row["PARTITION_NAME"])

    ndv: dict[tuple[str, str], int] = {}
    points: dict[tuple[str, str], Points] = {}
    for row in histograms:
        hist = row["HISTOGRAM"]
        hist = json.loads(hist) if isinstance(hist, (str, bytes)) else hist
        key = (row["TABLE_NAME"], row["COLUMN_NAME"].lower())
        points[key] = mysql_points(hist, _type_of(by_table, key))
        buckets = hist.get("buckets", [])
        count = (
            len(buckets)
            if hist.get("histogram-type") == "singleton"
            else sum(int(b[-1]) for b in buckets)
        )
        ndv[(row["TABLE_NAME"], row["COLUMN_NAME"].lower())] = count
    for row in column_stats:
        table = by_table.get(row["TABLE_NAME"])
        freq = float(row["FREQ"] or 0)
        if table is not None and table.rows is not None and freq > 0:
            non_null = table.rows * (1 - float(row["NULLS"] or 0))
            ndv[(row["TABLE_NAME"], row["COLUMN_NAME"].lower())] = max(round(non_null / freq), 1)
        if table is not None and row.get("LOW") is not None:
            key = (row["TABLE_NAME"], row["COLUMN_NAME"].lower())
            points[key] = mariadb_points(row.get("HIST_TYPE"), row.get("HISTOGRAM"), row["LOW"],
                                         row.get("HIGH"), _type_of(by_table, key))

    measured: dict[str, dict[str, int]] = {}
    for row in sizes:
        base = row["TABLE_NAME"].split("#")[0]
        per_table = measured.setdefault(base, {})
        per_table[row["INDEX_NAME"]] = per_table.get(row["INDEX_NAME"], 0) + int(row["BYTES"])
    for name, table in by_table.items():
        for col in table.columns.values():
            key = (name, col.name.lower())
            col.ndv = ndv.get(key, first_cardinality.get(key))
            col.distribution = points.get(key, ())
        table.finish(measured.get(name))
    return list(by_table.values())


def _type_of(tables: dict[str, Table], key: tuple[str, str]) -> str:
    """The SQL type of column ``key`` = (table, lower-case column), else ""."""
    table = tables.get(key[0])
    column = table.column(key[1]) if table is not None else None
    return column.type if column is not None else ""


def _int(value) -> int | None:
    return None if value is None else int(value)


def load_catalog(
    schemas: list[str | Path] | tuple = (),
    *,
    dsn: str | None = None,
    database: str | None = None,
    defaults_file: str | None = None,
    rows: dict[str, int] | None = None,
) -> Catalog:
    """A catalog from DDL files (merged in order) or from ``database`` on the server at ``dsn``.

    With both, the tables come from the DDL and their row counts from the server
    (information_schema.TABLES, tables of the same name). ``rows`` (table -> row count)
    overrides either. The server is only read. Raises InputError (bad DDL, no database, a
    row count for an unknown table) or SandboxError (bad DSN, cannot connect), each with a
    one-line message.
    """
    if dsn is None and not schemas:
        raise InputError("give DDL files, or a DSN and a database")
    if schemas:
        catalog = Catalog()
        for path in schemas:
            tables = Catalog.from_ddl(Path(path)).tables
            if not tables:
                raise InputError(f"{path}: no CREATE TABLE statement: not a schema (DDL) file")
            for table in tables.values():
                catalog.add(table)
        if dsn is not None:
            server = load_catalog(dsn=dsn, database=database, defaults_file=defaults_file)
            counts = {}
            for name, table in catalog.tables.items():
                live = server.table(table.name)
                if live is not None and live.rows is not None:
                    counts[name] = live.rows
            catalog.set_rows(counts, "the --dsn server")
        catalog.set_rows(rows or {}, "--rows")
        return catalog
    import pymysql

    from dbtune.connect import ConnectionSpec

    spec = ConnectionSpec.resolve(dsn, defaults_file=defaults_file)
    database = database or spec.database
    if not database:
        raise InputError(f"no database given for {spec.dsn()}: use --database")
    connection = spec.connect()
    try:
        catalog = Catalog.from_server(connection, database)
    except pymysql.err.MySQLError as exc:
        raise InputError(
            f"cannot read the catalog of {database!r} on {spec.dsn()}: {exc.args[-1]}"
        ) from None
    finally:
        connection.close()
    if not catalog.tables:
        raise InputError(f"database {database!r} on {spec.dsn()} has no tables")
    catalog.set_rows(rows or {}, "--rows")
    return catalog

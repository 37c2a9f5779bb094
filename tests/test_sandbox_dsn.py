"""ConnectionSpec parsing and the dsn backend against a local sandbox started here."""

from __future__ import annotations

from pathlib import Path

import pytest

from dbtune.sandbox import (
    BackendUnavailable,
    ConnectionSpec,
    NotDisposableError,
    SandboxError,
    Server,
    require_disposable,
    start_server,
)
from dbtune.sandbox.datadir import find_server_binary
from dbtune.sandbox.local import free_port


def test_dsn_parsing_and_masking() -> None:
    spec = ConnectionSpec.from_dsn("mysql://app%40eu:p%3Ass@db.example:3307/shop")
    assert (spec.user, spec.password, spec.host, spec.port, spec.database) == (
        "app@eu",
        "p:ss",
        "db.example",
        3307,
        "shop",
    )
    assert spec.dsn() == "mysql://app%40eu:***@db.example:3307/shop"
    assert spec.dsn(reveal_password=True) == "mysql://app%40eu:p%3Ass@db.example:3307/shop"
    assert "p:ss" not in repr(spec) and "p:ss" not in str(spec)
    assert ConnectionSpec.from_dsn("mariadb://root@localhost/?socket=/run/m.sock").socket == (
        "/run/m.sock"
    )


@pytest.mark.parametrize("bad", [
    "postgres://u:secret@h/db", "mysql://u:secret@h:notaport/",
    "u:secret@h:3306/",  # no scheme
    "mysql://u:secret?x@h:3306/", "mysql://u:12secret#x@h/",  # unencoded ? and # in it
    "mysql:/u:secret@h/",
])
def test_bad_dsn_is_one_line_without_password(bad: str) -> None:
    with pytest.raises(SandboxError) as caught:
        ConnectionSpec.from_dsn(bad)
    message = str(caught.value)
    assert message.startswith("bad DSN") and "\n" not in message
    assert "secret" not in message


def test_resolve_env_and_option_file(tmp_path: Path) -> None:
    option_file = tmp_path / "my.cnf"
    option_file.write_text('[client]\nuser = reporter\npassword = "from-file"\nport = 3310\n')
    env = {"DBTUNE_DSN": "mysql://db.internal/sales", "MYSQL_PWD": "from-env"}
    spec = ConnectionSpec.resolve(defaults_file=option_file, env=env)
    assert (spec.host, spec.database, spec.user, spec.port) == (
        "db.internal",
        "sales",
        "reporter",
        3310,
    )
    assert spec.password == "from-file"  # the option file beats MYSQL_PWD
    assert ConnectionSpec.resolve("mysql://u@h/", env=env).password == "from-env"
    assert (
        ConnectionSpec.resolve("mysql://u:dsn@h/", defaults_file=option_file, env=env).password
        == "dsn"
    )
    with pytest.raises(SandboxError, match="option file not found"):
        ConnectionSpec.resolve(defaults_file=tmp_path / "missing.cnf", env={})
    option_file.write_text("[client]\nport = 33O7\n")  # a typo must not mean 3306
    with pytest.raises(SandboxError, match="port '33O7' is not a number"):
        ConnectionSpec.resolve(defaults_file=option_file, env={})


def test_dsn_backend_needs_a_target(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("DBTUNE_DSN", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.my.cnf
    with pytest.raises(BackendUnavailable, match="needs a DSN"), start_server("dsn"):
        pass


def test_connect_failure_is_one_line_without_password() -> None:
    spec = ConnectionSpec.from_dsn(
        f"mysql://root:hunter2@127.0.0.1:{free_port()}/", connect_timeout=2
    )
    with pytest.raises(SandboxError) as caught:
        spec.connect()
    message = str(caught.value)
    assert message.startswith("cannot connect to mysql://root:***@127.0.0.1:")
    assert "hunter2" not in message and "\n" not in message


@pytest.mark.server
@pytest.mark.skipif(find_server_binary() is None, reason="no mariadbd/mysqld installed")
def test_dsn_backend_contract_and_disposability(dbtune_server: Server) -> None:
    dsn = dbtune_server.dsn(reveal_password=True)
    with start_server("dsn", dsn=dsn) as server:
        assert server.backend == "dsn" and not server.disposable
        assert (server.host, server.port, server.user) == ("127.0.0.1", dbtune_server.port, "root")
        assert (server.flavour, server.version) == (dbtune_server.flavour, dbtune_server.version)
        # same machine: the slow log and datadir are readable here
        assert server.slow_log_path == dbtune_server.slow_log_path
        assert Path(server.datadir or "").resolve() == Path(dbtune_server.datadir or "").resolve()
        with pytest.raises(NotDisposableError) as caught:
            require_disposable(server, "create index idx_a")
        assert str(caught.value) == (
            f"refusing to create index idx_a on mysql://root:***@127.0.0.1:{server.port}/: "
            "not marked disposable (--disposable)"
        )
        with server.connect() as connection, connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            assert cursor.fetchone() == (1,)
    with dbtune_server.connect() as connection, connection.cursor() as cursor:
        cursor.execute("SET GLOBAL long_query_time = 0.5")
    with (
        start_server("dsn", dsn=dsn, disposable=True) as server,  # settings left alone
        server.connect() as connection,
        connection.cursor() as cursor,
    ):
        cursor.execute("SELECT @@global.long_query_time")
        assert cursor.fetchone() == (0.5,)
    with start_server("dsn", dsn=dsn, disposable=True, long_query_time=0.25) as server:
        require_disposable(server, "create index idx_a")  # allowed
        with server.connect() as connection, connection.cursor() as cursor:
            cursor.execute("SELECT @@global.long_query_time, @@global.slow_query_log")
            assert cursor.fetchone() == (0.25, 1)
            cursor.execute("SET GLOBAL long_query_time = 0")  # restore the shared server

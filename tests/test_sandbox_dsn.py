"""ConnectionSpec parsing and the dsn backend against a local sandbox started here."""

from __future__ import annotations

from pathlib import Path

import pytest

from dbtune.connect import ConnectError, ConnectionSpec
from dbtune.sandbox import (
    BackendUnavailable,
    NotDisposableError,
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
    "mysql:/u:secret@h/", "mysql://u:secret@h:99999/",
])
def test_bad_dsn_is_one_line_without_password(bad: str) -> None:
    with pytest.raises(ConnectError) as caught:
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
    with pytest.raises(ConnectError, match="option file not found"):
        ConnectionSpec.resolve(defaults_file=tmp_path / "missing.cnf", env={})
    option_file.write_text("[client]\nport = 33O7\n")  # a typo must not mean 3306
    with pytest.raises(ConnectError, match="port '33O7' is not a number"):
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
    with pytest.raises(ConnectError) as caught:
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


# ---------------------------------------------------------------------------------------------
# Issue 10: a password is never printed, whatever goes wrong
# ---------------------------------------------------------------------------------------------
SECRET = "p@ss/w0rdS3cretPW"
PIECES = ("p@ss", "w0rd", "S3cret", "ss/w0", "%40ss", "w0rdS3cretPW")


def test_userinfo_ends_at_the_last_at_and_percent_encoding_is_decoded() -> None:
    spec = ConnectionSpec.from_dsn(f"mysql://root:{SECRET}@127.0.0.1:3306/shop")
    assert (spec.user, spec.password, spec.host, spec.port, spec.database) == (
        "root", SECRET, "127.0.0.1", 3306, "shop")
    encoded = ConnectionSpec.from_dsn("mysql://root:p%40ss%2Fw0rd@db:3307/")
    assert (encoded.password, encoded.host) == ("p@ss/w0rd", "db")
    for raw in ("a?b#c", "x:y@z"):  # ? # : @ as typed
        assert ConnectionSpec.from_dsn(f"mysql://u:{raw}@h/").password == raw
    assert ConnectionSpec.from_dsn(f"mysql://root:{SECRET}@h/").dsn() == "mysql://root:***@h:3306/"


def _leaks(text: str) -> list[str]:
    return [piece for piece in PIECES if piece in text]


def _cli(*args: str, home: Path, input: str | None = None):
    from click.testing import CliRunner

    from dbtune.cli import main

    return CliRunner().invoke(main, list(args), env={"HOME": str(home), "DBTUNE_DSN": None},
                              input=input)


COMMANDS = (("analyze", "perfschema", "--connect-timeout", "3"),
            ("workload", "run", "--count", "1", "--connect-timeout", "3"),
            ("advise", "hygiene", "--database", "x"))


def _every_command(dsn: str | None, tmp_path: Path, *extra: str) -> list:
    outcomes = []
    for command in COMMANDS:
        args = [*command, *extra] + (["--dsn", dsn] if dsn else [])
        outcomes.append(_cli(*args, home=tmp_path))
    return outcomes


@pytest.mark.parametrize("dsn", [
    f"mysql://root:{SECRET}@no-such-host.invalid:3306/",   # bad host
    f"mysql://root:{SECRET}@127.0.0.1:{free_port()}/",      # refused port
    f"mysql://root:{SECRET}@127.0.0.1:notaport/",           # malformed: port
    f"mysql://root:{SECRET}@127.0.0.1:99999/",              # malformed: port range
    f"postgres://root:{SECRET}@127.0.0.1/",                 # malformed: scheme
    f"root:{SECRET}@127.0.0.1:3306/",                       # malformed: no scheme
])
def test_no_error_path_prints_a_part_of_the_password(dsn: str, tmp_path: Path) -> None:
    for outcome in _every_command(dsn, tmp_path):
        assert outcome.exit_code == 2, outcome.output
        assert outcome.output.startswith("dbtune: error: ") and outcome.output.count("\n") == 1
        assert not _leaks(outcome.output), outcome.output
        assert "Traceback" not in outcome.output
    if "no-such-host" in dsn:
        assert "no-such-host.invalid" in outcome.output  # the host is the host, not "ss"


@pytest.mark.parametrize("option_file", [
    f"[client]\npassword = {SECRET}\nport = 33O7\n",                 # bad port
    f"[client]\npassword = {SECRET}\nhost = no-such-host.invalid\n",  # bad host
    f"[client\npassword = {SECRET}\n",                                # bad group header
    f"password = {SECRET}\n[client]\n",                               # option before a group
    f"[client]\npassword = \"{SECRET}\"\n!include /nonexistent/dbtune.cnf\nhost=h\n",
])
def test_option_file_errors_never_print_its_password(option_file: str, tmp_path: Path) -> None:
    path = tmp_path / "my.cnf"
    path.write_text(option_file)
    for outcome in _every_command(None, tmp_path, "--defaults-file", str(path)):
        assert outcome.exit_code == 2, outcome.output
        assert not _leaks(outcome.output), outcome.output
        assert "Traceback" not in outcome.output


@pytest.mark.server
@pytest.mark.skipif(find_server_binary() is None, reason="no mariadbd/mysqld installed")
def test_a_wrong_password_against_a_real_server_is_not_printed(dbtune_server: Server,
                                                               tmp_path: Path) -> None:
    dsn = f"mysql://root:{SECRET}@{dbtune_server.host}:{dbtune_server.port}/"
    for outcome in _every_command(dsn, tmp_path):
        assert outcome.exit_code == 2, outcome.output
        assert "Access denied" in outcome.output and not _leaks(outcome.output), outcome.output
    with pytest.raises(ConnectError) as caught:
        ConnectionSpec.from_dsn(dsn).connect()
    assert not _leaks(str(caught.value)) and "Access denied" in str(caught.value)


# ---------------------------------------------------------------------------------------------
# Option files read as the mysql client reads them; one rule for the server
# ---------------------------------------------------------------------------------------------
def test_option_files_include_client_server_groups_and_bare_password(tmp_path: Path) -> None:
    conf_d = tmp_path / "conf.d"
    conf_d.mkdir()
    (conf_d / "10-user.cnf").write_text("[client-server]\nuser = from-dir\n")
    (conf_d / "20-port.cnf").write_text("[client]\nport = 3311  # a comment\n")
    (conf_d / "notes.txt").write_text("[client]\nport = 1\n")  # not a .cnf: skipped
    (tmp_path / "extra.cnf").write_text("[mysqld]\nport = 9\n[client]\nhost = db.internal\n")
    main = tmp_path / "my.cnf"
    main.write_text("!include extra.cnf\n!includedir conf.d\n[client]\npassword\n"
                    "socket = '/run/my sql.sock'\n")
    spec = ConnectionSpec.resolve(defaults_file=main, env={})
    assert (spec.host, spec.port, spec.user, spec.socket) == (
        "db.internal", 3311, "from-dir", "/run/my sql.sock")
    assert spec.password is None and spec.ask_password
    asked = spec.with_password_from(lambda: "typed")
    assert asked.password == "typed" and not asked.ask_password
    assert ConnectionSpec.resolve("mysql://u:given@h/", defaults_file=main,
                                  env={}).ask_password is False
    looping = tmp_path / "loop.cnf"
    looping.write_text(f"!include {looping}\n[client]\nuser = u\n")
    assert ConnectionSpec.resolve(defaults_file=looping, env={}).user == "u"


def test_a_socket_is_labelled_as_a_socket() -> None:
    spec = ConnectionSpec(socket="/run/mysqld/mysqld.sock", user="app", password="pw")
    assert spec.dsn() == "mysql://app:***@localhost/?socket=/run/mysqld/mysqld.sock"
    assert spec.is_local()


def test_one_rule_for_the_server_and_the_header_names_it(monkeypatch: pytest.MonkeyPatch,
                                                        tmp_path: Path) -> None:
    from dbtune.sandbox.dsn import resolve_target

    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("DBTUNE_STATE_DIR", str(tmp_path / "state"))  # no sandbox up
    with pytest.raises(BackendUnavailable, match="no server given.*dbtune sandbox up"):
        resolve_target(env={})
    (tmp_path / ".my.cnf").write_text("[client]\nuser = app\n")  # credentials only
    with pytest.raises(BackendUnavailable, match="no server given"):
        resolve_target(env={})
    (tmp_path / ".my.cnf").write_text("[client]\nuser = app\nhost = db.internal\n")
    spec = resolve_target(env={})
    assert spec.host == "db.internal" and spec.label().endswith(f"(from {tmp_path}/.my.cnf)")
    assert resolve_target(env={"DBTUNE_DSN": "mysql://x@h/"}).label() == (
        "mysql://x@h:3306/ (from $DBTUNE_DSN)")
    assert resolve_target("mysql://x@h/", env={}).label() == "mysql://x@h:3306/"


def _write_login_path_file(path: Path, text: str) -> None:
    """An ~/.mylogin.cnf as mysql_config_editor writes it (AES-128-ECB, per-line length)."""
    import struct

    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    raw_key = bytes(range(1, 21))
    key = bytearray(16)
    for i, byte in enumerate(raw_key):
        key[i % 16] ^= byte
    encryptor = Cipher(algorithms.AES(bytes(key)), modes.ECB()).encryptor()
    out = b"\0\0\0\0" + raw_key
    for line in text.splitlines(keepends=True):
        data = line.encode()
        pad = 16 - len(data) % 16
        cipher = encryptor.update(data + bytes([pad]) * pad)
        out += struct.pack("<i", len(cipher)) + cipher
    path.write_bytes(out)
    path.chmod(0o600)


def test_login_path_file_is_read_as_the_mysql_client_reads_it(tmp_path: Path) -> None:
    pytest.importorskip("myloginpath", reason="the mylogin extra decodes ~/.mylogin.cnf")
    login = tmp_path / ".mylogin.cnf"
    _write_login_path_file(login, '[client]\nuser = "ops"\npassword = "l0gin-S3cret"\n'
                                  'host = "db.internal"\nport = 3312\n[other]\nuser = "x"\n')
    spec = ConnectionSpec.resolve(env={"MYSQL_TEST_LOGIN_FILE": str(login)})
    assert (spec.user, spec.password, spec.host, spec.port) == (
        "ops", "l0gin-S3cret", "db.internal", 3312)
    assert spec.origin == str(login) and "l0gin" not in spec.label()
    login.write_bytes(b"\0\0\0\0" + bytes(20) + b"\x10\0\0\0" + b"garbage!" * 2)
    with pytest.raises(ConnectError, match="cannot decode the login path file"):
        ConnectionSpec.resolve(env={"MYSQL_TEST_LOGIN_FILE": str(login)})

"""The docker and auto backends (docker tests skip when no engine answers, as here)."""

from __future__ import annotations

from pathlib import Path

import pytest

import dbtune.sandbox.datadir as datadir
from dbtune.sandbox import BackendUnavailable, SandboxError, resolve_backend, start_server
from dbtune.sandbox.docker import IMAGES, docker_available, server_args

needs_docker = pytest.mark.skipif(
    not docker_available(), reason="no Docker engine answers here (`docker info` fails)"
)


def test_server_args_per_flavour() -> None:
    mysql = server_args("mysql:8.4", 0.5, "128M")
    mariadb = server_args("mariadb:11", 0.5, "128M")
    for args in (mysql, mariadb):
        assert {
            "--slow-query-log=1",
            "--long-query-time=0.5",
            "--performance-schema=ON",
            "--innodb-buffer-pool-size=128M",
            "--local-infile=1",
            "--skip-log-bin",
        } <= set(args)
    assert "--log-slow-extra=ON" in mysql and "--mysqlx=OFF" in mysql
    assert "--log-slow-verbosity=query_plan,explain" in mariadb
    assert not any("log-slow-extra" in arg for arg in mariadb)


def test_unknown_backend() -> None:
    with pytest.raises(SandboxError, match="unknown sandbox backend 'podman'"):
        resolve_backend("podman")


@pytest.mark.skipif(docker_available(), reason="a Docker engine answers: auto picks docker")
def test_auto_without_docker_uses_local_or_says_how_to_get_one(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    if datadir.find_server_binary() is not None:
        assert resolve_backend("auto") == "local"
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(datadir, "EXTRA_DIRS", ())
    with pytest.raises(BackendUnavailable) as caught:
        resolve_backend("auto")
    assert "apt-get install mariadb-server" in str(caught.value)
    assert "Docker" in str(caught.value)


@pytest.mark.skipif(docker_available(), reason="a Docker engine answers")
def test_docker_backend_says_no_engine() -> None:
    with (
        pytest.raises(BackendUnavailable, match="no Docker engine answers"),
        start_server("docker"),
    ):
        pass


@needs_docker
@pytest.mark.docker
@pytest.mark.slow
@pytest.mark.parametrize("image", IMAGES)
def test_docker_contract(image: str) -> None:
    with start_server("docker", image=image) as server:
        assert server.backend == "docker" and server.disposable
        assert server.flavour == ("mariadb" if "mariadb" in image else "mysql")
        assert server.dsn() == f"mysql://root:***@{server.host}:{server.port}/"
        with server.connect() as connection, connection.cursor() as cursor:
            cursor.execute("SELECT @@performance_schema, @@slow_query_log")
            assert cursor.fetchone() == (1, 1)
            cursor.execute("SELECT 'docker-slowlog-marker'")
            cursor.execute("DO 0")
        assert server.slow_log_path is not None
        assert "docker-slowlog-marker" in Path(server.slow_log_path).read_text()

"""The ``docker`` backend: a throw-away MySQL/MariaDB container through testcontainers.

Same server settings as the local backend, passed as server arguments. The slow log is
written to a host directory bind-mounted into the container, so ``slow_log_path`` is a
local readable file (this needs the Docker engine on this machine, the usual case).
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from dbtune.connect import ConnectionSpec
from dbtune.sandbox.errors import BackendUnavailable, ServerStartError
from dbtune.sandbox.server import Server, describe

DEFAULT_IMAGE = "mysql:8.0"
IMAGES = ("mysql:8.0", "mysql:8.4", "mariadb:11")
CONTAINER_LOG_DIR = "/var/log/dbtune"


def docker_available() -> bool:
    """True when a Docker engine answers a ping within a few seconds."""
    try:
        import docker

        client = docker.from_env(timeout=3)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:  # any failure to reach an engine means "no engine"
        return False


def server_args(image: str, long_query_time: float, buffer_pool_size: str) -> list[str]:
    """mysqld arguments for the image's flavour (MariaDB images: name contains 'mariadb')."""
    args = [
        "--skip-log-bin",
        "--local-infile=1",
        "--skip-name-resolve",
        "--slow-query-log=1",
        f"--slow-query-log-file={CONTAINER_LOG_DIR}/slow.log",
        f"--long-query-time={long_query_time}",
        "--performance-schema=ON",
        "--performance-schema-consumer-events-statements-current=ON",
        "--performance-schema-consumer-events-statements-history-long=ON",
        f"--innodb-buffer-pool-size={buffer_pool_size}",
        "--innodb-flush-log-at-trx-commit=2",
    ]
    if "mariadb" in image:
        return [*args, "--log-slow-verbosity=query_plan,explain"]
    return [*args, "--log-slow-extra=ON", "--mysqlx=OFF"]


def build_container(image: str, password: str, log_dir: str, args: Sequence[str]) -> Any:
    """The (not yet started) testcontainers MySqlContainer for ``image``."""
    try:
        from testcontainers.community.mysql import MySqlContainer
    except ImportError:  # testcontainers before the "community" split
        from testcontainers.mysql import MySqlContainer

    container = MySqlContainer(image, root_password=password, password=password, dbname="dbtune")
    container.with_volume_mapping(log_dir, CONTAINER_LOG_DIR, "rw")
    container.with_command(" ".join(args))
    return container


@contextmanager
def start_docker(
    *,
    image: str = DEFAULT_IMAGE,
    long_query_time: float = 0.0,
    buffer_pool_size: str = "256M",
    extra_args: Sequence[str] = (),
) -> Iterator[Server]:
    """Context manager: a container started from ``image``, removed on exit."""
    if not docker_available():
        raise BackendUnavailable(
            "no Docker engine answers (is the daemon running? check `docker info`)"
        )
    password = secrets.token_urlsafe(18)
    log_dir = tempfile.mkdtemp(prefix="dbtune-docker-")
    container = None
    try:
        os.chmod(log_dir, 0o777)  # the server runs as uid 999 (mysql) inside the container
        args = server_args(image, long_query_time, buffer_pool_size) + list(extra_args)
        container = build_container(image, password, log_dir, args)
        try:
            container.start()
        except Exception as exc:  # docker/testcontainers raise many types; report them all
            raise ServerStartError(
                f"container {image} did not start: {exc}\n{_last_logs(container)}"
            ) from None
        spec = ConnectionSpec(
            host=container.get_container_host_ip(),
            port=int(container.get_exposed_port(3306)),
            user="root",
            password=password,
        )
        with spec.connect() as connection:
            flavour, version = describe(connection)
        yield Server(
            spec=spec,
            flavour=flavour,
            version=version,
            backend="docker",
            disposable=True,
            slow_log_path=os.path.join(log_dir, "slow.log"),
        )
    finally:
        try:
            if container is not None and container.get_wrapped_container() is not None:
                container.stop()
        finally:
            shutil.rmtree(log_dir, ignore_errors=True)


def _last_logs(container: Any, lines: int = 20) -> str:
    """The container's last output lines ('' if it was never created)."""
    if container.get_wrapped_container() is None:
        return ""
    stdout, stderr = container.get_logs()
    text = (stdout + stderr).decode(errors="replace")
    return "\n".join(text.splitlines()[-lines:])

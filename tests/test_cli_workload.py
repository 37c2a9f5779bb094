"""`dbtune workload run` renders through the one report layer: every format, -o, redaction."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from dbtune.cli import main
from dbtune.report import FORMATS
from dbtune.sandbox.datadir import find_server_binary
from dbtune.workload.drivers import get_driver

pytestmark = [pytest.mark.server,
              pytest.mark.skipif(find_server_binary() is None, reason="no mariadbd/mysqld")]


def test_workload_run_honours_format_and_output(dbtune_server, dbtune_database, tmp_path):
    dsn = dbtune_server.dsn(reveal_password=True)
    runner = CliRunner()
    common = ["--dsn", dsn, "--disposable", "--database", dbtune_database]
    loaded = runner.invoke(main, ["workload", "load", "--scale", "0.005", *common])
    assert loaded.exit_code == 0, loaded.output
    for fmt in FORMATS:
        out = tmp_path / f"run.{fmt}"
        ran = runner.invoke(main, ["workload", "run", "--scale", "0.005", "--count", "20",
                                   "--read-only", "--format", fmt, "-o", str(out), *common])
        assert ran.exit_code == 0, ran.output
        assert ran.stdout == "" and f"report written to {out}" in ran.stderr
        text = out.read_text()
        assert dbtune_server.password not in text
        assert ("root:***@" in text) == (fmt != "csv")  # the header names the server
        if fmt == "json":
            report = json.loads(text)
            assert report["statements"] == 20 and report["server"].startswith("mysql://root:***@")
            assert report["driver"] == get_driver("auto").name
        elif fmt in ("table", "markdown"):
            assert "server: mysql://root:***@" in text and "statements 20" in text
            assert f"driver: {get_driver('auto').name}" in text  # which client was timed

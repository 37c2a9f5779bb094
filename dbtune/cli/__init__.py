"""The `dbtune` command: a thin click layer over the library.

Sub-commands live in their own modules and are imported only when invoked
(click's documented "lazy group" pattern), so `dbtune sandbox status` does not
pay for pandas and `dbtune --help` stays fast.
"""

from __future__ import annotations

import importlib

import click

from dbtune import __version__

# command name -> "module:attribute" of a click command or group
COMMANDS = {
    "analyze": "dbtune.cli.analyze:analyze",
    "digest": "dbtune.cli.digest:digest",
    "advise": "dbtune.cli.advise:advise",
    "sandbox": "dbtune.cli.sandbox:sandbox",
    "workload": "dbtune.cli.workload:workload",
    "bench": "dbtune.cli.bench:bench",
    "propose": "dbtune.cli.propose:propose",
    "report": "dbtune.cli.report_nightly:report",
}


class LazyGroup(click.Group):
    """A click group whose sub-commands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attribute = target.split(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            return None
        return getattr(module, attribute)


@click.group(cls=LazyGroup)
@click.version_option(__version__, prog_name="dbtune")
def main() -> None:
    """dbtune: find what costs the most on MySQL/MariaDB, advise, and prove it."""

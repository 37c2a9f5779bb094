"""Generate docs/cli.md from the `--help` text of every dbtune command.

Run `python docs/gen_cli_reference.py` after changing a command; tests/test_docs.py fails
while docs/cli.md differs from `render_reference()`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import click

from dbtune.cli import main

OUTPUT = Path(__file__).with_name("cli.md")
WIDTH = 100  # fixed, so the output does not depend on the terminal

HEADER = """# CLI reference

Generated from `--help` by `python docs/gen_cli_reference.py`; do not edit by hand.
"""


def _walk(ctx: click.Context) -> Iterator[click.Context]:
    """Yield `ctx` and the context of every visible sub-command, depth first, by name."""
    yield ctx
    command = ctx.command
    if not isinstance(command, click.Group):
        return
    for name in command.list_commands(ctx):
        sub = command.get_command(ctx, name)
        if sub is None or sub.hidden:
            continue
        yield from _walk(click.Context(sub, info_name=name, parent=ctx, terminal_width=WIDTH))


def render_reference() -> str:
    """Return the Markdown reference: one section per command holding its `--help` text."""
    root = click.Context(main, info_name="dbtune", terminal_width=WIDTH)
    sections = [HEADER]
    for ctx in _walk(root):
        help_text = ctx.command.get_help(ctx).rstrip()
        sections.append(f"## {ctx.command_path}\n\n```\n{help_text}\n```\n")
    return "\n".join(sections)


if __name__ == "__main__":
    OUTPUT.write_text(render_reference(), encoding="utf-8")
    print(f"wrote {OUTPUT}")

"""Generate docs/cli.md from the `--help` text of every dbtune command, and the copies of one
command's `--help` that other pages embed between `<!-- cli: dbtune ... -->` and
`<!-- /cli -->` (docs/advise-indexes.md).

Run `python docs/gen_cli_reference.py` after changing a command; tests/test_docs.py fails
while docs/cli.md differs from `render_reference()`, tests/test_advise_indexes.py while an
embedded copy differs from `embed()`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import click

from dbtune.cli import main

OUTPUT = Path(__file__).with_name("cli.md")
#: pages that embed the --help of one command
EMBEDDING = [Path(__file__).with_name("advise-indexes.md")]
BLOCK = re.compile(r"(<!-- cli: (?P<path>[^>]+?) -->\n).*?(<!-- /cli -->)", re.S)
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


def _helps() -> dict[str, str]:
    """command path ("dbtune advise indexes") -> its `--help` text."""
    root = click.Context(main, info_name="dbtune", terminal_width=WIDTH)
    return {ctx.command_path: ctx.command.get_help(ctx).rstrip() for ctx in _walk(root)}


def render_reference() -> str:
    """Return the Markdown reference: one section per command holding its `--help` text."""
    sections = [HEADER]
    for path, help_text in _helps().items():
        sections.append(f"## {path}\n\n```\n{help_text}\n```\n")
    return "\n".join(sections)


def embed(text: str) -> str:
    """``text`` with every embedded `--help` block replaced by the command's current one."""
    helps = _helps()

    def block(match: re.Match) -> str:
        path = match["path"].strip()
        if path not in helps:
            raise KeyError(f"no command {path!r} to embed")
        return f"{match[1]}```\n{helps[path]}\n```\n{match[3]}"

    return BLOCK.sub(block, text)


if __name__ == "__main__":
    OUTPUT.write_text(render_reference(), encoding="utf-8")
    print(f"wrote {OUTPUT}")
    for page in EMBEDDING:
        page.write_text(embed(page.read_text(encoding="utf-8")), encoding="utf-8")
        print(f"wrote {page}")

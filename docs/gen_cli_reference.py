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

## Exit statuses

Every error is one `dbtune: error: ...` line on stderr. Usage errors (a bad option value, a
missing file) exit 2 everywhere.

| command | 0 | 1 | 2 | 3 | 4 |
|---|---|---|---|---|---|
| `analyze slowlog` | done | `--fail-on` warning threshold reached | error; no input readable | `--fail-on` critical threshold reached | some inputs not read (named on stderr and in the report header): the report is partial |
| `analyze digest` | done | `--fail-on` warning threshold reached | error (a file is not a saved digest) | `--fail-on` critical threshold reached | some inputs of the saved digests were not read (kept in the file): the report is partial |
| `digest merge` | done | - | error (a file is not a saved digest) | - | - |
| `analyze perfschema` | done | `--fail-on` warning threshold reached | error (server unreachable, performance_schema off, bad snapshot file) | `--fail-on` critical threshold reached | - |
| `advise hygiene` | done | `--fail-on`: the report holds such a finding | error | - | - |
| `advise indexes` | done | - | error | - | - |
| `advise partitions` | done | - | error | - | - |
| `propose` | proposal written | - | error, or a step the lint refuses (without `--force`); nothing written | - | - |
| `report nightly` | clean | warnings | error | critical findings | - |
| `bench` | `--target` met (or none given), no class past the guard or a `--fail-on` level | `--target` not met, a class slower than `--max-regression`, or a class's latency after the change at the `--fail-on` warning level | error | a class's latency after the change at the `--fail-on` critical level | results differ before/after |
| `sandbox up`, `sandbox down` | done | the sandbox could not be started / stopped | usage error | - | - |
| `sandbox status` | a sandbox runs | none, or it is not running | usage error | - | - |
| `workload load`, `workload run` | done | - | error | - | - |

`--fail-on STAT[:WARN_MS[:CRIT_MS]]` is one option wherever a command judges latency: its
thresholds default to the alert levels of the design, 200 ms (warning) and 500 ms
(critical), on the per-class statistic named (`--fail-on p95`; `--fail-on p99:100:300` sets
both): the query time of a class for `analyze`, its latency after the change for `bench`.
In `analyze` the threshold verdict (3, then 1) wins over 4 (a partial report); in `bench`
result differences (4) win over it. `advise hygiene --fail-on KIND` judges findings, not
latency.

## Which server a command reaches

Every command that reads or writes a server picks it by one rule, and reports name it in
their header: `--dsn`, else `$DBTUNE_DSN`; else an option file naming a host, port or socket
(`--defaults-file`, else `~/.my.cnf` and `~/.mylogin.cnf`, read as the mysql client reads
them: groups `[client]`, `[client-server]`, `[client-mariadb]`, `[mysql]`, `!include`,
`!includedir`, a bare `password` line prompts); else the sandbox of `dbtune sandbox up`
when it runs; else an error saying all this. `bench` without `--dsn`/`--defaults-file`
starts its own sandbox (`--backend`).
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

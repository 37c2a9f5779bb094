"""`dbtune digest ...`: saved digests (Parquet) merged across hosts and days."""

from __future__ import annotations

from pathlib import Path

import click

from dbtune.cli.common import Group, fail
from dbtune.model import InputError


@click.group(cls=Group)
def digest() -> None:
    """Saved digests: written by `analyze slowlog --save`, read by `analyze digest`."""


@digest.command("merge")
@click.argument("paths", nargs=-1, required=True,
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--save", "save", required=True,
              type=click.Path(dir_okay=False, writable=True, path_type=Path),
              help="Write the merged digest to this Parquet file.")
def merge(paths: tuple[Path, ...], save: Path) -> None:
    """Merge saved digests PATHS into one saved digest, as if all their logs were read at once.

    Exit status: 0 done, 2 error (a file is not a saved digest).
    """
    from dbtune.digest import merge_digests

    try:
        merged = merge_digests(list(paths))
    except InputError as exc:
        fail(str(exc))
    merged.save(save)

"""Options and output handling shared by dbtune's commands."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import click
from click.exceptions import NoArgsIsHelpError

from dbtune.report.formats import FORMATS, printable, redact_secrets

F = TypeVar("F", bound=Callable[..., Any])

RELATIVE_TIME = re.compile(r"^(\d+(?:\.\d+)?)([smhdw])$")
UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def _output_directory(ctx: click.Context, param: click.Parameter, value: Path | None):
    """Refuse --output in a missing directory before any work is done."""
    if value is not None and not value.parent.is_dir():
        raise click.BadParameter(f"{value}: directory {value.parent} does not exist")
    return value


def output_option(function: F) -> F:
    """--output/-o FILE: the report goes there (its directory must exist) instead of stdout."""
    return click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
                        callback=_output_directory,
                        help="Write the report to FILE instead of standard output.")(function)


def format_options(function: F) -> F:
    """--format and --output, as every report command takes them."""
    function = output_option(function)
    return click.option("--format", "fmt", type=click.Choice(FORMATS), default="table",
                        show_default=True, help="Report format.")(function)


def connection_options(dsn_help: str, *, envvar: bool = True, disposable: bool = False,
                       database_help: str | None = None,
                       database_default: str | None = None) -> Callable[[F], F]:
    """--dsn and --defaults-file, plus --disposable and --database when asked for.

    ``envvar``: --dsn falls back to $DBTUNE_DSN (off where a DSN excludes another input).
    """
    options = [
        click.option("--dsn", envvar="DBTUNE_DSN" if envvar else None, help=dsn_help),
        click.option("--defaults-file", type=click.Path(dir_okay=False),
                     help="Option file with the --dsn credentials ([client] group)."),
    ]
    if disposable:
        options.append(click.option("--disposable", is_flag=True,
                                    help="Declare the --dsn server disposable: it may be "
                                         "written to."))
    if database_help is not None:
        options.append(click.option("--database", default=database_default,
                                    show_default=database_default is not None,
                                    help=database_help))

    def decorate(function: F) -> F:
        for option in reversed(options):
            function = option(function)
        return function

    return decorate


def emit(text: str, output: Path | None) -> None:
    """Write a report to FILE (atomically, never half-written) or to standard output."""
    text = redact_secrets(printable(text))  # every report: samples may hold credentials
    if output is None:
        click.echo(text, nl=False)
        return
    partial = output.with_name(output.name + ".partial")
    try:
        partial.write_text(text, encoding="utf-8")
        partial.replace(output)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        fail(f"{output}: cannot write the report: {exc.strerror or exc}")
    click.echo(f"dbtune: report written to {output}", err=True)


class OneLineError(click.ClickException):
    """A usage error shown as one ``dbtune: error:`` line (click's default adds the usage)."""

    exit_code = 2

    def show(self, file: Any = None) -> None:
        click.echo(f"dbtune: error: {self.format_message()}", err=True)

    @classmethod
    def of(cls, exc: click.UsageError) -> OneLineError:
        """The error ``exc`` says, with a pointer to the command's --help."""
        message = exc.format_message().rstrip(".")
        if exc.ctx is not None:
            message += f" (see '{exc.ctx.command_path} --help')"
        return cls(message[:1].lower() + message[1:])


class _OneLineErrors:
    """Mixin: usage errors (bad option values, missing files) become one line, exit 2."""

    def make_context(self, *args: Any, **kwargs: Any) -> click.Context:
        try:
            return super().make_context(*args, **kwargs)  # type: ignore[misc]
        except NoArgsIsHelpError:  # a bare group prints its help, as click does
            raise
        except click.UsageError as exc:
            raise OneLineError.of(exc) from None

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)  # type: ignore[misc]
        except NoArgsIsHelpError:
            raise
        except click.UsageError as exc:  # a sub-command's options, or a body's BadParameter
            raise OneLineError.of(exc) from None


class Command(_OneLineErrors, click.Command):
    """A click command whose usage errors are one ``dbtune: error:`` line."""


class Group(_OneLineErrors, click.Group):
    """A click group whose (and whose sub-commands') usage errors are one line."""

    command_class = Command


def fail(message: str, status: int = 2) -> None:
    """One clear line on stderr and the exit status; never a traceback."""
    click.echo(f"dbtune: error: {message}", err=True)
    sys.exit(status)


def parse_when(value: str | None, now: datetime | None = None) -> datetime | None:
    """A point in time: ISO date/datetime, or a duration ago such as 90m, 12h, 7d."""
    if value is None:
        return None
    match = RELATIVE_TIME.match(value.strip())
    if match:
        ago = timedelta(seconds=float(match.group(1)) * UNIT_SECONDS[match.group(2)])
        return (now or datetime.now()) - ago
    try:
        return datetime.fromisoformat(value.strip())
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is neither an ISO date/time (2026-11-26 14:00) nor a duration (12h, 7d)"
        ) from None

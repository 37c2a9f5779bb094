"""Options and output handling shared by dbtune's commands."""

from __future__ import annotations

import contextlib
import functools
import os
import re
import shutil
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import click
from click.exceptions import NoArgsIsHelpError

from dbtune.report.formats import FORMATS

F = TypeVar("F", bound=Callable[..., Any])

RELATIVE_TIME = re.compile(r"^(\d+(?:\.\d+)?)([smhdw])$")
UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def _output_directory(ctx: click.Context, param: click.Parameter, value: Path | None):
    """Refuse --output in a missing directory before any work is done."""
    if value is not None and not value.parent.is_dir():
        raise click.BadParameter(f"{value}: directory {value.parent} does not exist")
    return value


def options(*decorators: Callable[[F], F]) -> Callable[[F], F]:
    """One decorator applying click options (or other decorators) in the order listed, as
    they read above a command."""

    def decorate(function: F) -> F:
        for decorator in reversed(decorators):
            function = decorator(function)
        return function

    return decorate


#: --format, --output/-o FILE (its directory must exist) and --width: what every command
#: rendering a report takes
report_options = options(
    click.option("--format", "fmt", type=click.Choice(FORMATS), default="table",
                 show_default=True, help="Report format."),
    click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
                 callback=_output_directory,
                 help="Write the report to FILE instead of standard output."),
    click.option("--width", type=click.IntRange(min=40), default=None,
                 help="Columns the table format fits [default: $COLUMNS, else the "
                      "terminal's width when standard output is one]."),
)


def terminal_width(width: int | None, output: Path | None) -> int | None:
    """The width a table report fits: --width, else (to a terminal) $COLUMNS or its size."""
    if width or output is not None:
        return width
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    if sys.stdout.isatty():
        return shutil.get_terminal_size().columns
    return None


def connection_options(dsn_help: str, *, envvar: bool = True, disposable: bool = False,
                       database_help: str | None = None,
                       database_default: str | None = None) -> Callable[[F], F]:
    """--dsn and --defaults-file, --disposable and --database when asked for, then
    --ask-password and --connect-timeout: every command reaching a server takes them all.
    The command receives --dsn, --defaults-file, --ask-password and --connect-timeout as
    one ``server_options`` (:class:`ServerOptions`).

    ``envvar``: --dsn falls back to $DBTUNE_DSN (off where a DSN excludes another input).
    """
    given = [
        click.option("--dsn", envvar="DBTUNE_DSN" if envvar else None, help=dsn_help),
        click.option("--defaults-file", type=click.Path(dir_okay=False),
                     help="Option file with the --dsn credentials ([client] group)."),
    ]
    if disposable:
        given.append(click.option("--disposable", is_flag=True,
                                    help="Declare the --dsn server disposable: it may be "
                                         "written to."))
    if database_help is not None:
        given.append(click.option("--database", default=database_default,
                                    show_default=database_default is not None,
                                    help=database_help))

    bundle = options(
        *given,
        click.option("--ask-password", is_flag=True,
                     help="Prompt for the password (as does a bare `password` line in an "
                          "option file)."),
        click.option("--connect-timeout", type=click.FloatRange(min=0, min_open=True),
                     default=10.0, show_default=True,
                     help="Seconds to wait for the server to answer."),
    )

    def decorate(function: F) -> F:
        @functools.wraps(function)
        def command(*args: Any, dsn: str | None, defaults_file: str | None,
                    ask_password: bool, connect_timeout: float, **kwargs: Any) -> Any:
            server_options = ServerOptions(dsn, defaults_file, ask_password, connect_timeout)
            return function(*args, server_options=server_options, **kwargs)

        return bundle(command)  # type: ignore[arg-type]

    return decorate


@dataclass(frozen=True)
class ServerOptions:
    """The server a command was told of: --dsn, --defaults-file, --ask-password and
    --connect-timeout, resolved only when the command asks."""

    dsn: str | None
    defaults_file: str | None = None
    ask_password: bool = False
    connect_timeout: float = 10.0

    def spec(self, **settings: Any):
        """The ConnectionSpec of the server the command reaches (the one rule of
        :func:`dbtune.sandbox.dsn.resolve_target`), its password prompted for when asked
        (--ask-password, or a bare ``password`` line in an option file), its
        --connect-timeout and ``settings`` set."""
        from dbtune.sandbox.dsn import resolve_target

        spec = resolve_target(self.dsn, defaults_file=self.defaults_file)
        spec = spec.with_password_from(
            lambda: click.prompt("Password", hide_input=True, err=True), self.ask_password)
        return replace(spec, connect_timeout=self.connect_timeout, **settings)

    def given(self):
        """:meth:`spec` of --dsn, for the library calls taking a DSN (which take a
        ConnectionSpec too); None without --dsn (a command whose server is optional)."""
        return self.spec() if self.dsn else None


def emit(report: Any, output: Path | None, fmt: str = "table",
         width: int | None = None, title: str = "dbtune") -> None:
    """Render a result through the report layer (which redacts credentials) and write it
    to FILE (atomically, never half-written) or to standard output.

    ``report`` is a result object (``to_document``/``rows``/``sections``); a ``str`` is
    text rendered elsewhere and is redacted here.
    """
    from dbtune.report import redact, render
    from dbtune.report.formats import printable

    if isinstance(report, str):
        text = redact(printable(report))
    else:
        text = render(report, fmt, title=title, width=terminal_width(width, output))
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


@contextlib.contextmanager
def one_line_errors(*more: type[Exception], unexpected: bool = False) -> Iterator[None]:
    """Around a command's library call: bad input, an unreachable or refusing server
    (InputError, SandboxError, ``more``) and a server error mid-run become one ``dbtune:
    error:`` line and exit 2, never a traceback; with ``unexpected`` any other exception
    too (cron reads exit 1 as "warnings")."""
    import pymysql

    from dbtune.model import InputError
    from dbtune.sandbox.errors import SandboxError

    try:
        yield
    except (InputError, SandboxError, *more) as exc:
        fail(str(exc))
    except pymysql.err.MySQLError as exc:  # the server went away or refused mid-run
        fail(f"server error: {exc.args[-1] if exc.args else exc}")
    except Exception as exc:
        if not unexpected:
            raise
        fail(f"unexpected {type(exc).__name__}: {exc}")


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


def fail_on_option(statistics: tuple[str, ...] | None = None,
                   of: str = "a class's query time") -> Callable[[F], F]:
    """--fail-on STAT[:WARN_MS[:CRIT_MS]] (a :class:`dbtune.bench.verdict.Alert`): exit 1
    (warning) or 3 (critical) when STAT of ``of`` reaches a threshold; STAT one of
    ``statistics`` (default: a digest's, :data:`dbtune.model.STATS`)."""

    def parse(ctx: click.Context, param: click.Parameter, value: str | None):
        if value is None:  # click calls this for every run: import only when asked
            return None
        from dbtune.bench.verdict import Alert
        from dbtune.model import STATS

        try:
            return Alert.parse(value, statistics or STATS)
        except ValueError as exc:
            raise click.BadParameter(str(exc)) from None

    return click.option(
        "--fail-on", "fail_on", metavar="STAT[:WARN_MS[:CRIT_MS]]", callback=parse,
        help=f"Exit 1 when STAT ({', '.join(statistics or ('p95', 'mean', 'max', '...'))}) of "
             f"{of} reaches WARN_MS, 3 when it reaches CRIT_MS [thresholds: 200 and 500 ms].")


def alert_status(classes: list[Any], fail_on: Any) -> int:
    """0, 1 (a class's query time reached the --fail-on warning) or 3 (the critical), said
    on stderr."""
    if fail_on is None:
        return 0
    values = {c.id: ((c.metrics.get("query_time") or {}).get(fail_on.statistic) or 0.0) * 1000
              for c in classes}
    message = fail_on.message(values, of="query time")
    if message:
        click.echo(f"dbtune: {message}", err=True)
    return fail_on.status(values)


def replay_options(*, per_round: bool, warmup: int) -> Callable[[F], F]:
    """--count/--duration, --concurrency, --warmup, --seed and --read-only: how a replay runs
    (``per_round``: once per bench round, else once)."""
    each = " per round" if per_round else ""
    return options(
        click.option("--count", type=click.IntRange(min=1),
                     help=f"Statements to measure{each}" + (" [default: 2000]." if per_round
                                                             else ".")),
        click.option("--duration", type=click.FloatRange(min=0, min_open=True),
                     help=f"Seconds to measure{each} (instead of --count)."),
        click.option("--concurrency", "-c", type=click.IntRange(min=1), default=4,
                     show_default=True, help="Connections replaying at once."),
        click.option("--warmup", type=click.IntRange(min=0), default=warmup, show_default=True,
                     help=f"Statements run first{' in each round' if per_round else ''}, "
                          "not measured."),
        click.option("--seed", type=int, default=0, show_default=True,
                     help="Statement stream seed."),
        click.option("--read-only", is_flag=True, help="Skip the workload's writes."),
    )


def workload_options(schema_help: str) -> Callable[[F], F]:
    """``--slowlog LOG...``, ``--perfschema`` and ``--schema FILE...``: what an advisor reads."""
    return options(
        click.option("--slowlog", "slowlogs", multiple=True, metavar="LOG",
                     help="Slow log(s) holding the workload (files, globs, .gz, - for stdin)."),
        click.option("--perfschema", is_flag=True,
                     help="Take the workload from performance_schema of the --dsn server."),
        click.option("--schema", "schemas", multiple=True, metavar="FILE",
                     type=click.Path(dir_okay=False, path_type=Path), help=schema_help),
    )


def check_workload_inputs(slowlogs: tuple[str, ...], perfschema: bool, schemas: tuple,
                          dsn: str | None, *, verify: bool = False, disposable: bool = False,
                          verify_does: str = "") -> None:
    """One line and exit 2 when an advisor's inputs do not fit together."""
    if bool(slowlogs) == perfschema:
        fail("give the workload: --slowlog LOG... or --perfschema (with --dsn)")
    if not schemas and not dsn:
        fail("give the schema: --schema FILE... or --dsn DSN --database DB")
    if (perfschema or verify) and not dsn:
        fail(f"--{'perfschema' if perfschema else 'verify'} needs a server: give --dsn DSN")
    if verify and not disposable:
        fail(f"--verify {verify_does} on the --dsn server: add --disposable if it is a "
             "sandbox or a copy (never production)")


def per_table(convert: Callable[[str], Any], expected: str) -> Callable[..., dict[str, Any]]:
    """A click callback reading repeated ``TABLE=VALUE`` options as ``{table: convert(value)}``.

    >>> per_table(int, "TABLE=N")(None, None, ("orders=25", "users=3"))
    {'orders': 25, 'users': 3}
    """

    def callback(ctx: click.Context | None, param: click.Parameter | None,
                 values: tuple[str, ...]) -> dict[str, Any]:
        out = {}
        for value in values:
            table, _, raw = value.rpartition("=")
            try:
                if not table.strip():
                    raise ValueError(value)
                out[table.strip()] = convert(raw.strip())
            except ValueError:
                raise click.BadParameter(f"{value!r}: expected {expected}") from None
        return out

    return callback


def row_count(text: str) -> int:
    """A row count as given on the command line (digits only)."""
    if not text.isdigit():
        raise ValueError(text)
    return int(text)

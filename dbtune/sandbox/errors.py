"""Errors of dbtune.sandbox; every message is one line a user can act on (logs may follow)."""

from __future__ import annotations


class SandboxError(Exception):
    """A server could not be found, started, reached or used as asked."""


class BackendUnavailable(SandboxError):
    """The requested backend cannot run here (no Docker engine, no mysqld binary, no DSN)."""


class ServerStartError(SandboxError):
    """A server process was started but never answered; the message ends with its error log."""


class NotDisposableError(SandboxError):
    """A write was asked of a server the user did not mark disposable."""

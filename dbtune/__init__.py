"""dbtune: MySQL/MariaDB performance analysis, proven on a disposable server."""

__version__ = "0.1.0"

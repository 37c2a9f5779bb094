"""Rendering of dbtune's results: tables (tabulate), Markdown, JSON, CSV."""

from dbtune.report.formats import FORMATS, render_rows

__all__ = ["FORMATS", "render_rows"]

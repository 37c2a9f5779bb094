"""Rendering of dbtune's results: one dispatcher (:func:`render`) over every result
object's ``to_document()`` / ``rows()`` / ``sections()``, redacting credentials once."""

from dbtune.report.document import FORMATS, Section, redact, render
from dbtune.report.formats import render_rows

__all__ = ["FORMATS", "Section", "redact", "render", "render_rows"]

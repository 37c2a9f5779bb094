"""The saved advice file: a list of :class:`~dbtune.model.Advice` as one JSON document.

::

    {"dbtune_version": "0.x", "format": "dbtune-advice", "version": 1,
     "advice": [Advice.to_dict(), ...]}

``version`` is the file format's version (not dbtune's): a reader refuses any other, in
one line. ``basis`` in each advice is derived and ignored on reading.

>>> import tempfile, pathlib
>>> from dbtune.model import Advice
>>> path = pathlib.Path(tempfile.mkdtemp()) / "advice.json"
>>> save_advice([Advice("drop_index", "t", "t.ix", ["ALTER TABLE `t` DROP INDEX `ix`"],
...                     ["ALTER TABLE `t` ADD INDEX `ix` (`a`)"])], path)
>>> load_advice(path)[0].ddl
['ALTER TABLE `t` DROP INDEX `ix`']
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from dbtune import __version__
from dbtune.model import KINDS, Advice, ClassEffect, InputError

FORMAT = "dbtune-advice"
VERSION = 1


def advice_document(advice: Sequence[Advice]) -> dict[str, Any]:
    """The JSON-ready document of ``advice``."""
    return {"dbtune_version": __version__, "format": FORMAT, "version": VERSION,
            "advice": [a.to_dict() for a in advice]}


def save_advice(advice: Sequence[Advice], path: str | os.PathLike[str]) -> None:
    """Write ``advice`` to ``path`` atomically (a temporary file moved into place)."""
    path = Path(path)
    text = json.dumps(advice_document(advice), indent=2, sort_keys=True) + "\n"
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_advice(path: str | os.PathLike[str]) -> list[Advice]:
    """The advice saved in ``path``; :class:`InputError` (one line naming the file) for a
    file that is missing, not JSON, of another format or version, or malformed."""
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read the advice file ({exc})") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}:{exc.lineno}: not JSON ({exc.msg})") from None
    return advice_from_document(document, str(path))


def advice_from_document(document: Any, source: str = "<advice>") -> list[Advice]:
    """The advice in a document made by :func:`advice_document`."""
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise InputError(f"{source}: not a dbtune advice file (no \"format\": \"{FORMAT}\")")
    if document.get("version") != VERSION:
        raise InputError(f"{source}: advice file format version {document.get('version')!r}"
                         f" (written by dbtune {document.get('dbtune_version', '?')}); this "
                         f"dbtune reads version {VERSION} only")
    items = document.get("advice")
    if not isinstance(items, list):
        raise InputError(f"{source}: \"advice\" must be a list")
    return [_advice(item, f"{source}: advice[{i}]") for i, item in enumerate(items)]


def _advice(item: Any, where: str) -> Advice:
    try:
        fields = dict(item)
        fields.pop("basis", None)
        effects = [ClassEffect(**e) for e in fields.pop("effects", [])]
        advice = Advice(**fields, effects=effects)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{where}: malformed ({exc})") from None
    if advice.kind not in KINDS:
        raise InputError(f"{where}: unknown kind {advice.kind!r} (expected one of "
                         f"{', '.join(KINDS)})")
    if not advice.ddl or not all(isinstance(s, str) for s in advice.ddl + advice.rollback):
        raise InputError(f"{where}: ddl and rollback must be lists of statements")
    return advice

"""Read FAQ sources (CSV, JSONL, Parquet, a local dataset directory, or a Hub dataset).

Hub datasets, CSV and JSONL go through ``datasets``; local Parquet (what ``faqbot build``
writes) is read with pyarrow, the library ``datasets`` itself reads it with, which keeps
``import datasets`` (about 1.5 s and 185 MB) off the bot's cold start. Either way the
result is one ``pyarrow.Table``, validated into plain ``FaqRow`` objects.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.errors import UserError
from bot.faq.links import check_url

if TYPE_CHECKING:
    import pyarrow as pa

log = logging.getLogger(__name__)

FILE_BUILDERS = {".csv": "csv", ".jsonl": "json", ".json": "json", ".parquet": "parquet"}
# Ids travel in Slack button values (at most 2,000 characters) and log rows; derived ones
# are under 60. Every row is held to it: a dataset's, a Hub commit's and an edit's.
MAX_ID_CHARS = 200


@dataclass(frozen=True)
class FaqRow:
    """One FAQ entry. ``phrasings`` are the question followed by its alternates."""

    id: str
    question: str
    answer: str
    url: str = ""
    alternates: tuple[str, ...] = ()
    category: str = ""

    @property
    def phrasings(self) -> tuple[str, ...]:
        return (self.question, *self.alternates)


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return " ".join(str(value).split())


def _alternates(value: Any) -> tuple[str, ...]:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ()
    items = value if isinstance(value, (list, tuple)) else _split_alternates(str(value))
    return tuple(dict.fromkeys(t for t in (_text(i) for i in items) if t))


def _split_alternates(text: str) -> list[str]:
    """``a | b``, or a JSON list of strings (as a spreadsheet export may write it)."""
    if text.lstrip().startswith("["):
        try:
            items = json.loads(text)
        except ValueError:
            items = None
        if isinstance(items, list) and all(isinstance(i, str) for i in items):
            return items
    return text.split("|")


def slug_id(question: str) -> str:
    """A stable id derived from the question, for sources without an ``id`` column."""
    slug = re.sub(r"[^a-z0-9]+", "-", question.lower()).strip("-")[:48].rstrip("-")
    digest = hashlib.sha1(question.encode("utf-8")).hexdigest()[:6]
    return f"{slug}-{digest}" if slug else digest


def _local_data_files(path: Path) -> tuple[str, list[str]]:
    """The ``datasets`` builder and files for a local file or dataset directory."""
    if path.is_file():
        builder = FILE_BUILDERS.get(path.suffix.lower())
        if builder is None:
            raise UserError(
                f"{path} is not a CSV, JSONL or Parquet file",
                "give a .csv, .jsonl or .parquet file, a dataset directory, or a Hub dataset id",
            )
        return builder, [str(path)]
    for pattern in ("data/*.parquet", "*.parquet", "data/*.jsonl", "*.jsonl", "*.csv"):
        files = sorted(str(p) for p in path.glob(pattern))
        if files:
            return FILE_BUILDERS[Path(files[0]).suffix.lower()], files
    raise UserError(f"{path} holds no .parquet, .jsonl or .csv files",
                    "build one with `faqbot build SOURCE --out DIR`")


def is_local(spec: str) -> bool:
    """A path that exists, looks like a path, or names a file type; else a Hub dataset id."""
    return (Path(spec).expanduser().exists() or spec.startswith((".", "/", "~"))
            or Path(spec).suffix.lower() in FILE_BUILDERS)


def check_csv(path: Path) -> None:
    """Refuse what pandas would misread silently: rows with more or fewer fields than the
    header (pandas turns an extra leading field into the row index) and text not in UTF-8."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f)
            header = next(reader, [])
            if not header:
                raise UserError(f"{path} is empty", "add a question,answer header and rows")
            for row in reader:
                if row and len(row) != len(header):
                    raise UserError(
                        f"{path} line {reader.line_num} has {len(row)} fields but the header "
                        f"has {len(header)}",
                        "quote fields that contain commas, or fix that line")
    except UnicodeDecodeError:
        raise UserError(f"{path} is not UTF-8 text", "save it as UTF-8 (CSV UTF-8)") from None
    except csv.Error as exc:
        raise UserError(f"{path} is not valid CSV: {exc}", "fix the quoting") from None


def _read_parquet(files: list[str], path: Path) -> pa.Table:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        # ParquetFile, not read_table: read_table pulls in pyarrow.dataset and pandas.
        return pa.concat_tables([pq.ParquetFile(f).read() for f in files])
    except (OSError, pa.ArrowException) as exc:
        raise UserError(f"cannot read {path}: {_first_line(exc)}",
                        "rebuild it with `faqbot build`") from None


def load_table(spec: str, revision: str = "main", token: str = "") -> pa.Table:
    """Load a local path or a Hub dataset id (at ``revision``) as one Arrow table."""
    if is_local(spec):
        path = Path(spec).expanduser()
        if not path.exists():
            raise UserError(f"FAQ source {spec} does not exist", "check the path")
        builder, files = _local_data_files(path)
        if builder == "parquet":
            return _read_parquet(files, path)
        if builder == "csv":
            for file in files:
                check_csv(Path(file))
    import datasets

    datasets.logging.set_verbosity(logging.CRITICAL)  # its errors come back to us as one line
    datasets.disable_progress_bars()
    if is_local(spec):
        try:
            return datasets.load_dataset(builder, data_files=files, split="train").data.table
        except Exception as exc:  # pyarrow/pandas parse errors come in many types
            if "corresponds to no data" in str(exc):  # a header-only or empty file
                raise UserError(f"{path} has no rows",
                                "add at least one question/answer row") from None
            raise UserError(
                f"cannot read {path}: {_first_line(_root_cause(exc))}",
                "write one JSON object per line" if builder == "json"
                else "check that the file is valid",
            ) from None
    try:
        loaded = datasets.load_dataset(spec, revision=revision or None, split="train",
                                       token=token or None)
    except Exception as exc:  # DatasetNotFoundError, HTTP and connection errors
        log.debug("loading %s failed", spec, exc_info=True)
        raise UserError(
            f"cannot load the Hub dataset {spec!r} at revision {revision!r} "
            f"({type(exc).__name__}: {_first_line(exc)})",
            "check FAQ_DATASET and FAQ_DATASET_REVISION, set HF_TOKEN for a private dataset, "
            "or use a local path",
        ) from None
    return loaded.data.table


def _root_cause(exc: BaseException) -> BaseException:
    """``datasets`` wraps parse errors in a generic one; the innermost names the problem."""
    while exc.__cause__ is not None or exc.__context__ is not None:
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    return exc


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


def rows_from_records(records: Iterable[Mapping[str, Any]], *, where: str) -> list[FaqRow]:
    """Validate ``question``/``answer`` rows; ids are unique, derived when absent."""
    rows: list[FaqRow] = []
    seen: dict[str, int] = {}
    for n, record in enumerate(records):
        question, answer = _text(record.get("question")), _text(record.get("answer"))
        if not question or not answer:
            missing = "question" if not question else "answer"
            raise UserError(f"{where} row {n} has an empty {missing}",
                            "fill it in or remove the row")
        row_id = _text(record.get("id")) or slug_id(question)
        if len(row_id) > MAX_ID_CHARS:
            raise UserError(f"{where} row {n} has an id of {len(row_id):,} characters, longer "
                            f"than {MAX_ID_CHARS}",
                            "shorten it (Slack buttons carry the id, and cap what they carry)")
        if row_id in seen:
            raise UserError(f"{where} has duplicate id {row_id!r} (rows {seen[row_id]} and {n})",
                            "give every row a unique id")
        seen[row_id] = n
        rows.append(FaqRow(
            id=row_id, question=question, answer=answer,
            url=check_url(_text(record.get("url")), where=where, row=n),
            alternates=_alternates(record.get("alternates")),
            category=_text(record.get("category")),
        ))
    if not rows:
        raise UserError(f"{where} has no rows", "add at least one question/answer row")
    return rows


def require_columns(columns: Iterable[str], *, where: str) -> None:
    missing = [c for c in ("question", "answer") if c not in set(columns)]
    if missing:
        raise UserError(
            f"{where} has no {' or '.join(repr(m) for m in missing)} column "
            f"(columns: {', '.join(sorted(columns))[:200]})",
            "name the columns question and answer (optional: id, url, alternates, category)",
        )


def read_source(spec: str, revision: str = "main", token: str = "") -> list[FaqRow]:
    """Read and validate an FAQ source for ``faqbot build``."""
    table = load_table(spec, revision, token)
    require_columns(table.column_names, where=spec)
    keep = [c for c in ("id", "question", "answer", "url", "alternates", "category")
            if c in table.column_names]
    return rows_from_records(table.select(keep).to_pylist(), where=spec)

"""Build embedded FAQ datasets, and load any supported layout into a searchable ``FaqData``.

A built dataset is laid out like a Hub dataset repo (``data/train-00000-of-00001.parquet``
plus a ``README.md`` card). The card's YAML records the model id and dimension, so the
same files work as ``FAQ_DATASET=DIR`` or, once pushed, as ``FAQ_DATASET=org/name``.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from bot.errors import UserError
from bot.faq.advice import faq_warnings
from bot.faq.calibration import Calibration, learn
from bot.faq.embedders.served_model import check_served
from bot.faq.index import FaqIndex, normalize_rows
from bot.faq.model_identity import (
    MODEL_DIR_KEY,
    ModelIdentity,
    card_fields,
    check_identity,
    identity_of,
)
from bot.faq.scoring import mean_directions, segment_starts
from bot.faq.sources import (
    FaqRow,
    is_local,
    load_table,
    read_source,
    require_columns,
    rows_from_records,
)
from bot.faq.thresholds import Thresholds
from bot.faq.vectors import blocks_of, matrix_of

if TYPE_CHECKING:
    import pyarrow as pa

    from bot.faq.embedders import Embedder

log = logging.getLogger(__name__)

DATA_FILE = "data/train-00000-of-00001.parquet"
BATCH_SIZE = 32
RECORD_SLICE = 2048  # rows turned into Python objects per C call at load
NUMERIC_COLUMN = re.compile(r"^\d+$")
# A card's YAML front matter; group 1 is the YAML.
FRONT_MATTER = re.compile(r"^---\s*\n(.*?)\n---\s*(\n|$)", re.S)
TEXT_COLUMNS = ("id", "question", "answer", "url", "alternates", "category")


def content_hash(model_id: str, row: FaqRow) -> str:
    """What the vectors of a row depend on: a rebuild re-embeds a row only when this changes."""
    text = "\n".join((model_id, *row.phrasings))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


@dataclass
class FaqData:
    """FAQ rows plus one unit vector per phrasing; ``phrase_rows[i]`` is phrasing i's row.

    Its lookups are the questions callers ask of it, so none of them decodes the layout.
    """

    rows: list[FaqRow]
    index: FaqIndex
    phrase_rows: np.ndarray
    model_id: str
    source: str
    calibration: Calibration | None = field(default=None)
    edited: frozenset[str] = frozenset()  # ids whose row comes from a database edit
    thresholds: Thresholds | None = field(default=None)  # stored by `faqbot eval --write`
    model: ModelIdentity | None = field(default=None)  # the model files that made the vectors
    _by_id: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._by_id = {row.id: n for n, row in enumerate(self.rows)}

    def __len__(self) -> int:
        return len(self.rows)

    @cached_property
    def starts(self) -> np.ndarray:
        """Index of each row's first phrasing in the index."""
        return segment_starts(self.phrase_rows)

    @cached_property
    def mean_directions(self) -> np.ndarray:
        """One unit vector per row: the normalised mean of its phrasings."""
        return mean_directions(self.index.matrix, self.starts)

    def by_id(self, faq_id: str) -> FaqRow | None:
        """The FAQ with this id; None if there is none (say, the dataset changed)."""
        row = self._by_id.get(faq_id)
        return None if row is None else self.rows[row]

    def row_of(self, faq_id: str) -> int | None:
        """The row number of the FAQ with this id, in ``rows`` and the per-row scores."""
        return self._by_id.get(faq_id)

    def vectors(self, row: int) -> np.ndarray:
        """The unit vectors of ``row``'s phrasings (a view into the index)."""
        start = int(self.starts[row])
        return self.index.matrix[start:start + len(self.rows[row].phrasings)]

    def origin(self, faq_id: str) -> str:
        """Where the FAQ's current text comes from: ``edit`` (the database) or ``dataset``."""
        return "edit" if faq_id in self.edited else "dataset"

    def matched_phrasing(self, row: int, phrase_scores: np.ndarray) -> str:
        """The phrasing of ``row`` (its question or an alternate) that scored highest, from
        one score per index row."""
        phrasings = self.rows[row].phrasings
        start = int(self.starts[row])
        return phrasings[int(phrase_scores[start:start + len(phrasings)].argmax())]

    def examples(self, count: int) -> list[str]:
        """``count`` questions spread across the dataset, for help texts."""
        picks = sorted({n * len(self.rows) // count for n in range(count)}) if self.rows else []
        return [self.rows[n].question for n in picks]


# ---------------------------------------------------------------- dataset card

def card_text(model_id: str, dim: int, rows: int,
              calibration: Calibration | None = None,
              model: ModelIdentity | None = None) -> str:
    """The dataset card; its ``faqbot:`` block carries what loading needs (and survives a
    push): the model, the dimension and, when one was learned, the calibration."""
    import yaml

    block: dict[str, Any] = {"model": model_id, "dim": dim, "rows": rows, **card_fields(model)}
    if calibration is not None:
        block["calibration"] = calibration.to_meta()
    meta = yaml.safe_dump({"faqbot": block}, sort_keys=False, allow_unicode=True).rstrip()
    return f"""---
configs:
- config_name: default
  data_files:
  - split: train
    path: data/train-*.parquet
{meta}
tags:
- faqbot
---
# FAQ embeddings

{rows} FAQ entries embedded with `{model_id}` ({dim} dimensions) by
faqbot (`faqbot build`). Load it with `FAQ_DATASET=<this repo>`.
Columns: `id`, `question`, `answer`, `url`, `alternates`, `category`, `embedding`
(the question's unit vector), `alternate_embeddings`, `content_hash`.
"""


def parse_card(text: str) -> dict[str, Any]:
    """The ``faqbot:`` block of a card's YAML front matter, or {} when there is none."""
    import yaml

    match = FRONT_MATTER.match(text)
    if not match:
        return {}
    try:
        meta = yaml.safe_load(match.group(1)) or {}
    except yaml.YAMLError:
        return {}
    block = meta.get("faqbot") if isinstance(meta, dict) else None
    return block if isinstance(block, dict) else {}


def read_card(spec: str, revision: str, token: str) -> dict[str, Any]:
    if is_local(spec):
        path = Path(spec).expanduser()
        for candidate in (path / "README.md", path.parent / "README.md",
                          path.parent.parent / "README.md"):
            if candidate.is_file():
                return parse_card(candidate.read_text(encoding="utf-8"))
        return {}
    from huggingface_hub import hf_hub_download

    try:
        card = hf_hub_download(spec, "README.md", repo_type="dataset",
                               revision=revision or None, token=token or None)
    except Exception:  # a dataset without a card is valid; its layout decides
        log.debug("no card for %s", spec, exc_info=True)
        return {}
    return parse_card(Path(card).read_text(encoding="utf-8"))


# ---------------------------------------------------------------------- build

@dataclass(frozen=True)
class BuildReport:
    rows: int
    embedded: int
    reused: int
    out: Path
    calibrated: bool = False
    warnings: tuple[str, ...] = ()


def _previous_vectors(out: Path, model_id: str) -> dict[str, tuple[list, list]]:
    """Vectors of an earlier build in ``out``, keyed by content hash (same model only)."""
    data_file = out / DATA_FILE
    if not data_file.is_file() or parse_card_file(out).get("model") != model_id:
        return {}
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.ParquetFile(data_file).read(
            columns=["content_hash", "embedding", "alternate_embeddings"]).to_pylist()
    except (OSError, pa.ArrowException, KeyError):  # damaged, or not one of our builds
        log.warning("ignoring the unreadable earlier build in %s; embedding every row", out)
        return {}
    return {r["content_hash"]: (r["embedding"], r["alternate_embeddings"]) for r in table}


def prepare_out(out: Path) -> None:
    """Fail on an unusable --out before spending time on embeddings."""
    try:
        (out / "data").mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot write to --out {out} ({exc.strerror or type(exc).__name__})",
                        "give a directory you can write to") from None


def parse_card_file(directory: Path) -> dict[str, Any]:
    card = directory / "README.md"
    return parse_card(card.read_text(encoding="utf-8")) if card.is_file() else {}


def embed_in_batches(embedder: Embedder, texts: Sequence[str], *, progress: bool,
                     desc: str = "embedding") -> np.ndarray:
    from tqdm.auto import tqdm

    parts = []
    with tqdm(total=len(texts), desc=desc, unit="text", disable=not progress) as bar:
        for start in range(0, len(texts), BATCH_SIZE):
            batch = texts[start:start + BATCH_SIZE]
            parts.append(embedder.embed(batch))
            bar.update(len(batch))
    if not parts:
        return np.empty((0, embedder.dim), dtype=np.float32)
    return normalize_rows(np.concatenate(parts), what="embeddings from the model")


def embed_phrasings(embedder: Embedder, rows: Sequence[FaqRow], *,
                    progress: bool) -> list[np.ndarray]:
    """One (phrasings, dim) block of unit vectors per row, embedded in shared batches."""
    matrix = embed_in_batches(embedder, [p for r in rows for p in r.phrasings],
                              progress=progress)
    ends = np.cumsum([len(r.phrasings) for r in rows])
    return np.split(matrix, ends[:-1]) if len(rows) else []


def build(source: str, out: Path, embedder: Embedder, *, revision: str = "main",
          token: str = "", progress: bool = True,
          calibration: Calibration | None = None) -> BuildReport:
    """Embed an FAQ source into ``out``, re-embedding only rows whose text changed;
    ``calibration``: the decision learned elsewhere (a tuned model's, cross-fitted) instead
    of from the vectors written."""
    rows = read_source(source, revision, token)
    prepare_out(out)
    previous = _previous_vectors(out, embedder.model_id)
    hashes = [content_hash(embedder.model_id, r) for r in rows]
    todo = [i for i, h in enumerate(hashes) if h not in previous]
    fresh = embed_phrasings(embedder, [rows[i] for i in todo], progress=progress)
    vectors: dict[int, tuple[list, list]] = {}
    for i, block in zip(todo, fresh, strict=True):
        vectors[i] = (block[0].tolist(), block[1:].tolist())
    for i, h in enumerate(hashes):
        vectors.setdefault(i, previous.get(h, ([], [])))
    blocks = [np.asarray([vectors[i][0], *vectors[i][1]], dtype=np.float32)
              for i in range(len(rows))]
    faq = assemble(rows, blocks, embedder, source)
    calibration, warnings = write_dataset(out, faq, hashes, calibration=calibration)
    return BuildReport(rows=len(rows), embedded=len(todo), reused=len(rows) - len(todo), out=out,
                       calibrated=calibration is not None, warnings=warnings)


def write_dataset(out: Path, faq: FaqData, hashes: Sequence[str] | None = None, *,
                  calibration: Calibration | None = None) -> tuple[Calibration | None,
                                                                   tuple[str, ...]]:
    """Write ``faq`` (rows and vectors) to ``out`` in the Hub layout, with ``calibration``
    or else the one learned from it; returns that calibration and the advice on weak FAQs.

    ``faqbot build`` and ``faqbot export`` both write through here, so what one writes the
    other reads, and a later build re-embeds only the rows whose text changed.
    """
    import datasets

    datasets.disable_progress_bars()  # writing one small table needs no bar
    rows = faq.rows
    hashes = hashes or [content_hash(faq.model_id, r) for r in rows]
    if calibration is None:
        calibration = learn(faq.index.matrix, faq.phrase_rows, [r.id for r in rows])
    warnings = faq_warnings(rows, faq.mean_directions)
    blocks = [faq.vectors(n) for n in range(len(rows))]
    dim = faq.index.dim
    vector = datasets.List(datasets.Value("float32"), length=dim)
    features = datasets.Features({
        "id": datasets.Value("string"), "question": datasets.Value("string"),
        "answer": datasets.Value("string"), "url": datasets.Value("string"),
        "alternates": datasets.List(datasets.Value("string")),
        "category": datasets.Value("string"), "embedding": vector,
        "alternate_embeddings": datasets.List(vector), "content_hash": datasets.Value("string"),
    })
    table = datasets.Dataset.from_dict({
        "id": [r.id for r in rows], "question": [r.question for r in rows],
        "answer": [r.answer for r in rows], "url": [r.url for r in rows],
        "alternates": [list(r.alternates) for r in rows],
        "category": [r.category for r in rows],
        "embedding": [b[0].tolist() for b in blocks],
        "alternate_embeddings": [b[1:].tolist() for b in blocks],
        "content_hash": list(hashes),
    }, features=features)
    try:
        table.to_parquet(str(out / DATA_FILE))
        (out / "README.md").write_text(
            card_text(faq.model_id, dim, len(rows), calibration, faq.model), encoding="utf-8")
    except OSError as exc:
        raise UserError(f"cannot write to --out {out} ({exc.strerror or type(exc).__name__})",
                        "give a directory you can write to, with free space") from None
    return calibration, warnings


def push(out: Path, repo_id: str, token: str) -> str:
    """Push a built dataset with ``datasets``, then put our card (model id, dim) on it."""
    import datasets
    from huggingface_hub import HfApi

    carried = parse_card_file(out).get(MODEL_DIR_KEY)
    if carried:  # a tuned model: vectors and model in one commit
        return _push_with_model(out, repo_id, token, str(carried))
    table = datasets.load_dataset("parquet", data_files=str(out / DATA_FILE), split="train")
    try:
        table.push_to_hub(repo_id, token=token or None)
        HfApi(token=token or None).upload_file(
            path_or_fileobj=str(out / "README.md"), path_in_repo="README.md",
            repo_id=repo_id, repo_type="dataset", commit_message="faqbot card: model and dim",
        )
    except Exception as exc:  # HTTP and auth errors from the Hub
        raise UserError(f"push to {repo_id} failed ({type(exc).__name__})",
                        "check HF_TOKEN has write access and the repo id is yours") from None
    return f"https://huggingface.co/datasets/{repo_id}"


def _push_with_model(out: Path, repo_id: str, token: str, carried: str) -> str:
    """One commit holding the data, the card and the model: a server following the branch
    then never sees new vectors beside an old model, or the reverse."""
    from huggingface_hub import HfApi

    api = HfApi(token=token or None)
    try:
        api.create_repo(repo_id, repo_type="dataset", exist_ok=True)
        api.upload_folder(folder_path=str(out), repo_id=repo_id, repo_type="dataset",
                          allow_patterns=[DATA_FILE, "README.md", f"{carried}/*"],
                          delete_patterns=[f"{carried}/*"],
                          commit_message="faqbot: FAQ vectors and the model tuned to them")
    except Exception as exc:  # HTTP and auth errors from the Hub
        raise UserError(f"push to {repo_id} failed ({type(exc).__name__})",
                        "check HF_TOKEN has write access and the repo id is yours") from None
    return f"https://huggingface.co/datasets/{repo_id}"


# ----------------------------------------------------------------------- load

def _check_model(meta: dict[str, Any], embedder: Embedder, where: str) -> None:
    model = meta.get("model")
    if model and model != embedder.model_id:
        raise UserError(
            f"{where} was embedded with {model}, but the embedder is {embedder.model_id}",
            f"set EMBEDDING_MODEL={model}, or rebuild the dataset with `faqbot build`",
        )


def _check_dim(dim: int, embedder: Embedder, where: str) -> None:
    if dim != embedder.dim:
        raise UserError(
            f"{where} has {dim}-dimensional embeddings, but {embedder.model_id} makes "
            f"{embedder.dim}-dimensional ones",
            "use the model the dataset was built with, or rebuild it with `faqbot build`",
        )


def _texts_rows(path: str, where: str) -> list[FaqRow]:
    if not path:
        raise UserError(
            f"{where} holds only embeddings (columns 0…n) and no question/answer text",
            "set FAQ_TEXTS to a CSV/JSONL of question,answer[,url] rows in the same order",
        )
    return read_source(path)


def load_faq(spec: str, embedder: Embedder, *, revision: str = "main", texts: str = "",
             token: str = "", progress: Callable[[str], None] | None = None) -> FaqData:
    """Load any supported layout and return rows with one unit vector per phrasing."""
    table = load_table(spec, revision, token)
    columns = table.column_names
    numeric = sorted((c for c in columns if NUMERIC_COLUMN.match(c)), key=int)
    if "embedding" not in columns and numeric and "question" not in columns:
        rows = _texts_rows(texts, spec)
        if len(rows) != len(table):
            raise UserError(
                f"{spec} has {len(table)} embeddings but FAQ_TEXTS has {len(rows)} rows",
                "FAQ_TEXTS must list the same FAQs in the same order",
            )
        _check_dim(len(numeric), embedder, spec)
        try:
            matrix = np.column_stack([table.column(c).to_numpy(zero_copy_only=False)
                                      for c in numeric]).astype(np.float32)
        except (ValueError, TypeError):
            raise UserError(f"{spec} has non-numeric values in its embedding columns",
                            "re-export the embeddings as numbers") from None
        return assemble(rows, [matrix[i:i + 1] for i in range(len(rows))], embedder, spec)

    require_columns(columns, where=spec)
    keep = [c for c in TEXT_COLUMNS if c in columns]
    rows = rows_from_records(_records(table.select(keep)), where=spec)
    if "embedding" not in columns:
        if progress:
            progress(f"{spec} has no embeddings; embedding {len(rows)} FAQs at load")
        return assemble(rows, embed_phrasings(embedder, rows, progress=False), embedder, spec)

    card = read_card(spec, revision, token)
    _check_model(card, embedder, spec)
    check_identity(card, embedder, spec)
    questions = matrix_of(table.column("embedding"), where=spec, what="embedding")
    _check_dim(questions.shape[1], embedder, spec)
    if len(rows):
        check_served(card, embedder, spec, rows[0].question, questions[0])
    dim = questions.shape[1]
    extras = (blocks_of(table.column("alternate_embeddings"), dim=dim, where=spec,
                        what="alternate_embeddings") if "alternate_embeddings" in columns
              else [np.empty((0, dim), dtype=np.float32) for _ in rows])
    _embed_missing_alternates(rows, extras, embedder)
    blocks = [np.vstack([questions[i:i + 1], extra]) for i, extra in enumerate(extras)]
    faq = assemble(rows, blocks, embedder, spec)
    faq.calibration = Calibration.from_meta(card.get("calibration"))
    faq.thresholds = Thresholds.from_meta(card.get("thresholds"))
    return faq


def _records(table: pa.Table) -> Iterator[dict[str, Any]]:
    """The table's rows as dicts, a slice at a time: one ``to_pylist`` of a large table is
    one C call holding the GIL until all its Python objects exist (see ``bot.faq.vectors``)."""
    for batch in table.to_batches(max_chunksize=RECORD_SLICE):
        yield from batch.to_pylist()


def _embed_missing_alternates(rows: Sequence[FaqRow], extras: list[np.ndarray],
                              embedder: Embedder) -> None:
    """Rows whose alternates came without their vectors get them now, all in the build's
    batches: one call per row would embed a row's every alternate at once, whatever their
    number and length."""
    missing = [i for i, row in enumerate(rows) if len(extras[i]) != len(row.alternates)]
    if not missing:
        return
    texts = [text for i in missing for text in rows[i].alternates]
    fresh = embed_in_batches(embedder, texts, progress=False)
    ends = np.cumsum([len(rows[i].alternates) for i in missing])
    for i, block in zip(missing, np.split(fresh, ends[:-1]), strict=True):
        extras[i] = block


def assemble(rows: list[FaqRow], blocks: list[np.ndarray], embedder: Embedder,
             where: str, *, calibration: Calibration | None = None,
             edited: frozenset[str] = frozenset(), normalized: bool = False) -> FaqData:
    """One ``FaqData`` from each row's block of phrasing vectors, in row order.

    ``normalized``: the blocks are unit vectors already (a merge of loaded ones), so they
    are only stacked, which halves the cost of a reload."""
    phrase_rows = np.concatenate([np.full(len(b), i, dtype=np.int64)
                                  for i, b in enumerate(blocks)])
    stacked = np.vstack(blocks)
    matrix = stacked if normalized else normalize_rows(stacked, what=f"{where} embeddings")
    return FaqData(rows=rows, index=FaqIndex(matrix, normalized=True), phrase_rows=phrase_rows,
                   model_id=embedder.model_id, source=where, calibration=calibration,
                   edited=edited, model=identity_of(embedder))

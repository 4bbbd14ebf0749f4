"""Building and loading FAQ datasets in every supported layout."""

from __future__ import annotations

import csv
import json

import numpy as np
import pyarrow.parquet as pq
import pytest

from bot.errors import UserError
from bot.faq.answerer import Answerer
from bot.faq.dataset import DATA_FILE, build, load_faq, parse_card_file
from bot.faq.embedders.model_files import (
    PACKAGED_MODEL_SHA256,
    PACKAGED_TOKENIZER_SHA256,
    PACKAGED_WEIGHTS_SHA256,
    fingerprint_of,
)
from tests.conftest import SAMPLE_SOURCE


class CountingEmbedder:
    """The real local embedder, counting how many texts it was asked to embed."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.model_id = inner.model_id
        self.texts = 0

    @property
    def dim(self) -> int:
        return self.inner.dim

    def embed(self, texts):
        self.texts += len(texts)
        return self.inner.embed(texts)


def write_csv(path, rows):
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_build_writes_a_hub_layout_and_records_the_model(tmp_path, embedder):
    report = build(str(SAMPLE_SOURCE), tmp_path, embedder, progress=False)
    assert (report.rows, report.embedded, report.reused) == (13, 13, 0)
    card = parse_card_file(tmp_path)
    assert card.pop("calibration")["version"] == 1
    # the files that made the vectors: the float weights when the fast graph ran
    made_by = PACKAGED_WEIGHTS_SHA256 if embedder.fast else PACKAGED_MODEL_SHA256
    fingerprint = fingerprint_of(made_by, PACKAGED_TOKENIZER_SHA256)
    assert card == {"model": "sentence-transformers/all-MiniLM-L6-v2", "dim": 384, "rows": 13,
                    "model_sha256": fingerprint, "model_stock": True}
    table = pq.read_table(tmp_path / DATA_FILE)
    vectors = np.array(table["embedding"].to_pylist(), dtype=np.float32)
    assert vectors.shape == (13, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_rebuild_embeds_only_changed_rows(tmp_path, embedder):
    rows = [{"question": f"How do I do thing {n}?", "answer": f"Do {n}."} for n in range(5)]
    source = write_csv(tmp_path / "faq.csv", rows)
    counting = CountingEmbedder(embedder)
    assert build(str(source), tmp_path / "out", counting, progress=False).embedded == 5
    rows[2]["question"] = "How do I do something else entirely?"
    rows[4]["answer"] = "A new answer does not change the vectors."
    write_csv(source, rows)
    counting.texts = 0
    report = build(str(source), tmp_path / "out", counting, progress=False)
    assert (report.embedded, report.reused, counting.texts) == (1, 4, 1)
    loaded = load_faq(str(tmp_path / "out"), embedder)
    assert loaded.rows[4].answer == "A new answer does not change the vectors."
    fresh = embedder.embed(["How do I do something else entirely?"])[0]
    assert float(loaded.index.matrix[2] @ fresh) == pytest.approx(1.0, abs=1e-5)


def test_alternates_score_as_their_faq_and_choices_are_distinct(tmp_path, embedder):
    rows = [
        {"id": "vpn", "question": "How do I connect to the VPN?", "answer": "Use the client.",
         "alternates": "vpn is down | can't reach the intranet from home"},
        {"id": "wifi", "question": "What is the office wifi password?", "answer": "Ask IT.",
         "alternates": "wifi password | guest wifi"},
        {"id": "printer", "question": "How do I add the printer?", "answer": "Settings."},
        {"id": "laptop", "question": "How do I get a new laptop?", "answer": "File a ticket."},
    ]
    build(str(write_csv(tmp_path / "faq.csv", rows)), tmp_path / "out", embedder,
          progress=False)
    faq = load_faq(str(tmp_path / "out"), embedder)
    assert len(faq.phrase_rows) == 8 and int(np.bincount(faq.phrase_rows).max()) == 3
    answerer = Answerer(faq=faq, embedder=embedder, min_score=0.3, margin=1.0)
    _, hits = answerer.rank(embedder.embed(["can't reach the intranet from home"])[0])
    assert hits[0].id == "vpn" and hits[0].score == pytest.approx(1.0, abs=1e-5)
    assert hits[0].matched == "can't reach the intranet from home"
    assert len({h.row for h in hits}) == len(hits) == 4
    answer = answerer.ask("wifi password")
    assert answer.decision == "choices" and len({h.id for h in answer.shown}) == 3


def test_dataset_without_embeddings_is_embedded_at_load(tmp_path, embedder):
    notes = []
    faq = load_faq(str(SAMPLE_SOURCE), embedder, progress=notes.append)
    assert len(faq.rows) == 13 and "embedding 13 FAQs at load" in notes[0]
    # the same embedder's build (the shipped sample's vectors may come from another graph of
    # the stock model: the int8 file, where this one runs the fast graph)
    out = build(str(SAMPLE_SOURCE), tmp_path / "built", embedder, progress=False).out
    built = load_faq(str(out), embedder)
    assert np.allclose(faq.index.matrix, built.index.matrix, atol=1e-5)


def test_tutorial_embeddings_only_layout_with_faq_texts(tmp_path, embedder):
    rows = list(csv.DictReader(SAMPLE_SOURCE.open()))
    vectors = embedder.embed([r["question"] for r in rows])
    embeddings = tmp_path / "embeddings.csv"
    with embeddings.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow([str(i) for i in range(384)])
        writer.writerows(vectors.tolist())
    texts = write_csv(tmp_path / "texts.csv",
                      [{"question": r["question"], "answer": r["answer"], "url": r["url"]}
                       for r in rows])
    with pytest.raises(UserError, match="FAQ_TEXTS"):
        load_faq(str(embeddings), embedder)
    faq = load_faq(str(embeddings), embedder, texts=str(texts))
    answerer = Answerer(faq=faq, embedder=embedder, min_score=0.5, margin=0.035)
    answer = answerer.ask("How can Medicare help me?")
    assert [h.row for h in answer.candidates] == [8, 7, 3, 9, 10]
    short = write_csv(tmp_path / "short.csv", [{"question": "a?", "answer": "b"}])
    with pytest.raises(UserError, match="13 embeddings but FAQ_TEXTS has 1 rows"):
        load_faq(str(embeddings), embedder, texts=str(short))


def test_build_stores_the_learned_decision_and_old_cards_still_load(tmp_path, embedder):
    out = tmp_path / "out"
    report = build(str(SAMPLE_SOURCE), out, embedder, progress=False)
    assert report.calibrated and report.warnings == ()
    calibration = parse_card_file(out)["calibration"]
    assert set(calibration["typical"]) == {r["id"] for r in csv.DictReader(SAMPLE_SOURCE.open())}
    assert load_faq(str(out), embedder).calibration is not None
    card = out / "README.md"
    text = card.read_text()
    card.write_text(text[:text.index("  calibration:")] + text[text.index("tags:"):])
    old = load_faq(str(out), embedder)
    assert old.calibration is None
    answerer = Answerer(faq=old, embedder=embedder, min_score=0.51, margin=0.035)
    assert answerer.ask("How can Medicare help me?").decision == "choices"


def test_build_warns_about_faqs_without_alternates(tmp_path, embedder):
    rows = [{"id": "a", "question": "How do I reset my password?", "answer": "Self-service."},
            {"id": "b", "question": "Where is the office?", "answer": "Downtown."}]
    report = build(str(write_csv(tmp_path / "faq.csv", rows)), tmp_path / "out", embedder,
                   progress=False)
    assert not report.calibrated
    *lonely, small = report.warnings
    assert [w.split("'")[1] for w in lonely] == ["a", "b"]
    assert "too small to be trusted unprompted" in small  # nothing to simulate near-misses with


def test_an_id_longer_than_slack_can_carry_is_refused_at_build_and_load(tmp_path, embedder):
    from bot.faq.sources import MAX_ID_CHARS

    source = write_csv(tmp_path / "faq.csv", [
        {"id": "fine", "question": "How do I park?", "answer": "Level -1."},
        {"id": "x" * 5005, "question": "How do I eat?", "answer": "Canteen."}])
    for attempt in (lambda: build(str(source), tmp_path / "out", embedder, progress=False),
                    lambda: load_faq(str(source), embedder)):
        with pytest.raises(UserError, match=f"row 1 has an id of 5,005 characters, longer "
                                             f"than {MAX_ID_CHARS}"):
            attempt()
    # A built dataset whose parquet was edited afterwards (as a Hub commit can be) too.
    ok = write_csv(tmp_path / "ok.csv", [{"id": "fine", "question": "How do I park?",
                                          "answer": "Level -1."}])
    build(str(ok), tmp_path / "ds", embedder, progress=False)
    table = pq.read_table(tmp_path / "ds" / DATA_FILE)
    ids = table.column_names.index("id")
    pq.write_table(table.set_column(ids, "id", [["y" * (MAX_ID_CHARS + 1)]]),
                   tmp_path / "ds" / DATA_FILE)
    with pytest.raises(UserError, match="longer than"):
        load_faq(str(tmp_path / "ds"), embedder)


class LargestCall(CountingEmbedder):
    """Counts, and remembers the most texts one call asked for."""

    largest = 0

    def embed(self, texts):
        self.largest = max(self.largest, len(texts))
        return super().embed(texts)


def test_alternates_without_vectors_are_embedded_in_batches_at_load(tmp_path, embedder):
    """A dataset (or Hub commit) whose rows have alternates but no alternate vectors: they are
    embedded at load, in the batches a build uses, never all of a row's in one call."""
    from bot.faq.dataset import BATCH_SIZE

    alternates = [f"how do I get to meeting room {n} on floor {n % 7}" for n in range(128)]
    source = tmp_path / "faq.jsonl"
    source.write_text(json.dumps({"id": "rooms", "question": "Where is a meeting room?",
                                  "answer": "Ask reception.", "alternates": alternates}) + "\n")
    build(str(source), tmp_path / "ds", embedder, progress=False)
    data = tmp_path / "ds" / DATA_FILE
    table = pq.read_table(data)
    pq.write_table(table.drop(["alternate_embeddings"]), data)
    counting = LargestCall(embedder)
    faq = load_faq(str(tmp_path / "ds"), counting)
    assert counting.texts == 128 and counting.largest <= BATCH_SIZE
    built = load_faq(str(source), embedder)  # everything embedded by the build's path
    assert np.allclose(faq.index.matrix, built.index.matrix, atol=1e-5)


def _random_dataset(directory, rows: int, dim: int = 384) -> None:
    """``rows`` FAQs in a build's layout, each with one alternate, random unit vectors."""
    import pyarrow as pa

    rng = np.random.default_rng(9)

    def unit(count: int) -> pa.Array:
        vectors = rng.standard_normal((count, dim)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        return pa.FixedSizeListArray.from_arrays(pa.array(vectors.ravel()), dim)

    table = pa.table({
        "id": [f"faq-{n}" for n in range(rows)],
        "question": [f"How do I reach office {n}?" for n in range(rows)],
        "answer": [f"Call {n}." for n in range(rows)],
        "alternates": [[f"number of office {n}"] for n in range(rows)],
        "embedding": unit(rows),
        "alternate_embeddings": pa.ListArray.from_arrays(
            pa.array(np.arange(rows + 1, dtype=np.int32)), unit(rows)),
    })
    (directory / "data").mkdir(parents=True)
    pq.write_table(table, directory / DATA_FILE)
    (directory / "README.md").write_text(
        f"---\nfaqbot:\n  model: sentence-transformers/all-MiniLM-L6-v2\n  dim: {dim}\n---\n")


def test_vectors_load_without_a_python_object_per_number(tmp_path, embedder):
    """A large commit's vectors go from Arrow to numpy directly: building a Python float per
    number (``to_pylist``) holds the GIL for seconds on 100,000 rows, and every ack waits.
    Python's own allocations stay within a few times the matrix, not 8× it."""
    import tracemalloc

    _random_dataset(tmp_path, 5000)
    tracemalloc.start()
    try:
        faq = load_faq(str(tmp_path), embedder)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    table = pq.read_table(tmp_path / DATA_FILE)
    stored = np.vstack([np.stack(table["embedding"].to_numpy(zero_copy_only=False)),
                        np.stack([v[0] for v in table["alternate_embeddings"].to_pylist()])])
    assert len(faq.rows) == 5000 and faq.index.matrix.shape == (10000, 384)
    assert np.allclose(faq.index.matrix[0::2], stored[:5000], atol=1e-6)
    assert np.allclose(faq.index.matrix[1::2], stored[5000:], atol=1e-6)
    assert peak < 5 * faq.index.matrix.nbytes, (peak, faq.index.matrix.nbytes)


@pytest.mark.parametrize(("column", "values", "problem"), [
    ("embedding", [[0.6, 0.8], [1.0]], "malformed embedding"),
    ("embedding", [[0.6, 0.8], None], "malformed embedding"),
    ("embedding", [["a", "b"], ["c", "d"]], "malformed embedding"),
    ("embedding", [0.5, 0.5], "not a list of vectors"),
    ("alternate_embeddings", [[[0.6, 0.8]], [[1.0]]], "row 1 has malformed"),
    ("alternate_embeddings", [[[0.6, 0.8]], [[0.6, None]]], "row 1 has malformed"),
])
def test_malformed_vectors_are_one_line_errors(tmp_path, column, values, problem) -> None:
    import pyarrow as pa

    class TwoD:
        model_id, dim = "sentence-transformers/all-MiniLM-L6-v2", 2

    columns = {"question": ["a?", "b?"], "answer": ["A", "B"],
               "alternates": [["aa"], ["bb"]], "embedding": [[0.6, 0.8], [0.8, 0.6]],
               "alternate_embeddings": [[[0.6, 0.8]], [[0.8, 0.6]]], column: values}
    (tmp_path / "data").mkdir()
    pq.write_table(pa.table(columns), tmp_path / DATA_FILE)
    (tmp_path / "README.md").write_text(
        "---\nfaqbot:\n  model: sentence-transformers/all-MiniLM-L6-v2\n  dim: 2\n---\n")
    with pytest.raises(UserError, match=problem):
        load_faq(str(tmp_path), TwoD())

"""The `faqbot` command as a user runs it: output contracts and one-line errors (exit 2)."""

from __future__ import annotations

import csv
import json
import time

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from bot.cli import main
from tests.conftest import ROOT, clean_env, run_cli

TUTORIAL = [(8, 0.7565), (7, 0.7419), (3, 0.7253), (9, 0.6736), (10, 0.6505)]


def assert_one_line_error(stderr: str, *words: str) -> None:
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: ") and "Fix:" in lines[0], stderr
    assert "Traceback" not in stderr
    for word in words:
        assert word in lines[0], stderr


def test_tutorial_reference_query(tmp_path):
    result = run_cli("ask", "How can Medicare help me?", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert [c["row"] for c in out["candidates"]] == [row for row, _ in TUTORIAL]
    for candidate, (_, published) in zip(out["candidates"], TUTORIAL, strict=True):
        assert abs(candidate["score"] - published) <= 0.005
        assert set(candidate) == {"id", "row", "question", "answer", "url", "score",
                                  "decision_score"}
    assert out["decision"] == "choices"
    assert [s["row"] for s in out["shown"]] == [8, 7, 3]


def test_paraphrase_gets_one_answer_and_chatter_gets_none(capsys):
    assert main(["ask", "hey all, i lost my medicare card, how do i get a new one?", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["decision"] == "answer"
    assert [s["id"] for s in out["shown"]] == ["replacement-card"]
    assert main(["ask", "lol who broke the build again", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["decision"] == "none" and out["shown"] == []
    assert len(out["candidates"]) == 5


def test_near_miss_stays_silent(capsys):
    assert main(["ask", "how do I enroll in the company 401k?", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["decision"] == "none"


def test_human_output_is_short(capsys):
    assert main(["ask", "How can Medicare help me?"]) == 0
    out = capsys.readouterr().out
    assert "1. How can I get help with my Medicare Part A and Part B premiums?" in out
    assert "(score 0.76)" in out


@pytest.mark.parametrize("question", ["", "   \n\t "])
def test_empty_question_is_refused(question):
    result = run_cli("ask", question)
    assert result.returncode == 2
    assert_one_line_error(result.stderr, "empty")


def test_huge_question_is_truncated_not_refused(capsys):
    question = "How do I get a replacement Medicare card? " + "🙂 blah " * 12_500
    assert len(question.encode()) > 100_000
    assert main(["ask", question, "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["candidates"][0]["id"] == "replacement-card"
    assert "only its beginning was used" in captured.err


def test_help_is_fast():
    start = time.perf_counter()
    result = run_cli("--help")
    assert result.returncode == 0 and "ask" in result.stdout
    assert time.perf_counter() - start < 5  # generous; benchmarks/cold_start.py measures it


def write_dataset(path, columns: dict, card: str | None = None):
    (path / "data").mkdir(parents=True)
    pq.write_table(pa.table(columns), path / "data" / "train-00000-of-00001.parquet")
    if card is not None:
        (path / "README.md").write_text(card)
    return path


def vectors(n: int, dim: int = 384) -> list[list[float]]:
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, dim)).astype(np.float32).tolist()


def ask_with(monkeypatch, capsys, **env: str) -> tuple[int, str]:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    code = main(["ask", "How do I get a replacement Medicare card?"])
    return code, capsys.readouterr().err


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), 0.0])
def test_nan_inf_or_zero_vectors_are_refused(tmp_path, monkeypatch, capsys, bad):
    embeddings = vectors(2)
    embeddings[1] = [bad] * 384 if bad == 0.0 else [bad, *embeddings[1][1:]]
    data = write_dataset(tmp_path / "ds", {"question": ["a?", "b?"], "answer": ["x", "y"],
                                           "embedding": embeddings})
    code, err = ask_with(monkeypatch, capsys, FAQ_DATASET=str(data))
    assert code == 2
    assert_one_line_error(err, "row 1", "faqbot build")


def test_dimension_mismatch_is_refused(tmp_path, monkeypatch, capsys):
    data = write_dataset(tmp_path / "ds", {"question": ["a?"], "answer": ["x"],
                                           "embedding": vectors(1, 768)})
    code, err = ask_with(monkeypatch, capsys, FAQ_DATASET=str(data))
    assert code == 2
    assert_one_line_error(err, "768-dimensional", "384-dimensional")


def test_model_mismatch_is_refused(tmp_path, monkeypatch, capsys):
    card = "---\nfaqbot:\n  model: BAAI/bge-small-en-v1.5\n  dim: 384\n---\n"
    data = write_dataset(tmp_path / "ds", {"question": ["a?"], "answer": ["x"],
                                           "embedding": vectors(1)}, card)
    code, err = ask_with(monkeypatch, capsys, FAQ_DATASET=str(data))
    assert code == 2
    assert_one_line_error(err, "BAAI/bge-small-en-v1.5", "EMBEDDING_MODEL")


@pytest.mark.parametrize(("rows", "problem"), [
    ("id,question,answer\nx,How?,Like this.\nx,Why?,Because.\n", "duplicate id 'x'"),
    ("question,answer\n", "no rows"),
], ids=["duplicate-ids", "empty"])
def test_a_bad_csv_dataset_is_refused(tmp_path, monkeypatch, capsys, rows, problem):
    source = tmp_path / "faq.csv"
    source.write_text(rows)
    code, err = ask_with(monkeypatch, capsys, FAQ_DATASET=str(source))
    assert code == 2
    assert_one_line_error(err, problem)


def test_source_without_question_column_is_refused(tmp_path):
    source = tmp_path / "faq.csv"
    source.write_text("title,body\nHow?,Like this.\n")
    result = run_cli("build", str(source), "--out", str(tmp_path / "out"))
    assert result.returncode == 2
    assert_one_line_error(result.stderr, "'question'", "'answer'", "column")


def test_unknown_backend_is_refused():
    result = run_cli("ask", "hi", env=clean_env(EMBEDDING_BACKEND="gpu"))
    assert result.returncode == 2
    assert_one_line_error(result.stderr, "EMBEDDING_BACKEND='gpu'")


def test_a_bad_log_retention_stops_serve_at_start():
    result = run_cli("serve", "--port", "0", env=clean_env(LOG_RETENTION_DAYS="-30"))
    assert result.returncode == 2
    assert_one_line_error(result.stderr, "LOG_RETENTION_DAYS='-30'", "0 to keep the log")


def test_missing_model_file_is_refused(tmp_path, monkeypatch, capsys):
    (tmp_path / "tokenizer.json").write_text("{}")
    code, err = ask_with(monkeypatch, capsys, EMBEDDING_MODEL_DIR=str(tmp_path))
    assert code == 2
    assert_one_line_error(err, "no model.onnx")


def test_corrupt_model_file_is_refused(tmp_path, embedder, monkeypatch, capsys):
    embedder.dim  # noqa: B018  (loads the model, so its files are known)
    (tmp_path / "tokenizer.json").write_bytes(embedder.files.tokenizer.read_bytes())
    (tmp_path / "model.onnx").write_bytes(embedder.files.model.read_bytes()[:100_000])
    code, err = ask_with(monkeypatch, capsys, EMBEDDING_MODEL_DIR=str(tmp_path))
    assert code == 2
    assert_one_line_error(err, "cannot load the model")


# What the thresholds learned at build reach on the sample, with no labels used to learn
# them. eval.csv was written against the old background list (its near-misses: other
# cards, other premiums, other penalties) and now sits under the 95 % targets; see the
# README's "Answer quality".
QUALITY = {"eval.csv": (0.92, 0.80, 0.90), "holdout.csv": (0.95, 0.80, 0.95)}


@pytest.mark.parametrize("labelled", ["eval.csv", "holdout.csv"])
def test_eval_json_contract_and_quality_targets(capsys, labelled):
    assert main(["eval", str(ROOT / "examples/medicare" / labelled), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    for key in ("n", "answered_correctly", "top1_accuracy", "shown_recall",
                "abstain_precision", "abstain_recall", "choices_rate"):
        assert key in out
    assert set(out["suggested"]) == {"min_score", "margin"}
    assert out["calibrated"] is True
    recall, single, silence = QUALITY[labelled]
    assert out["shown_recall"] >= recall
    assert out["single_answer_accuracy"] >= single
    assert out["abstain_recall"] >= silence
    assert out["choices_rate"] <= 0.10


@pytest.mark.parametrize(("content", "words"), [
    ("question,answer\nHow do I get a card?,Call us,extra\n", ("line 2 has 3 fields",)),
    ("", ("is empty",)),
])
def test_malformed_csv_is_refused_not_misread(tmp_path, monkeypatch, capsys, content, words):
    source = tmp_path / "faq.csv"
    source.write_text(content)
    code, err = ask_with(monkeypatch, capsys, FAQ_DATASET=str(source))
    assert code == 2
    assert_one_line_error(err, *words)


def test_non_utf8_csv_is_one_clear_line(tmp_path, monkeypatch, capsys):
    source = tmp_path / "faq.csv"
    source.write_bytes("question,answer\nQué es Medicare?,Un seguro.\n".encode("latin-1"))
    code, err = ask_with(monkeypatch, capsys, FAQ_DATASET=str(source))
    assert code == 2
    assert_one_line_error(err, "not UTF-8")


def test_jsonl_and_json_list_alternates_and_a_bom(tmp_path, monkeypatch, capsys):
    source = tmp_path / "faq.csv"
    source.write_text('\ufeffquestion,answer,alternates\nHow do I reset my VPN token?,Use the '
                      'portal.,"[""vpn token broken"", ""new vpn token""]"\n', encoding="utf-8")
    monkeypatch.setenv("FAQ_DATASET", str(source))
    assert main(["ask", "new vpn token", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["candidates"][0]["score"] == pytest.approx(1.0, abs=1e-4)
    jsonl = tmp_path / "bad.jsonl"
    jsonl.write_text("[1, 2]\n")
    code, err = ask_with(monkeypatch, capsys, FAQ_DATASET=str(jsonl))
    assert code == 2
    assert_one_line_error(err, "bad.jsonl")


def test_a_missing_file_is_not_taken_for_a_hub_id(monkeypatch, capsys):
    code, err = ask_with(monkeypatch, capsys, FAQ_DATASET="no-such-faq.csv")
    assert code == 2
    assert_one_line_error(err, "no-such-faq.csv does not exist")


def test_build_to_an_unusable_out_fails_before_embedding(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    result = run_cli("build", str(ROOT / "examples/medicare/faq.csv"), "--out", str(blocker))
    assert result.returncode == 2
    assert_one_line_error(result.stderr, "cannot write to --out")


def test_a_damaged_earlier_build_is_rebuilt(tmp_path, capsys):
    out = tmp_path / "out"
    (out / "data").mkdir(parents=True)
    (out / "data" / "train-00000-of-00001.parquet").write_bytes(b"not parquet")
    (out / "README.md").write_text(
        "---\nfaqbot:\n  model: sentence-transformers/all-MiniLM-L6-v2\n  dim: 384\n---\n")
    assert main(["build", str(ROOT / "examples/medicare/faq.csv"), "--out", str(out),
                 "--quiet"]) == 0
    assert "embedded 13, reused 0" in capsys.readouterr().err


def test_eval_by_faq_lists_confusions_and_misses_and_keeps_the_json_contract(capsys):
    labelled = ROOT / "examples/medicare/eval.csv"
    assert main(["eval", str(labelled), "--json"]) == 0
    plain = json.loads(capsys.readouterr().out)
    assert "by_faq" not in plain
    assert main(["eval", str(labelled), "--json", "--by-faq"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {k: v for k, v in out.items() if k != "by_faq"} == plain
    assert set(out["by_faq"]) == {"confused", "missed"}
    on_topic = sum(bool(r["expected"]) for r in csv.DictReader(labelled.open()))
    missed = out["by_faq"]["missed"]
    assert sum(m["expected"] is not None for m in missed) == round(
        on_topic * (1 - out["shown_recall"]))
    for m in missed:
        assert set(m) == {"question", "expected", "decision", "shown", "best", "score",
                          "decision_score"}
        assert (m["expected"] not in m["shown"]) if m["expected"] else m["shown"]
    for pair in out["by_faq"]["confused"]:
        assert pair["expected"] != pair["got"] and 0 <= pair["ranked_first"] <= pair["count"]

    assert main(["eval", str(labelled), "--by-faq"]) == 0
    text = capsys.readouterr().out
    assert "shown recall" in text and "suggested for this set" in text
    assert "confused FAQs (" in text and f"missed questions ({len(missed)}):" in text
    assert ", decision -0." in text  # the sample is calibrated: the relative score is shown


def test_eval_accepts_a_bom(tmp_path, capsys):
    labelled = tmp_path / "eval.csv"
    labelled.write_text("\ufeffquestion,expected\nlost my medicare card,replacement-card\n",
                        encoding="utf-8")
    assert main(["eval", str(labelled), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["answered_correctly"] == 1


def test_bad_slack_api_url_is_a_config_error(tmp_path):
    result = run_cli("check", env=clean_env(SLACK_API_URL="notaurl"), cwd=tmp_path)
    assert result.returncode == 2
    assert "SLACK_API_URL" in result.stdout + result.stderr
    assert "Traceback" not in result.stderr


def test_push_without_a_token_fails_before_building(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["build", str(ROOT / "examples/medicare/faq.csv"), "--out", str(out),
                 "--push-to-hub", "acme/faq"]) == 2
    assert "HF_TOKEN" in capsys.readouterr().err
    assert not out.exists()

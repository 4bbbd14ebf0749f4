"""Tuning on a tiny BERT the test builds itself: tune → export → load → answer, offline and
quick. The real weights are exercised by the slow-marked test at the end."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import clean_env, run_cli

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
pytest.importorskip("onnx")

from bot.faq.carried_model import MODEL_DIR  # noqa: E402
from bot.faq.dataset import build, parse_card_file  # noqa: E402
from bot.faq.sources import read_source  # noqa: E402
from bot.faq.tune import dataset_embedder, tune  # noqa: E402
from bot.faq.tune.recipe import Recipe  # noqa: E402

FAQ = [  # id, question, alternates: near-duplicate wording across FAQs on purpose
    ("card-arrival", "when will my card arrive", "card arrival time|how long until my card comes"),
    ("card-lost", "i lost my card", "my card is lost|card went missing"),
    ("pin-reset", "how do i reset my pin", "forgot my pin|change my pin"),
    ("fee-refund", "can i get a fee refunded", "refund a fee|fee refund please"),
    ("transfer-time", "how long does a transfer take", "transfer time|when does a transfer land"),
]


def _tiny_base(directory: Path) -> Path:
    """A 2-layer BERT with a word-level vocabulary of the FAQ's own words."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors

    words = sorted({w for _, q, alts in FAQ for w in f"{q} {alts}".replace("|", " ").split()})
    vocab = {t: n for n, t in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", *words])}
    tokenizer = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)])
    directory.mkdir(parents=True)
    tokenizer.save(str(directory / "tokenizer.json"))
    torch.manual_seed(0)
    config = transformers.BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2,
                                     num_attention_heads=2, intermediate_size=64,
                                     max_position_embeddings=64)
    transformers.BertModel(config, add_pooling_layer=False).save_pretrained(str(directory))
    return directory


@pytest.fixture(scope="module")
def tuned(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(the tiny base, a dataset built with the model tuned from it)."""
    root = tmp_path_factory.mktemp("tune")
    base = _tiny_base(root / "base")
    source = root / "faq.csv"
    lines = ["id,question,answer,alternates"]
    lines += [f"{i},{q},The answer about {i}.,{alts}" for i, q, alts in FAQ]
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = root / "dataset"
    report = tune(read_source(str(source)), out / MODEL_DIR, base_dir=base, progress=False,
                  recipe=Recipe(epochs=30, batch_size=8, learning_rate=1e-3))
    build(str(source), out, dataset_embedder(out, report.model_id), progress=False)
    return base, out


def _separation(model_dir: Path) -> float:
    """Mean cosine between phrasings of one FAQ minus that between phrasings of two."""
    from bot.faq.embedders.local import LocalEmbedder

    embedder = LocalEmbedder(model_id="probe", model_dir=str(model_dir))
    texts, owners = [], []
    for n, (_, question, alts) in enumerate(FAQ):
        for text in [question, *alts.split("|")]:
            texts.append(text)
            owners.append(n)
    vectors = embedder.embed(texts)
    same, other = [], []
    for i in range(len(texts)):
        for j in range(i + 1, len(texts)):
            (same if owners[i] == owners[j] else other).append(float(vectors[i] @ vectors[j]))
    return sum(same) / len(same) - sum(other) / len(other)


def _untuned(base: Path, directory: Path) -> Path:
    from bot.faq.tune.export import export
    from bot.faq.tune.train import load_model

    export(load_model(base).eval(), base, directory, ["probe"])
    return directory


def test_the_tuned_model_travels_in_the_dataset_and_the_card_names_it(tuned) -> None:
    _, out = tuned
    card = parse_card_file(out)
    assert card["model_dir"] == MODEL_DIR
    assert card["model_stock"] is False
    assert card["model"].endswith(f"+tuned.{card['model_sha256'][:12]}")
    assert {p.name for p in (out / MODEL_DIR).iterdir()} >= {"model.onnx", "tokenizer.json"}


def test_tuning_pulls_an_faqs_phrasings_together(tuned, tmp_path: Path) -> None:
    base, out = tuned
    assert _separation(out / MODEL_DIR) > _separation(_untuned(base, tmp_path / "u")) + 0.1


def test_ask_serves_the_carried_model_and_answers(tuned) -> None:
    _, out = tuned
    env = clean_env(FAQ_DATASET=str(out), EMBEDDING_BACKEND="local")
    done = run_cli("ask", "--json", "my card went missing", env=env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["candidates"][0]["id"] == "card-lost"


def test_another_model_of_the_same_size_is_refused(tuned, tmp_path: Path) -> None:
    """Issue 17 item 7: EMBEDDING_MODEL_DIR at another model of the same dimension."""
    base, out = tuned
    other = _untuned(base, tmp_path / "other")
    env = clean_env(FAQ_DATASET=str(out), EMBEDDING_BACKEND="local",
                    EMBEDDING_MODEL_DIR=str(other))
    done = run_cli("ask", "how do i reset my pin", env=env)
    assert done.returncode == 2
    assert "fingerprint" in done.stderr and "EMBEDDING_MODEL_DIR" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_public_inference_api_is_refused_for_a_tuned_dataset(tuned) -> None:
    _, out = tuned
    env = clean_env(FAQ_DATASET=str(out), EMBEDDING_BACKEND="api", HF_TOKEN="hf_" + "x" * 30)
    done = run_cli("ask", "how do i reset my pin", env=env)
    assert done.returncode == 2
    assert "public Inference API can't serve" in done.stderr
    assert "text-embeddings-inference" in done.stderr


def test_a_tei_server_is_checked_against_the_dataset(tuned) -> None:
    """A TEI server serving another model is refused; one serving the tuned model answers."""
    from bot.faq.embedders.local import LocalEmbedder
    from tests.standins.inference_standin import InferenceStandIn, hash_embed

    _, out = tuned
    served = LocalEmbedder(model_id="tuned", model_dir=str(out / MODEL_DIR))
    info = {"model_id": "/data/model", "model_sha": None}
    for embed_fn, ok in ((lambda texts: hash_embed(texts, 32), False), (served.embed, True)):
        with InferenceStandIn(embed_fn, info=info) as standin:
            env = clean_env(FAQ_DATASET=str(out), EMBEDDING_BACKEND="api",
                            INFERENCE_API_URL=f"{standin.base_url}/embed")
            done = run_cli("ask", "--json", "forgot my pin", env=env)
        if ok:
            assert done.returncode == 0, done.stderr
            assert json.loads(done.stdout)["candidates"][0]["id"] == "pin-reset"
        else:
            assert done.returncode == 2
            assert "makes other vectors" in done.stderr and "/data/model" in done.stderr


def test_export_of_a_tuned_dataset_carries_its_model_and_the_edits(tuned,
                                                                   tmp_path: Path) -> None:
    """An FAQ added in the database is embedded with the tuned model, and the exported
    dataset brings that model along (`faqbot tune` itself: the slow test)."""
    _, out = tuned
    copy = tmp_path / "served"
    shutil.copytree(out, copy)
    env = clean_env(FAQ_DATASET=str(copy), EMBEDDING_BACKEND="local",
                    DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}")
    added = run_cli("faq", "add", "--question", "where is my refund", "--answer", "Soon.",
                    "--alternates", "refund status|when is my refund", env=env)
    assert added.returncode == 0, added.stderr
    exported = run_cli("export", "--out", str(tmp_path / "merged"), env=env)
    assert exported.returncode == 0, exported.stderr
    assert (tmp_path / "merged" / MODEL_DIR / "model.onnx").is_file()
    # the thresholds learned at the tune stay: learned again here, they would come from
    # phrasings the model trained on
    assert parse_card_file(tmp_path / "merged")["calibration"] == (
        parse_card_file(out)["calibration"])
    env["FAQ_DATASET"] = str(tmp_path / "merged")
    done = run_cli("ask", "--json", "refund status", env=env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["candidates"][0]["question"] == "where is my refund"


def test_answering_from_a_tuned_dataset_never_imports_torch(tuned) -> None:
    import subprocess
    import sys

    _, out = tuned
    script = ("import sys; from bot.cli import main; code = main(['ask', 'forgot my pin']); "
              "assert 'torch' not in sys.modules, 'torch imported'; sys.exit(code)")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env=clean_env(FAQ_DATASET=str(out), EMBEDDING_BACKEND="local"),
                          timeout=120)
    assert done.returncode == 0, done.stderr


def test_a_hub_dataset_brings_its_model_at_the_same_revision(tuned, local_hub,
                                                             tmp_path: Path) -> None:
    """The model is fetched from the dataset repo at the revision of the vectors; a commit
    whose model files don't match its card is refused, never served half."""
    from tests.faq.test_hub import hub_env

    base, out = tuned
    files = {name: out / name for name in ("README.md", "data/train-00000-of-00001.parquet",
                                           "model/model.onnx", "model/tokenizer.json")}
    first = local_hub.add_repo("datasets", "acme/tuned-faq", files)
    other = _untuned(base, tmp_path / "other")
    second = local_hub.commit("datasets", "acme/tuned-faq",
                              {"model/model.onnx": other / "model.onnx"}, "a stray model")

    def ask(revision: str):
        return run_cli("ask", "--json", "forgot my pin", env=hub_env(
            local_hub, tmp_path / f"hf-{revision[:6]}", FAQ_DATASET="acme/tuned-faq",
            FAQ_DATASET_REVISION=revision, EMBEDDING_BACKEND="local"))

    done = ask(first)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["candidates"][0]["id"] == "pin-reset"
    done = ask(second)
    assert done.returncode == 2 and "fingerprint" in done.stderr


def test_a_tuned_dataset_is_pushed_in_one_commit(tuned, monkeypatch) -> None:
    """Vectors, card and model in one commit (the Hub client is the network boundary)."""
    import huggingface_hub

    from bot.faq.dataset import push

    calls: list[tuple[str, dict]] = []

    class RecordingApi:
        def __init__(self, token=None) -> None:
            pass

        def create_repo(self, repo_id, **kwargs) -> None:
            calls.append(("create_repo", {"repo_id": repo_id, **kwargs}))

        def upload_folder(self, **kwargs) -> None:
            calls.append(("upload_folder", kwargs))

    monkeypatch.setattr(huggingface_hub, "HfApi", RecordingApi)
    _, out = tuned
    assert push(out, "acme/tuned-faq", "hf_token").endswith("datasets/acme/tuned-faq")
    [upload] = [kwargs for name, kwargs in calls if name == "upload_folder"]
    assert upload["folder_path"] == str(out) and upload["repo_type"] == "dataset"
    assert set(upload["allow_patterns"]) == {"data/train-00000-of-00001.parquet", "README.md",
                                             "model/*"}


def test_a_tuned_build_stores_thresholds_learned_from_held_out_phrasings(tuned,
                                                                        tmp_path: Path) -> None:
    """The second tune leaves every third phrasing out and the card carries what those
    taught; an FAQ with too few phrasings to hold out gets ``None`` (learned in-sample)."""
    from bot.faq.calibration import Calibration
    from bot.faq.tune.crossfit import held_out_calibration

    base, out = tuned
    rows = read_source(str(out.parent / "faq.csv"))
    recipe = Recipe(epochs=30, batch_size=8, learning_rate=1e-3)
    assert held_out_calibration(rows, base_dir=base, recipe=recipe) is None  # 5 held out
    longer = [replace(r, alternates=(*r.alternates, *(f"{p} please" for p in r.phrasings)))
              for r in rows]
    calibration = held_out_calibration(longer, base_dir=base, recipe=recipe)
    assert calibration is not None
    assert set(calibration.typical) == {r.id for r in rows}
    source = tmp_path / "faq.csv"
    lines = ["id,question,answer,alternates"]
    lines += [f"{r.id},{r.question},{r.answer},{'|'.join(r.alternates)}" for r in longer]
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    shutil.copytree(out / MODEL_DIR, tmp_path / "dataset" / MODEL_DIR)
    card_model = parse_card_file(out)["model"]
    build(str(source), tmp_path / "dataset",
          dataset_embedder(tmp_path / "dataset", card_model), progress=False,
          calibration=calibration)
    stored = Calibration.from_meta(parse_card_file(tmp_path / "dataset")["calibration"])
    assert stored == Calibration.from_meta(calibration.to_meta())


def test_the_tuned_model_is_served_as_its_fast_graph(tuned) -> None:
    """Exported float, then fused (8-bit where it stays close) and cached like the stock
    model's; the dataset's vectors were made by that same graph."""
    from bot.faq.embedders.local import LocalEmbedder
    from bot.faq.embedders.onnx_session import fast_graph_path

    _, out = tuned
    served = dataset_embedder(out, "tuned")
    texts = [question for _, question, _ in FAQ]
    vectors = served.embed(texts)
    assert served.fast and fast_graph_path(served.files).is_file()
    exact = LocalEmbedder(model_id="tuned", model_dir=str(out / MODEL_DIR), fast=False)
    assert (vectors * exact.embed(texts)).sum(axis=1).min() >= 0.99


def test_the_float_graph_written_without_torch_is_the_torch_export(tuned, tmp_path) -> None:
    import onnx

    from bot.faq.embedders.bert_onnx import bert_onnx
    from bot.faq.embedders.local import LocalEmbedder
    from bot.faq.tune.export import _export_float
    from bot.faq.tune.train import load_model

    base, _ = tuned
    exported, written = tmp_path / "exported", tmp_path / "written"
    for directory in (exported, written):
        directory.mkdir()
        shutil.copyfile(base / "tokenizer.json", directory / "tokenizer.json")
    _export_float(load_model(base).eval(), exported / "model.onnx")
    onnx.save(bert_onnx(base), str(written / "model.onnx"))
    texts = ["how do i reset my pin", "card went missing", "refund"]
    vectors = [LocalEmbedder(model_id="tiny", model_dir=str(d), fast=False).embed(texts)
               for d in (exported, written)]
    assert np.allclose(*vectors, atol=1e-5)

"""FAQ fields are data, not markup: a url is checked at build and load (http(s) only, the row
named), and url, label and help text are escaped when rendered, so a dataset edited by
someone else can't ping the channel or break the link."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from bot.cli import main
from bot.errors import UserError
from bot.faq.dataset import DATA_FILE, build, load_faq
from bot.faq.policy import Answer, Hit
from bot.faq.sources import rows_from_records
from bot.slack import blocks
from tests.test_cli import assert_one_line_error

INJECTION = "https://x.example> <!channel|x"


def record(url: str) -> dict[str, str]:
    return {"question": "How do I get a card?", "answer": "Ask.", "url": url}


@pytest.mark.parametrize("url", [
    "", "https://medicare.gov/card", "http://intranet.example:8080/a?b=1&c=2#top",
    "HTTPS://Example.com/a|b",
])
def test_http_and_https_urls_are_accepted(url: str) -> None:
    [row] = rows_from_records([record(url)], where="faq.csv")
    assert row.url == url


@pytest.mark.parametrize("url", [
    INJECTION, "javascript:alert(1)", "mailto:help@example.com", "ftp://files.example/x",
    "www.example.com", "https://", "https:///path", "https://ex ample.com",
    "https://example.com/<!here>", "http://[::1", "https://example.com/\x1b[2J",
])
def test_other_urls_are_refused_naming_the_row(url: str) -> None:
    records = [record("https://fine.example"), record(url)]
    records[1]["question"] = "Another question?"
    with pytest.raises(UserError) as refused:
        rows_from_records(records, where="faq.csv")
    line = refused.value.one_line()
    assert "faq.csv row 1" in line and "http" in line
    assert "\n" not in line and "\x1b" not in line


def test_build_refuses_a_bad_url_in_one_line(tmp_path: Path, capsys) -> None:
    source = tmp_path / "faq.csv"
    source.write_text(f'question,answer,url\nHow?,Like this.,"{INJECTION}"\n')
    assert main(["build", str(source), "--out", str(tmp_path / "out")]) == 2
    assert_one_line_error(capsys.readouterr().err, "row 0", "url")
    assert not (tmp_path / "out" / DATA_FILE).exists()


def test_load_refuses_a_dataset_edited_to_hold_a_bad_url(tmp_path: Path, embedder) -> None:
    source = tmp_path / "faq.csv"
    source.write_text("question,answer,url\nHow?,Like this.,https://ok.example\n"
                      "Why?,Because.,https://ok.example/why\n")
    build(str(source), tmp_path / "out", embedder, progress=False)
    data = tmp_path / "out" / DATA_FILE
    table = pq.read_table(data)
    urls = table.column("url").to_pylist()
    urls[1] = INJECTION  # an edit on the Hub, by someone other than the bot's admin
    table = table.set_column(table.column_names.index("url"), "url", pa.array(urls))
    pq.write_table(table, data)
    with pytest.raises(UserError, match="row 1"):
        load_faq(str(tmp_path / "out"), embedder)


def hit(url: str, question: str = "Card?") -> Hit:
    return Hit(row=0, id="card", question=question, answer="Ask.", url=url, score=0.9)


def test_a_url_is_escaped_when_rendered() -> None:
    """Rendering doesn't trust the loader: a url that got past it still can't inject."""
    context = blocks.answer_message(hit(INJECTION)).blocks[1]["elements"][0]["text"]
    assert context == "From the FAQ: *<https://x.example&gt; &lt;!channel%7Cx|Card?>*"
    link = blocks.answer_message(hit("https://a.example/?x=1&y=2|z", "A|B <C>"))
    text = link.blocks[1]["elements"][0]["text"]
    assert text == "From the FAQ: *<https://a.example/?x=1&amp;y=2%7Cz|A¦B &lt;C&gt;>*"


def test_help_and_nothing_found_escape_the_placeholder() -> None:
    none = Answer(decision="none", shown=(), candidates=())
    messages = [blocks.help_message(["How do I get a card?"]),
                blocks.for_answer(none, asked_directly=True),
                blocks.for_answer(none, asked_directly=True, via_command=True)]
    for message in messages:
        assert message is not None
        rendered = json.dumps([message.text, message.blocks])
        assert "<question>" not in rendered
    assert "/faq &lt;question&gt;" in messages[0].text

"""Block Kit builders: content, Slack's limits, and which reply each decision gets."""

from __future__ import annotations

import json

from bot.faq.policy import Answer, Hit
from bot.slack import blocks


def hit(n: int = 0, **fields: object) -> Hit:
    values = {"row": n, "id": f"faq-{n}", "question": f"Question {n}?", "answer": f"Answer {n}.",
              "url": f"https://example.com/{n}", "score": 0.9 - n / 100}
    return Hit(**{**values, **fields})  # type: ignore[arg-type]


def buttons(message: blocks.Message) -> list[dict]:
    return [e for b in message.blocks if b["type"] == "actions" for e in b["elements"]]


def test_answer_names_the_question_links_it_and_has_votes() -> None:
    message = blocks.answer_message(hit(answer="Use <this> & that"))
    rendered = json.dumps(message.blocks)
    assert "Use &lt;this&gt; &amp; that" in rendered
    assert "<https://example.com/0|Question 0?>" in rendered
    assert [(b["action_id"], b["value"]) for b in buttons(message)] == [
        (blocks.VOTE_UP, "faq-0"), (blocks.VOTE_DOWN, "faq-0")]
    assert message.text == "Question 0? Use &lt;this&gt; &amp; that"  # notification text


def test_answer_without_url_and_with_awkward_question() -> None:
    message = blocks.answer_message(hit(url="", question="A|B > C?"))
    context = message.blocks[1]["elements"][0]["text"]
    assert context == "From the FAQ: *A¦B &gt; C?*"


def test_shareable_answer_and_note() -> None:
    message = blocks.answer_message(hit(), shareable=True, note="Shared by <@U1>")
    assert [b["action_id"] for b in buttons(message)][-1] == blocks.SHARE
    assert message.blocks[-1]["elements"][0]["text"] == "Shared by <@U1>"


def test_slack_limits_are_respected() -> None:
    long = hit(answer="a" * 5000, question="q" * 200)
    message = blocks.answer_message(long)
    assert len(message.blocks[0]["text"]["text"]) <= blocks.SECTION_LIMIT
    assert len(message.text) <= blocks.FALLBACK_LIMIT
    choice = blocks.choices_message([long, hit(1), hit(2)])
    assert all(len(b["text"]["text"]) <= blocks.BUTTON_LABEL_LIMIT for b in buttons(choice))


def test_choices_have_one_button_per_faq_with_unique_action_ids() -> None:
    message = blocks.choices_message([hit(0), hit(1), hit(2)])
    assert [(b["action_id"], b["value"]) for b in buttons(message)] == [
        ("faq_choice_0", "faq-0"), ("faq_choice_1", "faq-1"), ("faq_choice_2", "faq-2")]
    assert message.text == "Did you mean: Question 0? / Question 1? / Question 2?"


def test_for_answer_stays_silent_only_when_not_asked() -> None:
    none = Answer(decision="none", shown=(), candidates=(hit(),))
    assert blocks.for_answer(none, asked_directly=False) is None
    said = blocks.for_answer(none, asked_directly=True)
    assert said is not None and "/faq &lt;question&gt;" in said.text
    private = blocks.for_answer(none, asked_directly=True, via_command=True)
    assert private is not None and "/faq help" in private.text


def test_for_answer_answer_and_choices() -> None:
    one = Answer(decision="answer", shown=(hit(),), candidates=(hit(),))
    answer = blocks.for_answer(one, asked_directly=False)
    assert answer is not None and [b["value"] for b in buttons(answer)] == ["faq-0", "faq-0"]
    shared = blocks.for_answer(one, asked_directly=True, via_command=True)
    assert shared is not None and buttons(shared)[-1]["action_id"] == blocks.SHARE
    three = (hit(0), hit(1), hit(2))
    choices = blocks.for_answer(Answer("choices", three, three), asked_directly=False)
    assert choices is not None and len(buttons(choices)) == 3


def test_help_lists_examples() -> None:
    message = blocks.help_message(["How do I <x>?", "What is y?"])
    rendered = message.blocks[-1]["text"]["text"]
    assert rendered == "*Try:*\n• `/faq How do I &lt;x&gt;?`\n• `/faq What is y?`"


def test_vote_note_replaces_the_previous_one_and_keeps_the_buttons() -> None:
    original = blocks.answer_message(hit()).blocks
    first = blocks.with_vote_note(original, blocks.vote_note("U1", helpful=True))
    second = blocks.with_vote_note(first, blocks.vote_note("U2", helpful=False))
    notes = [b for b in second if b.get("block_id") == blocks.VOTE_NOTE_BLOCK]
    assert len(notes) == 1
    assert notes[0]["elements"][0]["text"].startswith("<@U2> found this not helpful 👎")
    assert second[:-1] == original  # everything else untouched
    assert len(original) == 3  # and the input was not modified


def test_unavailable_message() -> None:
    """The apology users see when the embedding service is down: the exact words, as the
    notification text and as the one section, so a change to them is a visible decision."""
    message = blocks.unavailable_message()
    words = "I can't reach the embedding service right now, please try again in a minute."
    assert message.text == words
    assert message.blocks == [{"type": "section", "text": {"type": "mrkdwn", "text": words}}]


def test_keyed_names_the_key_in_every_actions_block_and_only_there() -> None:
    entry = Hit(row=0, id="f", question="Q?", answer="A.", url="", score=0.9)
    shown = blocks.with_other_choices(blocks.answer_message(entry).blocks, [entry])
    keyed = blocks.keyed(shown, "command:1.2.abc")
    ids = [b["block_id"] for b in keyed if b["type"] == "actions"]
    assert [i.rsplit(".", 1)[1] for i in ids] == ["0", "1"]  # unique in the message
    assert all(i.startswith("asked:command:1.2.abc:") for i in ids)
    again = [b["block_id"] for b in blocks.keyed(shown, "command:1.2.abc") if "block_id" in b]
    assert not set(again) & set(ids)  # and new on every drawing
    assert [b for b in keyed if b["type"] != "actions"] == [
        b for b in shown if b["type"] != "actions"]


def test_a_miss_asked_directly_offers_near_faqs_and_a_person() -> None:
    near = (hit(0), hit(1))
    missed = Answer(decision="none", shown=(), candidates=near, near=near)
    message = blocks.for_answer(missed, asked_directly=True, ask_person=True)
    ids = [b["action_id"] for b in buttons(message)]
    assert ids == ["faq_choice_0", "faq_choice_1", blocks.ESCALATE]
    assert "Maybe one of these?" in json.dumps(message.blocks)
    assert blocks.for_answer(missed, asked_directly=False, ask_person=True) is None
    bare = Answer(decision="none", shown=(), candidates=near)
    assert [b["action_id"] for b in buttons(blocks.for_answer(
        bare, asked_directly=True, ask_person=True))] == [blocks.ESCALATE]
    assert buttons(blocks.for_answer(bare, asked_directly=True)) == []  # nobody to ask
    assert "/faq" in blocks.for_answer(bare, asked_directly=True).text


def test_choices_offer_none_of_these_and_a_thumbs_down_offers_a_person() -> None:
    choices = Answer(decision="choices", shown=(hit(0), hit(1), hit(2)), candidates=())
    message = blocks.for_answer(choices, asked_directly=False, ask_person=True)
    assert buttons(message)[-1]["action_id"] == blocks.ESCALATE
    assert "None of these" in json.dumps(buttons(message)[-1])
    after = blocks.with_other_choices([], [], ask_person=True)
    assert [e["action_id"] for b in after if b["type"] == "actions"
            for e in b["elements"]] == [blocks.ESCALATE]


def _link_line(message: blocks.Message, n: int) -> str:
    block = message.blocks[n]
    return (block["elements"][0] if block["type"] == "context" else block["text"])["text"]


def test_a_long_url_and_question_keep_the_link_closed() -> None:
    url = "https://example.com/" + "a" * 2900
    for question in ("q" * 500, "Q & A " * 200):
        entry = hit(url=url, question=question)
        for message, n, prefix in ((blocks.answer_message(entry), 1, "From the FAQ: *"),
                                   (blocks.saved_message(entry, "U1"), 0, "Saved as an FAQ: *")):
            text = _link_line(message, n)
            assert len(text) <= blocks.SECTION_LIMIT
            assert text.startswith(f"{prefix}<{url}|") and text.endswith("…>*")
            label = text[len(prefix) + len(url) + 2:-2]
            assert label.rfind("&") <= label.rfind(";")  # no entity cut in half


def test_a_url_too_long_to_fit_is_left_out_not_cut() -> None:
    entry = hit(url="https://example.com/" + "a" * 3100, question="Where is it?")
    assert _link_line(blocks.answer_message(entry), 1) == "From the FAQ: *Where is it?*"

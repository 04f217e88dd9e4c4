"""Rasa replies become Telegram messages: inline keyboards carrying the payload, photos, documents,
long texts split within Telegram's limit, nothing interpreted as formatting."""
from __future__ import annotations

from telegram import InlineKeyboardMarkup

from bot.i18n.languages import language_buttons
from bot.questionnaires.loader import load_triage
from bot.telegram.outbox import LiveKeyboards, needs_upload
from bot.telegram.render import (
    MAX_TEXT,
    DocumentOut,
    PhotoOut,
    TextOut,
    buttons_in,
    keyboard,
    render,
    split_text,
    telegram_length,
)
from bot.triage.replies import MAX_NUMBER_BUTTONS, buttons_for


def layout(markup: InlineKeyboardMarkup) -> list[list[tuple[str, str]]]:
    return [[(b.text, b.callback_data) for b in row] for row in markup.inline_keyboard]


def test_buttons_become_an_inline_keyboard_with_the_payload_as_callback_data() -> None:
    (out,) = render([{"text": "Is it OK?", "buttons": [
        {"title": "Yes", "payload": '/answer{"code":"yes"}'},
        {"title": "No", "payload": '/answer{"code":"no"}'},
    ]}])
    assert isinstance(out, TextOut) and out.text == "Is it OK?"
    assert out.keyboard is not None
    assert layout(out.keyboard) == [[("Yes", '/answer{"code":"yes"}'), ("No", '/answer{"code":"no"}')]]
    assert buttons_in(out.keyboard) == {'/answer{"code":"yes"}': "Yes", '/answer{"code":"no"}': "No"}


def test_rows_fit_the_titles() -> None:
    numbers = keyboard([{"title": str(n), "payload": f'/answer{{"code":"{n}"}}'} for n in range(11)])
    assert [len(row) for row in numbers.inline_keyboard] == [6, 5]
    languages = keyboard(language_buttons())
    assert [len(row) for row in languages.inline_keyboard] == [2] * 6
    long = keyboard([{"title": "Strongly disagree with this", "payload": "/a"}, {"title": "Agree", "payload": "/b"}])
    assert [len(row) for row in long.inline_keyboard] == [1, 1]


def test_every_questionnaire_and_language_button_fits_telegram_callback_data() -> None:
    for item in load_triage():
        for language in ("en", "de", "pl"):
            markup = keyboard(buttons_for(item, language))
            if item.kind == "integer" and item.maximum - item.minimum > MAX_NUMBER_BUTTONS:  # typed (days off 0-28)
                assert markup is None
                continue
            assert markup is not None
            for data in buttons_in(markup):
                assert len(data.encode()) <= 64
            assert set(buttons_in(markup)) == {b["payload"] for b in buttons_for(item, language)}


def test_a_payload_over_64_bytes_falls_back_to_the_title() -> None:
    markup = keyboard([{"title": "Yes", "payload": "/answer" + "x" * 80}, {"title": "No", "payload": "/n"}])
    assert buttons_in(markup) == {"Yes": "Yes", "/n": "No"}


def test_images_documents_and_order_are_kept() -> None:
    out = render([
        {"text": "Here is your plan."},
        {"image": "https://example.org/spine.png"},
        {"custom": {"document": "http://127.0.0.1:8000/careplan/abc.pdf"}},
        {"text": "Anything else?", "buttons": [{"title": "No", "payload": "/n"}]},
    ])
    assert [type(o) for o in out] == [TextOut, PhotoOut, DocumentOut, TextOut]
    assert out[1] == PhotoOut("https://example.org/spine.png")
    assert out[2] == DocumentOut("http://127.0.0.1:8000/careplan/abc.pdf")
    assert out[0].keyboard is None and out[3].keyboard is not None


def test_text_is_passed_as_written() -> None:
    typed = "*not bold* _not italic_ <b>not html</b> [link](http://x) `code`"
    (out,) = render([{"text": typed}])
    assert out == TextOut(typed)


def test_long_text_is_split_at_paragraphs_within_4096_with_the_keyboard_last() -> None:
    paragraph = ("word " * 150).strip()  # 749 characters
    text = "\n\n".join([paragraph] * 12)
    out = render([{"text": text, "buttons": [{"title": "OK", "payload": "/ok"}]}])
    assert len(out) > 1
    assert all(isinstance(o, TextOut) and telegram_length(o.text) <= MAX_TEXT for o in out)
    assert all(o.keyboard is None for o in out[:-1]) and out[-1].keyboard is not None
    assert "\n\n".join(o.text for o in out) == text  # cut only at blank lines here, nothing lost


def test_split_counts_utf16_units_and_cuts_words_only_when_it_must() -> None:
    emoji = "🙂" * 3000  # 6,000 UTF-16 units, no spaces
    parts = split_text(emoji)
    assert all(telegram_length(p) <= MAX_TEXT for p in parts) and "".join(parts) == emoji
    words = " ".join(["Rückenschmerzen"] * 600)
    parts = split_text(words)
    assert all(telegram_length(p) <= MAX_TEXT for p in parts)
    assert all(w == "Rückenschmerzen" for p in parts for w in p.split(" "))
    assert split_text("short") == ["short"]


def test_local_media_are_uploaded_public_ones_fetched_by_telegram() -> None:
    for url in ("http://127.0.0.1:8000/plan.pdf", "http://localhost/x.png", "http://10.1.2.3/x", "http://web:8000/x",
                "http://[::1]/x", "http://clinic.local/x"):
        assert needs_upload(url), url
    for url in ("https://backtalk.example.org/plan.pdf", "https://93.184.216.34/x.png"):
        assert not needs_upload(url), url


def test_live_keyboards_know_which_message_is_current() -> None:
    live = LiveKeyboards(limit=2)
    assert not live.is_stale(1, 10)  # nothing known (e.g. after a restart): accepted
    live.add(1, [10, 11])
    assert not live.is_stale(1, 11) and live.is_stale(1, 9)
    assert live.take(1) == [10, 11]
    assert live.is_stale(1, 10)  # retired
    live.add(2, [1])
    live.add(3, [1])
    assert not live.is_stale(1, 10)  # chat 1 fell out of the bounded table: unknown again

"""The summary before the result and changing an answer (bot/triage/summary.py, bot/questionnaires/topics.py)."""
from __future__ import annotations

from typing import Any, Dict

import pytest

from bot.i18n.catalog import SUPPORTED_LANGUAGES, translate
from bot.questionnaires.flow import TriageFlow
from bot.questionnaires.topics import items_named, topics
from bot.triage import summary
from bot.triage.replies import answer_payload

FLOW = TriageFlow()
# Asking to change an answer, per language: about sleep, the pain question, the neck (the pain
# site), the legs (the leg-pain item), and something unnamed.
ASKED = {
    "en": ["change my answer about sleep", "go back to the pain question", "i want to change my answer about my neck", "go back to the question about my legs", "change something"],
    "de": ["meine antwort zum schlaf ändern", "zurück zur frage nach den schmerzen", "ich möchte meine antwort zum nacken ändern", "zurück zur frage über meine beine", "etwas ändern"],
    "es": ["cambiar mi respuesta sobre el sueño", "volver a la pregunta del dolor", "quiero cambiar mi respuesta sobre el cuello", "volver a la pregunta de las piernas", "cambiar algo"],
    "fr": ["changer ma réponse sur le sommeil", "revenir à la question sur la douleur", "je veux changer ma réponse sur le cou", "revenir à la question sur mes jambes", "changer quelque chose"],
    "it": ["cambiare la mia risposta sul sonno", "tornare alla domanda sul dolore", "voglio cambiare la risposta sul collo", "tornare alla domanda sulle gambe", "cambiare qualcosa"],
    "da": ["ændre mit svar om søvn", "tilbage til spørgsmålet om smerter", "jeg vil ændre mit svar om nakken", "tilbage til spørgsmålet om mine ben", "ændre noget"],
    "sv": ["ändra mitt svar om sömnen", "tillbaka till frågan om smärtan", "jag vill ändra mitt svar om nacken", "tillbaka till frågan om mina ben", "ändra något"],
    "nl": ["mijn antwoord over slapen veranderen", "terug naar de vraag over pijn", "ik wil mijn antwoord over mijn nek veranderen", "terug naar de vraag over mijn benen", "iets veranderen"],
    "pl": ["zmienić moją odpowiedź o śnie", "wróć do pytania o ból", "chcę zmienić odpowiedź o szyi", "wróć do pytania o nogi", "zmienić coś"],
    "pt": ["mudar a minha resposta sobre o sono", "voltar à pergunta da dor", "quero mudar a minha resposta sobre o pescoço", "voltar à pergunta das pernas", "mudar alguma coisa"],
    "hr": ["promijeniti odgovor o spavanju", "natrag na pitanje o boli", "želim promijeniti odgovor o vratu", "natrag na pitanje o nogama", "promijeniti nešto"],
    "nb": ["endre svaret mitt om søvn", "tilbake til spørsmålet om smerter", "jeg vil endre svaret mitt om nakken", "tilbake til spørsmålet om beina", "endre noe"],
}
OUTLOOK = {"outlook_offer": True, "age_band": "40_to_49", "sex": "female", "previous_episodes": "none",
           **{f"fn_{n}": n == 4 for n in range(1, 7)}, "recovery_expectation": "soon", "work_status": "working",
           "days_off": 2, "work_expectation": "sure"}


def low_back(**more: Any) -> Dict[str, Any]:
    answers: Dict[str, Any] = {"consent": True, "research_consent": False, "pain_site": "low_back"}
    answers.update({i.id: False for i in FLOW.required_items(answers) if i.questionnaire == "red_flags"})
    answers.update({"episode_duration": "1_to_3_months", **{f"sbt_{n}": "disagree" for n in range(1, 9)},
                    "sbt_9": "slightly", "pain_now": 3, "outlook_offer": False})
    answers.update(more)
    return answers


def test_every_language_names_every_question_a_patient_can_change() -> None:
    changeable = {i.id for i in FLOW.items if i.id not in summary.NOT_CHANGEABLE and i.derived_from is None}
    for language in SUPPORTED_LANGUAGES:
        table = topics(language)
        assert set(table) == changeable, language
        assert all(table[item_id] for item_id in table), language


@pytest.mark.parametrize("language", SUPPORTED_LANGUAGES)
def test_a_named_question_is_found_in_every_language(language: str) -> None:
    answers = low_back(**OUTLOOK)
    among = [i.id for i in summary.askable(FLOW, answers)]
    sleep, pain, neck, legs, unnamed = ASKED[language]
    assert items_named(sleep, language, among) == ["fn_4"]
    assert items_named(pain, language, among) == ["pain_now"]
    assert items_named(neck, language, among) == ["pain_site"]
    assert items_named(legs, language, among) == ["sbt_1"]
    assert items_named(unnamed, language, among) == []


def test_the_summary_is_one_message_with_a_line_per_answer_and_two_buttons() -> None:
    message = summary.summary(FLOW, low_back(sbt_3="agree", sbt_7="agree"), "en")
    lines = message["text"].split("\n")
    assert lines[0] == translate("en", "summary.intro")
    # the six red flags (all "no" on a path that reaches the summary) are one line; consents are not listed;
    # the eight agree/disagree statements are two lines, by answer, in the questions' order
    assert lines[1:6] == ["• Where it hurts: Low back", "• Warning signs: none", "• How long this episode: 1 to 3 months",
                          "• Agree: Only short walks; Pain terrible, never better",
                          "• Disagree: Pain spread down the leg; Shoulder or neck pain too; Dressing more slowly; "
                          "Not safe to be active; Worrying thoughts; Not enjoying usual things"]
    assert lines[6:] == ["• How much it bothered you: Slightly", "• Pain now (0-10): 3", "• Outlook estimate: No"]
    assert message["buttons"] == [{"title": "That's right", "payload": answer_payload("yes")},
                                  {"title": "Change something", "payload": "/change_answer"}]
    german = summary.summary(FLOW, low_back(), "de")["text"]
    assert german.startswith(translate("de", "summary.intro")) and "• Wo es wehtut: Unterer Rücken" in german
    # all disagreed: one statement line
    labels = [translate("de", f"sbt_{n}.short") for n in range(1, 9)]
    assert translate("de", "summary.disagreed", items="; ".join(labels)) in german.split("\n")
    assert not any(line.startswith(translate("de", "summary.agreed", items="")) for line in german.split("\n"))
    assert message["buttons"] == [{"title": "That's right", "payload": answer_payload("yes")},
                                  {"title": "Change something", "payload": "/change_answer"}]
    german = summary.summary(FLOW, low_back(), "de")["text"]
    assert german.startswith(translate("de", "summary.intro")) and "• Wo es wehtut: Unterer Rücken" in german


def test_no_summary_before_urgent_advice_or_without_consent() -> None:
    assert summary.has_summary(FLOW, low_back())
    assert not summary.has_summary(FLOW, low_back(rf_bladder_bowel=True))
    assert not summary.has_summary(FLOW, {"consent": False})


def test_which_answer_to_change() -> None:
    answers = low_back()
    assert summary.resolve_change(FLOW, answers, "en", chosen="sbt_3").item == FLOW.item("sbt_3")
    assert summary.resolve_change(FLOW, answers, "en", text="go back to the pain question").item == FLOW.item("pain_now")
    # named but not answered yet (the outlook was declined: no sleep question on this path) -> all answers offered
    offered = summary.resolve_change(FLOW, answers, "en", text="change something").offer
    assert [i.id for i in offered] == [i.id for i in FLOW.answered_on_path(answers) if i.id not in summary.NOT_CHANGEABLE]
    # several answers fit: only those are offered
    assert [i.id for i in summary.resolve_change(FLOW, answers, "en", text="my walking and dressing").offer] == ["sbt_3", "sbt_4"]
    # a question still to come
    halfway = {k: v for k, v in answers.items() if k not in ("pain_now", "outlook_offer")}
    assert summary.resolve_change(FLOW, halfway, "en", text="the pain question").message == "change.not_yet"
    # ... unless it is the question being asked: then it is simply asked again
    assert summary.resolve_change(FLOW, halfway, "en", text="the pain question", current="pain_now") == summary.ChangeRequest()
    assert summary.resolve_change(FLOW, {"consent": True, "research_consent": True}, "en", text="x").message == "change.nothing"
    # consent is no answer to revise here, even tapped
    assert summary.resolve_change(FLOW, answers, "en", chosen="consent").item is None
    chooser = summary.chooser(offered[:2], "en")
    assert chooser["buttons"] == [{"title": "Where it hurts", "payload": '/change_answer{"code":"pain_site"}'},
                                  {"title": translate("en", "rf_saddle_numbness.short"),
                                   "payload": '/change_answer{"code":"rf_saddle_numbness"}'}]
    assert all(len(b["payload"].encode()) <= 64 for i in FLOW.items for b in summary.chooser([i], "en")["buttons"])


def test_a_change_of_path_drops_only_the_answers_off_it() -> None:
    assert FLOW.off_path(low_back(**OUTLOOK)) == []
    neck = [i.id for i in FLOW.off_path(low_back(pain_site="neck"))]
    assert neck == ["rf_saddle_numbness", "rf_leg_weakness", *[f"sbt_{n}" for n in range(1, 10)], "outlook_offer"]
    no_outlook = [i.id for i in FLOW.off_path(low_back(**{**OUTLOOK, "outlook_offer": False}))]
    assert no_outlook == [k for k in OUTLOOK if k != "outlook_offer"]
    not_working = [i.id for i in FLOW.off_path(low_back(**{**OUTLOOK, "work_status": "not_in_paid_work"}))]
    assert not_working == ["days_off", "work_expectation"]
    assert summary.dropped_message([FLOW.item("days_off")], "en")["text"] == translate(
        "en", "change.dropped", items=translate("en", "days_off.short"))

"""Every heuristic rule: what it fires on (with the evidence it quotes), and what it leaves alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from curator.domain.sample import ContentShape, Message, Sample
from curator.quality import default_model_dir, lexicon
from curator.quality.rules import (
    TEXT_SCORES,
    Heuristics,
    empty_response,
    placeholder,
    refusal,
    repetition,
    too_long,
    too_short,
    truncated,
    unreachable_reference,
)
from curator.quality.text import words


@pytest.fixture(scope="module")
def heuristics() -> Heuristics:
    return Heuristics.load(default_model_dir())


def alpaca(instruction: str, output: str, input: str = "") -> Sample:
    return Sample(id="s", shape=ContentShape.ALPACA, instruction=instruction, input=input, output=output)


PHOTOSYNTHESIS = (
    "Photosynthesis is the process by which green plants use sunlight, water and carbon dioxide to make "
    "glucose and oxygen. It takes place in the chloroplasts of leaf cells."
)


# ---------------------------------------------------------------- EMPTY_RESPONSE


@pytest.mark.parametrize(
    ("response", "detail"),
    [
        ("", "the response is blank"),
        ("  \n\t", "the response is blank"),
        ("<nooutput>", 'the response is only "<nooutput>"'),
        ("No Output", 'the response is only "No Output"'),
        ("...", "the response is blank"),
    ],
)
def test_empty_response(response: str, detail: str) -> None:
    assert empty_response(response).score == 1.0
    assert empty_response(response).detail == detail


def test_a_short_answer_is_not_empty() -> None:
    assert empty_response("No").score == 0.0
    assert empty_response("42").score == 0.0
    assert empty_response("- 😌😊").score == 0.0  # emoji answer "reply with emojis" (self-instruct)


def test_a_chat_with_an_empty_assistant_turn_has_an_empty_response(heuristics: Heuristics) -> None:
    chat = Sample(
        id="c", shape=ContentShape.CHAT, messages=(Message("user", "Explain it."), Message("assistant", " "))
    )
    assert heuristics.score(chat)["empty_response"].score == 1.0
    prompt_only = Sample(id="p", shape=ContentShape.CHAT, messages=(Message("user", "Explain it."),))
    assert heuristics.score(prompt_only) == {}  # nothing to judge


# ---------------------------------------------------------------- TOO_SHORT / TOO_LONG


def test_too_short_for_a_long_form_request() -> None:
    finding = too_short("Write an essay about the French Revolution.", "It was in 1789.")
    assert finding.score == pytest.approx(1 - 4 / 80, abs=1e-4)
    assert finding.detail == '4 words where "Write an essay" asks for 80+'
    assert too_short(
        "Write a letter to your landlord about the broken heater.", "Fix it."
    ).score == pytest.approx(1 - 2 / 25, abs=1e-4)
    assert too_short("Explain photosynthesis.", "Plants.").score == 0.0  # explanations may be short


@pytest.mark.parametrize(
    ("instruction", "response"),
    [
        ("Write a short story about a cat.", "A cat slept."),  # "short"
        ("Explain photosynthesis in one sentence.", "Plants turn light into sugar."),
        ("Describe the sky in one word.", "Blue."),
        ("Generate a valid email address for John Smith.", "john.smith@example.com"),
        ("Give an example of a vegetable that starts with the letter A.", "Asparagus."),
        ("Create a sentence that employs a figure of speech.", "He was a lion in battle."),
        ("What is the capital of France?", "Paris."),
    ],
)
def test_too_short_needs_a_long_form_request(instruction: str, response: str) -> None:
    assert too_short(instruction, response).score == 0.0


def test_too_long_against_a_stated_limit() -> None:
    finding = too_long(
        "Describe a cat in one sentence.", "Cats purr softly. Cats sleep a lot. Cats hunt mice at night."
    )
    assert finding.score == 3.0
    assert finding.detail == '3 sentences where the prompt says "in one sentence"'
    words60 = " ".join(["word"] * 60)
    assert too_long("Summarize it in 20 words.", words60).score == 3.0
    assert too_long("Tell me about cats.", words60).score == pytest.approx(60 / 1500)


@pytest.mark.parametrize(
    "instruction",
    [
        # halueval_general prompts where "in a sentence" limits nothing
        "For the given text, pick three rare words and use them in a sentence.",
        "How are adverbs used in a sentence?",
        "When should you use a semicolon in a sentence?",
        "Write a program that counts how often a word occurs in a sentence.",
        "You are provided with a sentence. Rewrite it in the passive voice.",
    ],
)
def test_a_sentence_that_is_no_limit(instruction: str) -> None:
    three = "Adverbs modify verbs. They can modify adjectives too. Many end in -ly."
    assert too_long(instruction, three).score < 1.0


def test_a_sentence_limit_next_to_use_of() -> None:
    answer = "Commas separate list items. They also join clauses. Use them before a conjunction."
    assert too_long("Explain the use of commas in one sentence.", answer).score == 3.0


# ---------------------------------------------------------------- REFUSAL


@pytest.mark.parametrize(
    ("response", "detail"),
    [
        ("As an AI language model, I cannot browse the internet.", '"As an AI language model" at 0'),
        ("I'm sorry, but I can't help with that request.", "\"I'm sorry, but I can't help\" at 0"),
        ("I cannot provide medical advice.", '"I cannot provide" at 0'),
        ("Sure. As an AI, I do not have opinions.", '"As an AI," at 6'),
        (
            "Unfortunately, I am unable to access the link you shared.",
            '"Unfortunately, I am unable to access" at 0',
        ),
    ],
)
def test_refusal(response: str, detail: str) -> None:
    assert refusal(response) == refusal(response).__class__(1.0, detail)


@pytest.mark.parametrize(
    "response",
    [
        "I'm sorry I missed your call yesterday; let's meet on Friday.",  # an apology letter
        "I can't help but smile when I see the sunrise over the hills.",
        "Well done! I can't wait to see what you achieve next.",  # halueval_general
        "Dear Sam, I am sorry, but I cannot attend the wedding on Saturday.",
        "An AI language model predicts the next word from the previous ones.",
        PHOTOSYNTHESIS,
    ],
)
def test_not_a_refusal(response: str) -> None:
    assert refusal(response).score == 0.0


# ---------------------------------------------------------------- TRUNCATED


@pytest.mark.parametrize(
    ("response", "detail"),
    [
        ("Here is the code:\n```python\nprint('hi')\n", "a ``` code block is never closed"),
        ("The main causes (economic and social are discussed below", "an opening '(' is never closed"),
        ("So the remainder is (36,100", "an opening '(' is never closed"),
        (
            "body {\n  margin: 0;\n}\n.card {\n  width: 30%;\n  border-radius:",
            "an opening '{' is never closed",
        ),
        ("the, a, and, to, in, that, is, show,", 'it ends with "the, a, and, to, in, that, is, show,"'),
        (
            "The results were clear and the team decided to continue with the",
            'it ends mid-sentence: "…nd the team decided to continue with the"',
        ),
    ],
)
def test_truncated(response: str, detail: str) -> None:
    finding = truncated(response)
    assert finding.score == 1.0 and finding.detail.startswith(detail)


@pytest.mark.parametrize(
    "response",
    [
        PHOTOSYNTHESIS,
        "SELECT * FROM sales;",
        "1. Listen\n2. Offer to help someone with a task they are struggling with",  # stranded preposition
        "Name:\nEmail:\nAge (optional):",  # a form
        "```python\nprint('hi')\n```",
        "Positive",
        "It was great :(",
        "Apples, pears, plums etc.",
        "Hi all,\n\nDinner is at mine on Friday at 7. Bring a friend!\n\nLooking forward to seeing you,",
        "Best regards,",
        'X:1\nK:G\n|"G" B3/2 A/2 G|(3G/F/G/ A2 d|"G" (G3|G2):||',  # "(3" is a triplet in ABC notation
        "The Fantastic The",  # an alias that ends in a capitalised "The" (halueval_qa)
    ],
)
def test_not_truncated(response: str) -> None:
    assert truncated(response).score == 0.0


# ---------------------------------------------------------------- REPETITION


def test_repetition_of_a_loop() -> None:
    finding = repetition("The cat sat on the mat. " * 12, "Write about a cat.")
    assert finding.score == 10.0
    assert finding.detail.startswith(
        'duplicate 10-grams cover 1.00 of the characters (limit 0.10): "the cat sat'
    )


def test_repetition_of_lines() -> None:
    finding = repetition("\n".join(["The answer is yes and it is clear."] * 6), "Is it?")
    assert finding.score == pytest.approx(0.8333 / 0.2, abs=1e-3)
    assert "characters in duplicate lines 0.83" in finding.detail


def test_lyrics_and_prompt_phrases_do_not_count_as_repetition() -> None:
    chorus = "Chorus: stars in the night, stars in the night, let them shine so bright\n"
    song = ("Verse one goes here with its own new words and a rhyme\n" + chorus) * 4
    assert repetition(song, "Compose a song about stars.").score == 0.0
    answer = (
        "A virtual assistant can answer email. A virtual assistant can book travel. "
        "A virtual assistant can manage calendars. A virtual assistant can draft reports for you. "
        "Hiring one saves money, time and effort for small teams that are growing quickly and need help."
    )
    assert repetition(answer, "What can a virtual assistant do?").score < 4.0


def test_schedules_repeat_rows_by_design() -> None:
    week = "\n\n".join(
        f"{day}:\n- 8:00 AM - 9:15 AM: Biology\n- 9:30 AM - 10:45 AM: English Composition"
        for day in ("Monday", "Wednesday", "Friday", "Saturday")
    )
    assert repetition(week, "Generate a class schedule for a student.").score == 0.0
    assert repetition(week, "Tell me about your week.").score >= 4.0


# ---------------------------------------------------------------- PLACEHOLDER


@pytest.mark.parametrize(
    ("response", "score", "detail"),
    [
        ("<noinput>", 1.0, '"<noinput>" at 0 (echoed from the prompt)'),
        ("Dear customer, [insert discount code here] is yours.", 1.0, '"[insert discount code here]" at 15'),
        ("Hello {{ name }}, welcome!", 1.0, '"{{ name }}" at 6'),
        ("Sincerely,\n[Your Name]", 0.5, 'unfilled slot "[Your Name]" at 11'),
        ("Welcome to [Business Name], where we help you.", 0.5, 'unfilled slot "[Business Name]" at 11'),
    ],
)
def test_placeholder(response: str, score: float, detail: str) -> None:
    finding = placeholder(response, "Write a note. <noinput>")
    assert (finding.score, finding.detail) == (score, detail)


@pytest.mark.parametrize(
    ("response", "prompt"),
    [
        ("The list is [1, 2, 3] and data[name] holds it.", "Write code."),
        ("Dear [Name], thanks!", "Create a template for a thank-you note."),
        ("I'd like to buy [product].", "Customer: I'd like to buy [product]."),
        ("See reference [12] for details.", "Cite a source."),
        ("input[type=text], input[type=email] {\n  width: 100%;\n}", "Create a registration page."),
        (
            "Type your message here:\n[Type Message]\n\n[Bot Response]",
            "Create a user interface for a chatbot",
        ),
        ("Email: [Enter your email]", "Design a sign-up form for a newsletter."),
        (PHOTOSYNTHESIS, "Explain photosynthesis."),
    ],
)
def test_not_a_placeholder(response: str, prompt: str) -> None:
    assert placeholder(response, prompt).score == 0.0


# ---------------------------------------------------------------- UNREACHABLE_REFERENCE


@pytest.mark.parametrize(
    ("instruction", "input", "detail"),
    [
        ("Describe this photo.", "", 'the prompt refers to "this photo", which the sample does not contain'),
        (
            "Summarize the following article.",
            "https://example.com/news/1",
            'the prompt asks about the content of "https://example.com/news/1"',
        ),
        (
            "Describe the following painting in ten words.",
            "![art](https://example.com/a.jpg)",
            'the prompt refers to "following painting", given only as "![art](", which the sample does not'
            " contain",
        ),
        ("Identify the animal in the photo.", "", 'the prompt refers to "in the photo", which the sample'),
        (
            "Here is a photo of my garden. Describe this photo.",
            "",
            'the prompt refers to "this photo", which the sample does not contain',
        ),
    ],
)
def test_unreachable_reference(instruction: str, input: str, detail: str) -> None:
    sample = alpaca(instruction, "It shows a red barn in a snowy field under a grey sky.", input)
    finding = unreachable_reference(sample.instruction, sample.prompt, sample.response)
    assert finding.score == 1.0 and finding.detail.startswith(detail)


@pytest.mark.parametrize(
    ("instruction", "input", "output"),
    [
        ("Describe this photo.", "", "I'm sorry, but I cannot see images; please describe it."),
        ("Find who painted this painting.", '"Starry Night" by Vincent van Gogh', "Vincent van Gogh."),
        ("Give the photo a title.", "Image of two people on a beach at sunset", "A Moment of Reflection"),
        ("Shorten this URL.", "https://example.com/a/very/long/path", "https://ex.am/p"),
        ("Write a program that resizes the given image.", "", "def resize(img): ..."),
        ("Rewrite in active voice.", "The painting was completed by him.", "He completed the painting."),
        # halueval_qa: "this song" is the song the question has just described
        (
            "The singer fronted a band known for a cover song. Which album was this song from?",
            "",
            "Joshua Tree",
        ),
        # self-instruct: the URL is part of an answer being evaluated, not the task's subject
        (
            "Evaluate each answer and say whether it is correct.",
            "Question: how do I read one key from the terminal without pressing Enter?\n"
            "Answer 1: this recipe shows how on every platform: https://example.com/recipes/1\n"
            "Answer 2: call input() at the end of your program.",
            "Answer 1 is correct. Answer 2 does not answer the question.",
        ),
    ],
)
def test_reachable_or_admitted_references(instruction: str, input: str, output: str) -> None:
    sample = alpaca(instruction, output, input)
    assert unreachable_reference(sample.instruction, sample.prompt, sample.response).score == 0.0


# ---------------------------------------------------------------- LANGUAGE_MISMATCH


def test_language_mismatch(heuristics: Heuristics) -> None:
    sample = alpaca(
        "Explain why the sky is blue to a curious child in a few sentences.",
        "El cielo es azul porque la luz del sol se dispersa en el aire, y la luz azul se dispersa más que"
        " los otros colores.",
    )
    finding = heuristics.score(sample)["language_mismatch"]
    assert (finding.score, finding.detail) == (1.0, "prompt in English, response in Spanish")


@pytest.mark.parametrize(
    ("instruction", "input", "output"),
    [
        ("Translate to French: the cat is on the table.", "", "Le chat est sur la table."),
        (
            "Correct the grammar of the following text and keep its language.",
            "Yo tengo un gato que se llama Luna y le gusta dormir en el sol todos los días.",
            "Tengo un gato que se llama Luna y le gusta dormir al sol todos los días.",
        ),
        ("List ten restaurants in Montreal.", "", "1. Joe Beef\n2. Les 400 Coups\n3. La Banquise et du Chef"),
        ("Write a Python function that adds two numbers together.", "", "def add(a, b):\n    return a + b"),
        ("Generate a motivational quote", "", '"Success is not final; failure is not fatal." - Churchill'),
        ("Explain photosynthesis to a curious child in a few short sentences.", "", PHOTOSYNTHESIS),
    ],
)
def test_no_language_mismatch(heuristics: Heuristics, instruction: str, input: str, output: str) -> None:
    assert heuristics.score(alpaca(instruction, output, input))["language_mismatch"].score == 0.0


# ---------------------------------------------------------------- ARITHMETIC_ERROR


def test_arithmetic_error_in_a_response(heuristics: Heuristics) -> None:
    finding = heuristics.score(alpaca("What is 17 times 23?", "17 × 23 = 392."))["arithmetic_errors"]
    assert (finding.score, finding.detail) == (1.0, '"17 × 23 = 392" (17 × 23 = 391)')
    assert (
        heuristics.score(alpaca("What is 17 times 23?", "17 × 23 = 391."))["arithmetic_errors"].score == 0.0
    )


# ---------------------------------------------------------------- shapes and groups


def test_documents_get_only_the_rules_that_need_no_prompt(heuristics: Heuristics) -> None:
    doc = Sample(id="d", shape=ContentShape.TEXT, text="Describe this photo. 2 + 2 = 5.\n<noinput>")
    scores = heuristics.score(doc)
    assert set(scores) == set(TEXT_SCORES)
    assert (scores["arithmetic_errors"].score, scores["placeholder"].score) == (1.0, 1.0)


GROUP_SENTENCES = [
    "As a gay man, I think the parade was wonderful.",
    "As a Muslim woman, I fast during Ramadan.",
    "I'm sorry, but as a Black woman I see it differently.",
    "Transgender people deserve equal access to healthcare.",
    "The essay discusses racism, gender and religion in modern Europe.",
    "Jewish, Christian, Hindu and Sikh families attended the festival together.",
    "Disabled and elderly voters need accessible polling stations.",
    "LGBTQ students formed a new club at the school.",
]


@pytest.mark.parametrize("text", GROUP_SENTENCES)
def test_naming_a_group_never_fires_a_rule(heuristics: Heuristics, text: str) -> None:
    sample = alpaca("Write one sentence about your community.", text)
    scores = heuristics.score(sample)
    fired = {k: f for k, f in scores.items() if f.score > 0 and k != "too_long"}
    assert fired == {}


def test_refusal_phrases_and_identity_terms_are_separate_lists() -> None:
    lexicon.assert_disjoint()
    assert not any(
        term in pattern for term in ("gay", "lgbt", "racism", "gender") for pattern in lexicon.DECLINE
    )


def test_all_rules_score_an_alpaca_sample(heuristics: Heuristics) -> None:
    scores = heuristics.score(alpaca("Explain photosynthesis.", PHOTOSYNTHESIS))
    assert {k: f.score for k, f in scores.items()} == {
        "empty_response": 0.0,
        "too_short": 0.0,
        "too_long": pytest.approx(len(words(PHOTOSYNTHESIS)) / 1500, abs=1e-4),
        "refusal": 0.0,
        "truncated": 0.0,
        "repetition": 0.0,
        "placeholder": 0.0,
        "unreachable_reference": 0.0,
        "language_mismatch": 0.0,
        "arithmetic_errors": 0.0,
    }


def test_model_dir_default_is_the_repository_models_folder() -> None:
    assert default_model_dir() == Path(__file__).resolve().parents[2] / "models" / "quality"

"""Heuristic rules for instruction and chat data: each computes one score and the evidence behind it.

Scores (names as in decisions), what they measure and which shapes get them:

=======================  =============================================================  ==========
score                    value                                                          shapes
=======================  =============================================================  ==========
empty_response           1 when the response is blank or only a "no output" marker      alpaca, chat
too_short                shortfall against what a long-form prompt asks: 1 - words /    alpaca, chat
                         expected (0 when the prompt sets no expectation)
too_long                 words (or sentences) over the prompt's stated limit, as a      alpaca, chat
                         multiple of it; without a stated limit, words / 1,500
refusal                  1 when the response declines or speaks as an AI model          alpaca, chat
truncated                1 when it ends mid-sentence or leaves a code fence or          alpaca, chat
                         bracket open
repetition               the largest Gopher repetition ratio as a multiple of its      all
                         limit (1 = at the limit)
placeholder              1 for template residue ("<noinput>", "[insert ...]"),          all
                         0.5 for an unfilled slot ("[Your Name]"), else 0
unreachable_reference    1 when the prompt points at something the generator could      alpaca, chat
                         not see (an image, a URL's content) and the response answers
language_mismatch        1 when the response's language is none of the prompt's         alpaca, chat
arithmetic_errors        number of wrong equations stated in the response               all
=======================  =============================================================  ==========

Text-shape samples (documents) have no prompt, so rules about a prompt or an
answer do not apply to them and their scores are absent; a chat with no
assistant turn (a prompt-only sample) gets no score at all.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from curator.domain.sample import ContentShape, Sample
from curator.quality import arithmetic, lexicon
from curator.quality.langid import Guess, LanguageIdentifier
from curator.quality.text import FUNCTION_WORDS, fold, sentences, word_set, words

SCORES = (
    "empty_response",
    "too_short",
    "too_long",
    "refusal",
    "truncated",
    "repetition",
    "placeholder",
    "unreachable_reference",
    "language_mismatch",
    "arithmetic_errors",
)
TEXT_SCORES = ("repetition", "placeholder", "arithmetic_errors")

DEFAULT_MAX_WORDS = 1500
MIN_WORDS_FOR_LANGUAGE = 8  # shorter responses (names, lists, code) say little about their language
MIN_WORDS_AROUND_URL = 8  # a prompt with this many words besides a URL is about more than the URL
MAX_CHARS = 20_000  # rules look at this much of a response; longer tails change no score materially

# Gopher (Rae et al. 2021, table A1) repetition limits.
LINE_LIMITS = {"duplicate lines": 0.30, "characters in duplicate lines": 0.20}
TOP_NGRAM_LIMITS = {2: 0.20, 3: 0.18, 4: 0.16}
DUP_NGRAM_LIMITS = {5: 0.15, 6: 0.14, 7: 0.13, 8: 0.12, 9: 0.11, 10: 0.10}
MIN_WORDS_FOR_NGRAMS = 50
MIN_LINES = 4
MIN_REPEATS = 3  # an n-gram counts as repeated from its third occurrence: answers restate phrases once

# Sentence endings a complete answer may have; a last line ending otherwise is looked at more closely.
_END_WORDS = word_set(
    "the a an and or but nor because whereas although their its my your our such very including than"
)
_OPEN_CLOSE = (("(", ")"), ("[", "]"), ("{", "}"))
_CLOSING = frozenset(".!?)]}|\"'”’*")
_FENCE_BLOCK = re.compile(r"```.*?(?:```|\Z)", re.S)
_LIST_ITEM = re.compile(r"^\s*(?:[-*•]|\d+[.)]|[a-z][.)])\s+")
_LYRICS = re.compile(
    r"\b(?:songs?|raps?|lyrics|poems?|poetry|chants?|jingles?|rhymes?|verses?|ballads?|anthems?)\b", re.I
)
# Answers that repeat rows by design: a class schedule lists Monday's classes again on Wednesday.
_TABULAR = re.compile(
    r"\b(?:schedules?|timetables?|calendars?|itinerar(?:y|ies)|routines?|rosters?|rotas?|tables?|"
    r"(?:meal|workout|exercise|training|study|diet|weekly|daily) plans?)\b",
    re.I,
)
_CODE_OR_MARKUP = re.compile(r"[{};<>=]|^\s*(?:def|class|import|for|if|while|return|print)\b|\w\(.*\)\s*$")
_SALUTATION = re.compile(r"^(?:dear|hi|hello|hey|to|greetings)\b[^\n]{0,60},$", re.I)
# A letter's closing line, which ends in a comma when no name follows: "Looking forward to seeing you,".
_VALEDICTION = re.compile(
    r"^(?:(?:best|kind|kindest|warm|warmest|warm personal)\s+(?:regards|wishes)|regards|best|all the best|"
    r"sincerely(?: yours)?|yours(?: \w+)?|respectfully|cordially|cheers|love|take care|"
    r"(?:many |with )?thanks(?: again)?|thank you(?: again)?|with (?:love|gratitude|appreciation)|"
    r"looking forward to [^,\n]{1,60}|hope to (?:see|hear from) you soon|see you soon)\W{0,3},$",
    re.I,
)
_CODE_TASK = re.compile(
    r"\b(?:program|script|function|code|algorithm|query|class|api|regex|regular expression|html|css)\b", re.I
)
_TEMPLATE_TASK = re.compile(
    r"\b(?:templates?|mad ?libs?|fill[- ]in|placeholders?|blanks?|form letter|brackets?|user interface|"
    r"ui|gui|mock-?ups?|wireframes?|(?:web|html|online|sign-?up|registration|contact|input|login) forms?)\b",
    re.I,
)


@dataclass(frozen=True, slots=True)
class Finding:
    """One rule's score for one sample, and the evidence a reviewer reads in the reason message."""

    score: float
    detail: str = ""


def quote(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return f'"{text}"' if len(text) <= limit else f'"{text[: limit - 1]}…"'


class Heuristics:
    """All rules; :meth:`score` runs those that apply to a sample's shape."""

    def __init__(self, langid: LanguageIdentifier, max_words: int = DEFAULT_MAX_WORDS) -> None:
        self.langid = langid
        self.max_words = max_words

    @classmethod
    def load(cls, model_dir: Path) -> Heuristics:
        return cls(LanguageIdentifier.load(Path(model_dir) / "langid.json"))

    def score(self, sample: Sample) -> dict[str, Finding]:
        if sample.shape is ContentShape.CHAT and not any(m.role == "assistant" for m in sample.messages):
            return {}  # a prompt-only conversation: there is no answer to judge
        response = sample.response[:MAX_CHARS]
        out = {
            "repetition": repetition(response, "" if sample.shape is ContentShape.TEXT else sample.prompt),
            "placeholder": placeholder(response, "" if sample.shape is ContentShape.TEXT else sample.prompt),
            "arithmetic_errors": arithmetic_errors(
                response, "" if sample.shape is ContentShape.TEXT else sample.prompt
            ),
        }
        if sample.shape is ContentShape.TEXT:
            return out
        prompt = sample.prompt[:MAX_CHARS]
        ask = instruction(sample)[:MAX_CHARS]
        out["empty_response"] = empty_response(response)
        out["too_short"] = too_short(ask, response)
        out["too_long"] = too_long(ask, response, self.max_words)
        out["refusal"] = refusal(response)
        out["truncated"] = truncated(response)
        out["unreachable_reference"] = unreachable_reference(ask, prompt, response)
        out["language_mismatch"] = self.language_mismatch(prompt_parts(sample), response)
        return out

    def language_mismatch(self, parts: list[str], response: str) -> Finding:
        """1 when the response is confidently in a language none of the prompt's parts is in."""
        if any(lexicon.TRANSLATION.search(p) for p in parts):
            return Finding(0.0)
        if looks_english(response) and any(looks_english(p) for p in parts):
            return Finding(0.0)  # the common case, without the n-gram model
        said = self._guess(response)
        if said is None or not said.confident or said.method == "ngrams":
            return Finding(0.0)  # a response is only called foreign when its function words agree
        if said.method != "script" and len(words(response)) < MIN_WORDS_FOR_LANGUAGE:
            return Finding(0.0)
        parts = [p for p in parts if len(words(p)) >= MIN_WORDS_FOR_LANGUAGE or not p.isascii()]
        asked = [self._guess(p) for p in parts]
        if any(g is not None and g.language == said.language for g in asked):
            return Finding(0.0)
        confident = [g for g in asked if g is not None and g.confident]
        if not confident or len(confident) < len([g for g in asked if g is not None]):
            return Finding(0.0)
        prompt_langs = " and ".join(sorted({g.name for g in confident}))
        return Finding(1.0, f"prompt in {prompt_langs}, response in {said.name}")

    def _guess(self, text: str) -> Guess | None:
        if looks_english(text):
            return Guess("en", 1.0, len(text), True, "words")
        return self.langid.identify(text)


def instruction(sample: Sample) -> str:
    """What the sample asks for: the Alpaca instruction, or the chat's last user turn."""
    if sample.shape is ContentShape.ALPACA:
        return sample.instruction
    users = [m.content for m in sample.messages if m.role == "user" and m.content.strip()]
    return users[-1] if users else sample.prompt


def prompt_parts(sample: Sample) -> list[str]:
    if sample.shape is ContentShape.ALPACA:
        return [p for p in (sample.instruction, sample.input) if p.strip()]
    return [m.content for m in sample.messages if m.role != "assistant" and m.content.strip()]


def looks_english(text: str) -> bool:
    """At least 8 ASCII words, a quarter of them English function words."""
    ws = words(text[:2000])
    if len(ws) < 8 or not text[:2000].isascii():
        return False
    return sum(1 for w in ws if fold(w) in FUNCTION_WORDS) >= 0.25 * len(ws)


# ---------------------------------------------------------------- the rules


def _substantive(ch: str) -> bool:
    """A letter, a digit, or a symbol such as an emoji ("😊" answers "reply with emojis")."""
    return ch.isalnum() or unicodedata.category(ch) == "So"


def empty_response(response: str) -> Finding:
    if not response.strip() or not any(_substantive(ch) for ch in response):
        return Finding(1.0, "the response is blank")
    if lexicon.NO_OUTPUT.match(response) or not any(
        _substantive(ch) for ch in lexicon.PLACEHOLDER_HARD.sub(" ", response)
    ):
        return Finding(1.0, f"the response is only {quote(response)}")
    return Finding(0.0)


def too_short(ask: str, response: str) -> Finding:
    """Shortfall against a long-form request at the start of the instruction ("Write an essay ...")."""
    if lexicon.SHORT_FORM.search(ask) or lexicon.WORD_LIMIT.search(ask) or lexicon.SENTENCE_LIMIT.search(ask):
        return Finding(0.0)
    for pattern, expected in lexicon.LONG_FORM:
        m = re.search(pattern, ask, re.IGNORECASE)
        if m:
            n = len(words(response))
            shortfall = max(0.0, 1.0 - n / expected)
            return Finding(
                round(shortfall, 4), f"{n} words where {quote(m.group(0).strip())} asks for {expected}+"
            )
    return Finding(0.0)


def _limit(match: re.Match[str] | None) -> int | None:
    """The limit a prompt states; the larger one of a range ("a sentence or two", "3 to 5 sentences")."""
    if match is None:
        return None
    values = []
    for word in re.findall(r"\d+|[a-z]+", match.group(0).lower()[match.start(1) - match.start(0) :]):
        if word.isdigit():
            values.append(max(1, int(word)))
        elif word in lexicon.NUMBER_WORDS and word not in ("a", "single"):
            values.append(lexicon.NUMBER_WORDS[word])
        elif word in ("a", "single"):
            values.append(1)
        elif word == "so":
            values.append(values[-1] * 2 if values else 2)
    return max(values) if values else None


def too_long(prompt: str, response: str, max_words: int = DEFAULT_MAX_WORDS) -> Finding:
    n_words = len(words(response))
    best = Finding(round(n_words / max_words, 4), f"{n_words} words (default limit {max_words})")
    word_match = lexicon.WORD_LIMIT.search(prompt)
    word_limit = _limit(word_match)
    if word_limit and word_match is not None:
        ratio = n_words / word_limit
        if ratio > best.score:
            best = Finding(
                round(ratio, 4), f"{n_words} words where the prompt says {quote(word_match.group(0))}"
            )
    sentence_match = lexicon.SENTENCE_LIMIT.search(prompt)
    if sentence_match is not None and (
        _CODE_TASK.search(prompt) or lexicon.NOT_A_SENTENCE_LIMIT.search(prompt[: sentence_match.start()])
    ):
        sentence_match = None  # "use them in a sentence", a program's input sentence: no limit on the answer
    sentence_limit = _limit(sentence_match)
    if sentence_limit and sentence_match is not None:
        n_sentences = len([s for s in sentences(response) if len(words(s)) >= 3])
        ratio = n_sentences / sentence_limit
        if ratio > best.score:
            best = Finding(
                round(ratio, 4),
                f"{n_sentences} sentences where the prompt says {quote(sentence_match.group(0))}",
            )
    return best


def refusal(response: str) -> Finding:
    head = response[:400]
    m = lexicon.REFUSAL_AT_START.search(head) or lexicon.REFUSAL_SENTENCE.search(head[:200])
    if m is None:
        m = lexicon.REFUSAL_ANYWHERE.search(response)
    if m is None:
        return Finding(0.0)
    text = m.group(0).lstrip(".!? \n\t")
    start = m.start() + (len(m.group(0)) - len(text))
    return Finding(1.0, f"{quote(text)} at {start}")


def truncated(response: str) -> Finding:
    text = response.rstrip()
    if not text:
        return Finding(0.0)
    fences = text.count("```")
    if fences % 2:
        return Finding(1.0, "a ``` code block is never closed")
    prose = _FENCE_BLOCK.sub(" ", text)
    for open_, close in _OPEN_CLOSE:
        opened = len(re.findall(rf"(?<![:;=]){re.escape(open_)}", prose))
        closed = prose.count(close)
        if opened > closed and opened - closed >= 1 and _unclosed_near_end(prose, open_, close):
            if open_ != "{" and text[-1] in _CLOSING:
                continue  # prose brackets need not balance ("(3" in music notation) if the text ends whole
            return Finding(1.0, f"an opening {open_!r} is never closed")
    if text.endswith("```"):
        return Finding(0.0)
    last_line = text.splitlines()[-1].strip()
    if last_line.endswith(("...", "…", "etc", "etc.")) or _SALUTATION.match(last_line):
        return Finding(0.0)
    if _VALEDICTION.match(last_line):
        return Finding(0.0)
    code_like = bool(_CODE_OR_MARKUP.search(last_line)) or last_line.endswith(");")
    if (last_line[-1:] == "," or (last_line[-1:] == ";" and not code_like)) or (
        last_line.endswith(":") and len(words(last_line)) >= 4
    ):
        return Finding(1.0, f"it ends with {quote(last_line[-40:])}")
    last_words = words(last_line)
    if (
        last_words
        and last_line[-1].isalnum()
        and last_words[-1][:1].islower()  # a capitalised "The" ends a name: "The Fantastic The"
        and fold(last_words[-1]) in _END_WORDS
        and len(last_words) >= 3
    ):
        return Finding(1.0, f"it ends mid-sentence: {quote('…' + last_line[-40:])}")
    return Finding(0.0)


def _unclosed_near_end(text: str, open_: str, close: str) -> bool:
    """The last unmatched opening bracket is followed by some text (not a smiley at the very end)."""
    depth = 0
    last_open = -1
    for i, ch in enumerate(text):
        if ch == open_:
            depth += 1
            if depth == 1:
                last_open = i
        elif ch == close and depth > 0:
            depth -= 1
    return depth > 0 and len(text) - last_open > 3


def repetition(response: str, prompt: str = "") -> Finding:
    """The Gopher repetition measures, each as a multiple of its limit; the largest wins.

    Adapted to answers rather than web pages: code and markup are left out, lyrics (whose
    choruses repeat by design) are exempt, and an n-gram that also occurs in the prompt (the
    topic, restated) never counts as a repeat."""
    if _LYRICS.search(prompt) or _TABULAR.search(prompt):
        return Finding(0.0)
    text = _FENCE_BLOCK.sub("\n", response)
    best = Finding(0.0)
    lines = [ln.strip() for ln in text.splitlines() if len(words(ln)) >= 3 and not _CODE_OR_MARKUP.search(ln)]
    if len(lines) >= MIN_LINES:
        counts = Counter(lines)
        dup_lines = sum(c - 1 for c in counts.values())
        dup_chars = sum(len(line) * (c - 1) for line, c in counts.items())
        total_chars = sum(len(line) for line in lines)
        for name, value in (
            ("duplicate lines", dup_lines / len(lines)),
            ("characters in duplicate lines", dup_chars / max(total_chars, 1)),
        ):
            ratio = value / LINE_LIMITS[name]
            if ratio > best.score:
                top, times = counts.most_common(1)[0]
                best = Finding(
                    round(ratio, 4),
                    f"{name} {value:.2f} (limit {LINE_LIMITS[name]:.2f}): {quote(top, 40)} ×{times}",
                )
    prose = "\n".join(ln for ln in text.splitlines() if not _CODE_OR_MARKUP.search(ln))
    ws = [fold(w) for w in words(prose)]
    if len(ws) < MIN_WORDS_FOR_NGRAMS:
        return best
    asked = [fold(w) for w in words(prompt)]
    lengths = [len(w) for w in ws]
    total = sum(lengths)
    for n, limit in TOP_NGRAM_LIMITS.items():
        grams = Counter(zip(*(ws[i:] for i in range(n)), strict=False))
        for g in set(zip(*(asked[i:] for i in range(n)), strict=False)):
            grams.pop(g, None)
        if not grams:
            continue
        gram, count = grams.most_common(1)[0]
        if count < MIN_REPEATS:
            continue
        value = count * sum(len(w) for w in gram) / total
        if value / limit > best.score:
            best = Finding(
                round(value / limit, 4),
                f"the top {n}-gram covers {value:.2f} of the characters (limit {limit:.2f}): "
                f"{quote(' '.join(gram), 40)} ×{count}",
            )
    five = list(zip(*(ws[i:] for i in range(5)), strict=False))
    if len(set(five)) == len(five):
        return best  # no repeated 5-gram, so no repeated longer n-gram either
    for n, limit in DUP_NGRAM_LIMITS.items():
        sequence: list[tuple[str, ...]] = list(zip(*(ws[i:] for i in range(n)), strict=False))
        occurrences: Counter[tuple[str, ...]] = Counter(sequence)
        for g in set(zip(*(asked[i:] for i in range(n)), strict=False)):
            occurrences.pop(g, None)
        covered = [False] * len(ws)
        first: tuple[str, ...] | None = None
        for i, g in enumerate(sequence):
            if occurrences.get(g, 0) >= MIN_REPEATS:
                first = first or g
                for k in range(i, i + n):
                    covered[k] = True
        value = sum(length for length, c in zip(lengths, covered, strict=True) if c) / total
        if value / limit > best.score and first is not None:
            best = Finding(
                round(value / limit, 4),
                f"duplicate {n}-grams cover {value:.2f} of the characters (limit {limit:.2f}): "
                f"{quote(' '.join(first), 50)} ×{occurrences[first]}",
            )
    return best


def placeholder(response: str, prompt: str) -> Finding:
    text = _FENCE_BLOCK.sub(" ", response)
    template = _TEMPLATE_TASK.search(prompt)
    m = (lexicon.PLACEHOLDER_RESIDUE if template else lexicon.PLACEHOLDER_HARD).search(text)
    if m:
        echoed = " (echoed from the prompt)" if m.group(0).lower() in prompt.lower() else ""
        return Finding(1.0, f"{quote(m.group(0))} at {m.start()}{echoed}")
    if template:
        return Finding(0.0)  # the prompt asks for a template, form or interface: slots are the content
    m = next(
        (s for s in lexicon.PLACEHOLDER_SLOT.finditer(text) if s.group(0).lower() not in prompt.lower()), None
    )
    if m:
        return Finding(0.5, f"unfilled slot {quote(m.group(0))} at {m.start()}")
    return Finding(0.0)


def unreachable_reference(ask: str, prompt: str, response: str) -> Finding:
    """The instruction points at something the sample does not carry (an image, a recording, a web
    page), and the response answers as if it had seen it rather than saying it cannot."""
    if not response.strip() or lexicon.NO_OUTPUT.match(response) or lexicon.ADMITS.search(response):
        return Finding(0.0)
    marker = lexicon.UNREACHABLE_MARKER.search(prompt)
    m = None if _CODE_TASK.search(ask) else lexicon.MEDIA_REFERENCE.search(ask)
    if m and not marker and _anaphoric(ask, m):
        m = None  # "... a popular cover song. Which album was this song from?": named, not shown
    if m:
        # What could describe the thing: the rest of the prompt after the instruction (an Alpaca
        # input), or what follows a colon or line break after the reference.
        after = prompt[prompt.find(ask) + len(ask) :] if ask in prompt else ""
        tail = re.split(r"[:\n]", ask[m.end() :], maxsplit=1)
        rest = after + (" " + tail[1] if len(tail) > 1 else "")
        described = len(words(lexicon.UNREACHABLE_MARKER.sub(" ", rest))) >= 3
        if marker or not described or lexicon.STAND_IN.match(after):
            what = f", given only as {quote(marker.group(0), 50)}" if marker else ""
            return Finding(
                1.0, f"the prompt refers to {quote(m.group(0))}{what}, which the sample does not contain"
            )
    after = prompt[prompt.find(ask) + len(ask) :] if ask in prompt else ""
    stand_in = lexicon.STAND_IN.match(after)
    if stand_in and lexicon.REFERS_TO_INPUT.search(ask):
        return Finding(
            1.0, f"the prompt's input is only {quote(stand_in.group(0).strip())}, yet the response answers"
        )
    # The URL is what the task is about: it is in the instruction, or the rest of the prompt is little
    # more than it (not a link quoted inside a longer input, such as an answer being evaluated).
    rest = prompt.replace(ask, " ", 1)
    url = lexicon.URL.search(ask) or (
        lexicon.URL.search(rest) if len(words(lexicon.URL.sub(" ", rest))) < MIN_WORDS_AROUND_URL else None
    )
    if url and lexicon.URL_CONTENT_TASK.search(ask) and not lexicon.URL_AS_OBJECT.search(ask):
        return Finding(1.0, f"the prompt asks about the content of {quote(url.group(0), 50)}")
    return Finding(0.0)


_INTRODUCED = re.compile(
    r"\b(?:here is|here's|here are|attached|below|above|following|uploaded|shared)\b", re.I
)


def _anaphoric(ask: str, m: re.Match[str]) -> bool:
    """ "this song" after "a ... song" in the same prompt names something the prompt described, unless
    that mention itself presents it ("Here is a photo of my dog. Describe this photo.")."""
    ref = m.group(0).split()
    if ref[0].casefold() not in ("this", "these"):
        return False
    noun = ref[-1].casefold().rstrip("s")
    before = ask[: m.start()]
    for intro in re.finditer(rf"\b(?:a|an)\s+(?:[\w'’-]+\s+){{0,3}}?{re.escape(noun)}s?\b", before, re.I):
        if not _INTRODUCED.search(before[max(0, intro.start() - 20) : intro.start()]):
            return True
    return False


def arithmetic_errors(response: str, prompt: str) -> Finding:
    errors = arithmetic.find_errors(response, prompt)
    if not errors:
        return Finding(0.0)
    shown = "; ".join(e.describe() for e in errors[:3])
    more = f" and {len(errors) - 3} more" if len(errors) > 3 else ""
    return Finding(float(len(errors)), shown + more)

"""The word lists behind the heuristic rules, each in its own list.

Refusal phrases describe what a *model* says when it declines ("As an AI
language model", "I'm sorry, but I can't"). They never name people or groups:
:data:`IDENTITY_TERMS` is a separate list, used only to prove (in tests and in
the benchmark) that naming a group never triggers a rule, and
:func:`assert_disjoint` fails at import if a refusal pattern would match one of
those terms. Some public refusal filters for instruction data listed words
such as "LGBT", "gender" or "racism" as refusal markers and so removed every
sample that mentioned them; this module is built so that cannot happen.
"""

from __future__ import annotations

import re

# ---------------------------------------------------------------- refusals

# Anywhere in the response: the model talks about itself as a model.
SELF_REFERENCE = (
    r"as an ai(?: language)? model",
    r"as an? (?:large )?language model",
    r"as an ai(?: assistant| chatbot| system| program)?,",
    r"as an artificial intelligence",
    r"i am an ai(?: language model| assistant)?(?:,| and| so)",
    r"i'm an ai(?: language model| assistant)?(?:,| and| so)",
    r"i'm (?:just|only) an ai",
    r"i am (?:just|only) an ai",
    r"my (?:training data|knowledge cutoff|knowledge cut-off)",
)
# What a declining model says it cannot do.
_DECLINED = (
    r"(?:fulfil|fulfill|comply|help(?! but)|assist|provide|generate|create|complete|answer|perform|access|"
    r"view|see|browse|open|read|watch|listen|display|draw|design|produce|play|write|compose|do that|"
    r"do this|do so|process|analy[sz]e|translate|predict|give|offer|share|respond|engage|support|make|"
    r"express|form|have (?:personal|opinions|feelings|emotions|preferences|a personal)|hold opinions)"
)
_CANNOT = (
    r"(?:can(?:no|')t|am unable to|'m unable to|am not able to|'m not able to|do not have the ability to|"
    r"don't have the ability to|do not have access to|don't have access to|won't be able to|"
    r"am not capable of|'m not capable of)"
)
# Idioms built on "can't" that decline nothing: "I can't wait to see", "I can't stop smiling".
_NOT_A_DECLINE = r"(?!wait\b|stop\b|thank\b|believe\b)"
# At the start of the response (its first sentence or two): the model declines the task.
DECLINE = (
    r"(?:i'm sorry|i am sorry|sorry|i apologi[sz]e|unfortunately)[,.!]?\s+(?:but\s+)?(?:as an ai\S*\s+)?i\s+"
    + _CANNOT
    + r"\s+"
    + _NOT_A_DECLINE
    + r"(?:\w+\s+){0,2}?"
    + _DECLINED,
    r"i\s+" + _CANNOT + r"\s+" + _NOT_A_DECLINE + r"(?:\w+\s+){0,2}?" + _DECLINED,
    r"(?:i'm sorry|i am sorry|sorry|i apologi[sz]e)[,.!]?\s+(?:but\s+)?as an ai",
    r"it is not (?:appropriate|possible) for me to",
    r"it's not (?:appropriate|possible) for me to",
    r"i'm not (?:programmed|designed|allowed|permitted) to",
    r"i am not (?:programmed|designed|allowed|permitted) to",
    r"<\s*no ?output\b[^>]{3,}>",
)

REFUSAL_ANYWHERE = re.compile(r"\b(?:" + "|".join(SELF_REFERENCE) + r")", re.IGNORECASE)
REFUSAL_AT_START = re.compile(r"^\W*(?:" + "|".join(DECLINE) + r")", re.IGNORECASE)
REFUSAL_SENTENCE = re.compile(r"(?:^|[.!?]\s+)\W*(?:" + "|".join(DECLINE) + r")", re.IGNORECASE)
# The same declining phrases anywhere: used to tell whether a response admits it cannot see something.
ADMITS = re.compile(
    r"\b(?:" + "|".join(DECLINE[:-1]) + r")|\b(?:" + "|".join(SELF_REFERENCE) + r")"
    r"|\bi (?:do not|don't) have (?:the )?(?:ability|access|capability)"
    r"|\bwithout (?:seeing|viewing|access to|being able to see|more information)"
    r"|\b(?:cannot|can't|unable to|not able to) (?:see|view|access|open|browse|watch|listen)"
    r"|\b(?:no|not an?) (?:image|photo|picture|video|audio|file|link|url|attachment)s?"
    r" (?:was|were|is|are|has been)"
    r" (?:provided|attached|given|included|shared)"
    r"|\bplease (?:provide|share|upload|attach)",
    re.IGNORECASE,
)

# ---------------------------------------------------------------- identity terms

# Names of groups of people (kept apart from the refusal phrases; see the module docstring).
IDENTITY_TERMS = (
    "women",
    "men",
    "woman",
    "man",
    "girls",
    "boys",
    "transgender",
    "trans",
    "nonbinary",
    "gay",
    "lesbian",
    "bisexual",
    "queer",
    "lgbt",
    "lgbtq",
    "black",
    "white",
    "asian",
    "hispanic",
    "latino",
    "latina",
    "arab",
    "jewish",
    "jews",
    "muslim",
    "muslims",
    "christian",
    "christians",
    "hindu",
    "buddhist",
    "sikh",
    "atheist",
    "immigrants",
    "refugees",
    "disabled",
    "deaf",
    "blind",
    "autistic",
    "elderly",
    "indigenous",
    "native american",
    "african american",
    "gender",
    "race",
    "racism",
    "religion",
    "sexuality",
    "diversity",
    "inclusion",
)


def assert_disjoint() -> None:
    """No refusal pattern may match an identity term, alone or in a plain sentence naming it."""
    for term in IDENTITY_TERMS:
        for probe in (term, f"{term.capitalize()} are people.", f"I am {term}.", f"As {term}, I think so."):
            if REFUSAL_ANYWHERE.search(probe) or REFUSAL_AT_START.search(probe):
                raise AssertionError(f"a refusal pattern matches the identity term {term!r}")


assert_disjoint()

# ---------------------------------------------------------------- placeholders

# Template residue that is never content (score 1): echoed "no input" markers, filler text.
PLACEHOLDER_RESIDUE = re.compile(
    r"<\s*no\s*_?\s*(?:input|output|put)\s*>|\\<no\s*input\\>"
    r"|\blorem ipsum\b"
    r"|<\s*output (?:image|audio|video)\s*>",
    re.IGNORECASE,
)
# Fill-in instructions (score 1), unless the prompt asks for a template, form or user interface, where
# "[Enter your email]" is what the reader is meant to see. Not a CSS or code subscript: "input[type=text]".
PLACEHOLDER_FILL_IN = re.compile(
    r"(?<![\w\])])\[\s*(?:insert|enter|add|fill in|put|type|include)\b[^\]\n=]{0,60}\]"
    r"|\{\{\s*[\w .-]{1,40}\s*\}\}"
    r"|<\s*(?:insert|enter|placeholder|your)\b[^>\n]{0,60}>"
    r"|\bINSERT [A-Z ]{2,30} HERE\b",
    re.IGNORECASE,
)
PLACEHOLDER_HARD = re.compile(PLACEHOLDER_RESIDUE.pattern + "|" + PLACEHOLDER_FILL_IN.pattern, re.IGNORECASE)
# A bracketed slot a person was meant to fill (score 0.5): "[Name]", "[Company Name]", "[Date]".
_SLOT_WORDS = (
    r"name|company|date|address|city|state|country|phone|email|e-mail|number|title|position|role|"
    r"organi[sz]ation|business|product|school|university|website|url|link|amount|price|time|location|"
    r"recipient|sender|signature|contact|job|team|event|brand|age|topic|subject|department|manager"
)
PLACEHOLDER_SLOT = re.compile(
    r"(?<![\w\])])\[\s*(?:[A-Z][\w'’-]*\s+){0,3}(?:" + _SLOT_WORDS + r")(?:\s+[\w'’-]+){0,2}\s*\]"
    r"|\[\s*(?:XXX+|TBD|TODO|_{2,})\s*\]",
    re.IGNORECASE,
)
# Markers that mean "there was no answer": the response is empty in substance.
NO_OUTPUT = re.compile(
    r"^\W*(?:<\s*no\s*_?\s*(?:input|output)\s*>|no output|n/?a|none|null)\W*$", re.IGNORECASE
)

# ---------------------------------------------------------------- unreachable references

MEDIA = (
    r"images?|photos?|photographs?|pictures?|paintings?|artworks?|drawings?|videos?|audio|recordings?|"
    r"screenshots?|attachments?|songs?|spreadsheets?|pdf|web ?pages?|websites?|links?|files?"
)
# "this image", "the attached photo", "the following video", "the image below", "in the photo".
MEDIA_REFERENCE = re.compile(
    r"\b(?:this|these|following|given|attached|provided|above|below|uploaded|linked|enclosed|accompanying)"
    r"(?:\s+(?:following|given|attached|provided|above|below|uploaded|linked|enclosed))?\s+(?:"
    + MEDIA
    + r")\b"
    r"|\bthe\s+(?:" + MEDIA + r")\s+(?:below|above|attached|provided|shown|here|in the input)\b"
    r"|\b(?:in|from|of|on)\s+the\s+(?:image|photo|photograph|picture|painting|video|screenshot|recording)\b",
    re.IGNORECASE,
)
# What stands in for content the generator never saw: a link, an image embed, "<image attached>".
UNREACHABLE_MARKER = re.compile(
    r"\bhttps?://\S+|\bwww\.[\w-]+\.\w+\S*|!\[[^\]]*\]\(|<\s*(?:image|photo|picture|video|audio|file|"
    r"attachment)[^>]{0,30}>|\((?:link|image|photo|picture|video|website|web page|url)[^)]{0,30}\)"
    r"|\[(?:image|photo|picture|video)\]",
    re.IGNORECASE,
)
# An input that only names what should have been there: "(Story)", "<Article>", "[text]".
STAND_IN = re.compile(
    r"^\W*[(<\[]\s*(?:the\s+|your\s+)?(?:story|article|text|essay|document|passage|poem|paragraph|link|url|"
    r"image|photo|picture|file|data|dataset|song|lyrics|video|audio|website|web page|resume|email|code)"
    r"[^)>\]\n]{0,20}[)>\]]\W*$",
    re.IGNORECASE,
)
REFERS_TO_INPUT = re.compile(r"\b(?:the|this|given|following|provided|above|below)\b", re.IGNORECASE)
URL = re.compile(r"\bhttps?://\S+|\bwww\.[\w-]+\.\w+\S*", re.IGNORECASE)
# Tasks that need a URL's content (not just the address itself).
URL_CONTENT_TASK = re.compile(
    r"\b(?:summari[sz]e|summary|describe|analy[sz]e|review|read|evaluate|critique|explain|what does|"
    r"what is (?:the )?(?:article|page|video|site|website|post)|tell me about|main (?:idea|point|points)|"
    r"key (?:points|takeaways)|extract|information (?:from|on)|based on|according to|identify|classify the "
    r"(?:article|content|page)|rate|watch|listen|"
    r"from (?:the|this) (?:article|page|website|site|link|video))\b",
    re.IGNORECASE,
)
# Tasks about the address itself, which need no access: "shorten this URL", "is this URL valid".
URL_AS_OBJECT = re.compile(
    r"\b(?:shorten|url|domain|hyperlink|html|link text|anchor|valid(?:ate)?|format|parse|encode|decode|"
    r"regular expression|regex|protocol)\b",
    re.IGNORECASE,
)

# ---------------------------------------------------------------- length expectations

# (pattern at the start of the prompt, the fewest words a real answer has). The first match wins.
_MAKE = r"^\W*(?:please\s+)?(?:write|compose|draft|create|generate|produce|prepare|develop)\s+(?:me\s+)?"
LONG_FORM = (
    (
        _MAKE
        + r"(?:an?\s+|the\s+)?(?:[\w-]+\s+){0,3}?"
        + r"(?:essay|article|blog post|short story|story|speech|report)\b",
        80,
    ),
    (
        _MAKE
        + r"(?:an?\s+|the\s+)?(?:[\w-]+\s+){0,3}?"
        + r"(?:cover letter|letter|email|e-mail|paragraph|biography)\b(?!\s+address)",
        25,
    ),
)
# Prompts that set their own length, or ask for short forms: no expectation.
SHORT_FORM = re.compile(
    r"\b(?:one|a|1|two|2|three|3|a few|few|\d+)[- ](?:words?|sentences?|lines?|phrases?)\b|"
    r"\b(?:one[- ]word|single|briefly|brief|short|shortly|concise|concisely|succinct|tweet|headline|title|"
    r"slogan|tagline|caption|subject line|haiku|limerick|hashtag|yes or no|true or false|outline|"
    r"(?:no|not) more than|at most|maximum|under \d+|fewer than|less than|up to \d+)\b",
    re.IGNORECASE,
)
# Stated limits: "in 50 words", "in no more than 100 words", "in three sentences".
NUMBER_WORDS = {
    "one": 1,
    "a": 1,
    "single": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "twenty": 20,
    "fifty": 50,
    "hundred": 100,
}
WORD_LIMIT = re.compile(
    r"\b(?:in|within|under|(?:no|not) more than|at most|maximum of|fewer than|less than|up to|using)\s+"
    r"(?:about\s+|around\s+|approximately\s+)?(\d+|"
    + "|".join(k for k in NUMBER_WORDS if k not in ("a", "single"))
    + r")\s+words?\b",
    re.IGNORECASE,
)
# What precedes a sentence-limit phrase when it is no limit on the answer: "use them in a sentence",
# "how are adjectives used in a sentence?", "you are provided with a sentence".
NOT_A_SENTENCE_LIMIT = re.compile(
    r"\b(?:use|uses|used|using)\b(?!\s+of\b)(?:\s+[\w'’\"]+){0,3}\s*$"
    r"|\b(?:provided|presented|given)\s*$",
    re.IGNORECASE,
)
SENTENCE_LIMIT = re.compile(
    r"\b(?:in|within|using|with|(?:no|not) more than|at most|maximum of|up to)\s+(?:just\s+|only\s+)?"
    r"(\d+|one|a|a single|single|two|three|four|five)(?:\s*(?:to|or|-|–)\s*(?:\d+|two|three|four|five))?"
    r"\s+sentences?(?:\s+or\s+(?:so|two|three|four|five|\d+))?\b",
    re.IGNORECASE,
)

# ---------------------------------------------------------------- languages

# Prompts that ask for another language, or for text in one: a different response language is expected.
TRANSLATION = re.compile(
    r"\b(?:translat\w*|language|spanish|french|german|italian|portuguese|dutch|swedish|polish|turkish|"
    r"indonesian|chinese|mandarin|cantonese|japanese|korean|russian|arabic|hebrew|hindi|greek|thai|"
    r"latin|esperanto|vietnamese|english|español|français|deutsch|pinyin|romaji|transliterat\w*)\b",
    re.IGNORECASE,
)

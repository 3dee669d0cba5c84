"""Arithmetic stated in a response ("17 × 23 = 391"), checked with a small safe parser.

The parser accepts numbers, ``+ - * / × ÷ · ^ **``, the letter ``x`` between two
numbers, and parentheses, nothing else: there are no names, calls or
attributes, so no text can make it do anything but arithmetic (``eval`` is
never used). Powers are bounded, so "9^9^9" is rejected rather than computed.

Only equations whose both sides are plain arithmetic are checked; anything
with a variable, unit glued to a number ("2x", "5cm"), function ("sqrt(2)"),
factorial or code around it is skipped. An equation counts as wrong only when
the left side's value, rounded or truncated to the right side's precision,
differs from the right side, and the sentence does not say it is wrong.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

MAX_TOKENS = 64
MAX_EXPONENT = 64
MAX_MAGNITUDE = 1e30


class ArithmeticSyntaxError(ValueError):
    """The text is not plain arithmetic."""


_TOKEN = re.compile(
    r"\s*(?:"
    r"(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)(?P<pct>%)?"
    r"|(?P<op>\*\*|[-+*/×÷·^xX−–])"
    r"|(?P<paren>[()])"
    r")"
)
_OPS = {"−": "-", "–": "-", "×": "*", "x": "*", "X": "*", "·": "*", "÷": "/", "**": "^"}


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # "num", "op", "(" or ")"
    value: str
    number: float = 0.0


def tokenize(text: str) -> list[Token]:
    """Tokens of plain arithmetic; :class:`ArithmeticSyntaxError` on anything else."""
    tokens: list[Token] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise ArithmeticSyntaxError(f"unexpected {text[pos : pos + 10]!r}")
        if m.group("num") is not None:
            value = float(m.group("num").replace(",", ""))
            if m.group("pct"):
                value /= 100.0
            tokens.append(Token("num", m.group(0).strip(), value))
        elif m.group("op") is not None:
            op = m.group("op")
            if op in "xX" and not (tokens and tokens[-1].kind in ("num", ")")):
                raise ArithmeticSyntaxError("'x' is only a multiplication sign between numbers")
            tokens.append(Token("op", _OPS.get(op, op)))
        else:
            tokens.append(Token(m.group("paren"), m.group("paren")))
        pos = m.end()
        if len(tokens) > MAX_TOKENS:
            raise ArithmeticSyntaxError("expression too long")
    if not tokens:
        raise ArithmeticSyntaxError("empty expression")
    return tokens


class _Parser:
    """expr := term (("+"|"-") term)* ; term := unary (("*"|"/") unary)* ;
    unary := "-" unary | power ; power := atom ("^" unary)? ; atom := number | "(" expr ")"."""

    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.i = 0

    def peek(self) -> Token | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> Token:
        tok = self.peek()
        if tok is None:
            raise ArithmeticSyntaxError("unexpected end")
        self.i += 1
        return tok

    def parse(self) -> float:
        value = self.expr()
        if self.peek() is not None:
            raise ArithmeticSyntaxError(f"unexpected {self.peek()}")
        return value

    def expr(self) -> float:
        value = self.term()
        while (tok := self.peek()) is not None and tok.kind == "op" and tok.value in "+-":
            self.take()
            rhs = self.term()
            value = value + rhs if tok.value == "+" else value - rhs
        return _bounded(value)

    def term(self) -> float:
        value = self.unary()
        while (tok := self.peek()) is not None and tok.kind == "op" and tok.value in "*/":
            self.take()
            rhs = self.unary()
            if tok.value == "*":
                value *= rhs
            else:
                if rhs == 0:
                    raise ArithmeticSyntaxError("division by zero")
                value /= rhs
            value = _bounded(value)
        return value

    def unary(self) -> float:
        tok = self.peek()
        if tok is not None and tok.kind == "op" and tok.value in "+-":
            self.take()
            value = self.unary()
            return -value if tok.value == "-" else value
        return self.power()

    def power(self) -> float:
        base = self.atom()
        tok = self.peek()
        if tok is not None and tok.kind == "op" and tok.value == "^":
            self.take()
            exponent = self.unary()
            if abs(exponent) > MAX_EXPONENT or (base == 0 and exponent < 0):
                raise ArithmeticSyntaxError("exponent out of range")
            if base < 0 and not float(exponent).is_integer():
                raise ArithmeticSyntaxError("fractional power of a negative number")
            try:
                return _bounded(math.pow(base, exponent))
            except OverflowError:
                raise ArithmeticSyntaxError("result out of range") from None
        return base

    def atom(self) -> float:
        tok = self.take()
        if tok.kind == "num":
            return tok.number
        if tok.kind == "(":
            value = self.expr()
            if self.take().kind != ")":
                raise ArithmeticSyntaxError("unbalanced parentheses")
            return value
        raise ArithmeticSyntaxError(f"unexpected {tok.value!r}")


def _bounded(value: float) -> float:
    if not math.isfinite(value) or abs(value) > MAX_MAGNITUDE:
        raise ArithmeticSyntaxError("result out of range")
    return value


def evaluate(text: str) -> float:
    """The value of a plain arithmetic expression; :class:`ArithmeticSyntaxError` otherwise."""
    return _Parser(tokenize(text)).parse()


# ---------------------------------------------------------------- equations in prose


@dataclass(frozen=True, slots=True)
class WrongEquation:
    """A wrong equation: the text as written, and what its left side is."""

    text: str
    start: int
    left: str
    stated: float
    actual: float

    def describe(self) -> str:
        return f'"{self.text}" ({self.left} = {format_number(self.actual)})'


_PROSE = re.compile(
    r"(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?%?|\d+(?:\.\d+)?%?)"
    r"|(?P<op>\*\*|[-+*/×÷·^−–])"
    r"|(?P<paren>[()])"
    r"|(?P<space>\s+|[$€£](?=\s?\d))"
    r"|(?P<eq>=)"
    r"|(?P<word>[^\W\d_]+)"
    r"|(?P<other>.)",
    re.S,
)
_NEGATED = re.compile(
    r"\b(?:not|isn't|incorrect|wrong|false|error|mistake|mistaken|instead of|rather than|binary|"
    r"base[- ]?\d+|modulo|mod|hexadecimal|octal|clock|approximately|roughly|about|around|estimated?)\b"
    r"|≠|!=|≈|~",
    re.IGNORECASE,
)
# Said of an equation on the next lines: it was a hypothesis, and the text knows it does not hold.
_REFUTED = re.compile(
    r"\b(?:not (?:true|equal|correct|valid|the case)|false|incorrect|does(?:n't| not) (?:hold|equal|match))\b"
    r"|≠|!=",
    re.IGNORECASE,
)
REFUTATION_LINES = 2
_CODE_LINE = re.compile(r"[;{}\[\]<>|&]|==|\bprint\b|\breturn\b|\bdef\b|\bvar\b|\blet\b|\bconst\b|//|#")
_FENCE = re.compile(r"```.*?(?:```|$)", re.S)
_ARITH = {"num", "op", "paren", "space", "mul"}


@dataclass(frozen=True, slots=True)
class _Tok:
    kind: str
    text: str
    start: int


def _prose_tokens(line: str) -> list[_Tok]:
    toks = [_Tok(str(m.lastgroup), m.group(0), m.start()) for m in _PROSE.finditer(line)]
    out: list[_Tok] = []
    for k, t in enumerate(toks):
        kind = t.kind
        if kind == "word" and t.text in ("x", "X"):
            prev = next((p for p in reversed(toks[:k]) if p.kind != "space"), None)
            nxt = next((n for n in toks[k + 1 :] if n.kind != "space"), None)
            if (
                prev
                and nxt
                and (prev.kind == "num" or prev.text == ")")
                and (nxt.kind == "num" or nxt.text == "(")
            ):
                kind = "mul"
        out.append(_Tok(kind, t.text, t.start))
    # A number glued to a word ("2x", "5cm", "3rd", "A4") is not a number.
    for k, t in enumerate(out):
        if t.kind != "num":
            continue
        glued = k > 0 and out[k - 1].kind in ("word", "other") and out[k - 1].text not in "(,:"
        glued |= k + 1 < len(out) and out[k + 1].kind == "word"
        glued |= k > 0 and out[k - 1].kind == "num"  # "1.5.2", "1,2,3"
        if glued:
            out[k] = _Tok("word", t.text, t.start)
    return out


def _is_prefix_op(tok: _Tok) -> bool:
    return tok.kind == "op" and tok.text in "-−–+"


def _tail(tokens: list[_Tok]) -> tuple[list[_Tok], _Tok | None]:
    """The arithmetic run that ends ``tokens`` (spaces trimmed), and the token before it."""
    k = len(tokens)
    while k > 0 and tokens[k - 1].kind in _ARITH:
        k -= 1
    run = [t for t in tokens[k:]]
    while run and run[0].kind == "space":
        run.pop(0)
    while run and run[-1].kind == "space":
        run.pop()
    before = next((t for t in reversed(tokens[:k]) if t.kind != "space"), None)
    glued = tokens[k - 1] if k > 0 and tokens[k - 1].kind != "space" else None
    return run, (glued or before) if glued else before


def _head(tokens: list[_Tok]) -> tuple[list[_Tok], _Tok | None]:
    """The arithmetic run that starts ``tokens`` (spaces trimmed), and the token glued after it."""
    k = 0
    while k < len(tokens) and tokens[k].kind in _ARITH:
        k += 1
    run = list(tokens[:k])
    while run and run[0].kind == "space":
        run.pop(0)
    after = tokens[k] if k < len(tokens) and tokens[k - 1].kind != "space" and k > 0 else None
    while run and run[-1].kind == "space":
        run.pop()
    return run, after


def _text(run: list[_Tok]) -> str:
    return "".join("x" if t.kind == "mul" else " " if t.kind == "space" else t.text for t in run)


def format_number(value: float) -> str:
    if float(value).is_integer() and abs(value) < 1e15:
        return f"{int(value):,}" if abs(value) >= 10_000 else str(int(value))
    return f"{value:.6g}"


def _decimals(written: str) -> int:
    digits = written.replace(",", "").rstrip("%")
    return len(digits.split(".", 1)[1]) if "." in digits else 0


def _matches(actual: float, stated: float, rhs_text: str) -> bool:
    """True when ``stated`` is ``actual`` as written: exactly, rounded or truncated to its precision."""
    if math.isclose(actual, stated, rel_tol=1e-9, abs_tol=1e-12):
        return True
    places = _decimals(rhs_text) + (2 if rhs_text.endswith("%") else 0)
    scale = 10.0**places
    if abs(actual * scale - stated * scale) <= 0.5 + 1e-9:  # rounded
        return True
    return math.trunc(actual * scale) == round(stated * scale)  # truncated


def find_errors(text: str, prompt: str = "") -> list[WrongEquation]:
    """Wrong equations in ``text``. Code blocks and code-like lines are skipped, as is an equation
    the prompt already contains (the response may be quoting it to correct it), and one that the next
    lines refute ("25 + 25 = 49" then "50 = 49 (not true)": a hypothesis being tested)."""
    masked = _FENCE.sub(lambda m: " " * len(m.group(0)), text)
    errors = []
    offset = 0
    lines = masked.split("\n")
    for k, line in enumerate(lines):
        if "=" in line and not _CODE_LINE.search(line):
            found = _line_errors(line, offset, prompt)
            if found:
                following = [ln for ln in lines[k + 1 :] if ln.strip()][:REFUTATION_LINES]
                if not any(_REFUTED.search(ln) for ln in following):
                    errors += found
        offset += len(line) + 1
    return errors


def _line_errors(line: str, offset: int, prompt: str) -> list[WrongEquation]:
    tokens = _prose_tokens(line)
    cuts = [k for k, t in enumerate(tokens) if t.kind == "eq"]
    out = []
    for n, cut in enumerate(cuts):
        left = tokens[(cuts[n - 1] + 1 if n else 0) : cut]
        right = tokens[cut + 1 : (cuts[n + 1] if n + 1 < len(cuts) else len(tokens))]
        lhs, before = _tail(left)
        rhs, after = _head(right)
        if not lhs or not rhs or not any(t.kind in ("op", "mul") for t in lhs[1:]):
            continue  # nothing computed on the left ("x = 5", "-3 = -3")
        if lhs[0].kind == "op" and not (
            _is_prefix_op(lhs[0]) and (before is None or before.kind == "eq" or before.text in ":,;(")
        ):
            continue  # the left side continues something that is not a number ("2x + 3", "x - 1")
        if (
            before is not None
            and before.start + len(before.text) == lhs[0].start
            and before.kind
            in (
                "word",
                "other",
            )
            and before.text not in ":,;"
        ):
            continue  # glued to a name or symbol: "sqrt(2)", "f(2)", "5!"
        if _glued_label(line, before, lhs[0]):
            continue  # a field of some notation, "Q:1/4=68" (a tempo in ABC music), not a statement
        if after is not None and after.kind in ("word", "other") and after.text not in ".,;:!?)\"'":
            continue  # the right side continues: "2sqrt(66)", "5cm"
        if after is not None and after.text == "!":
            continue  # a factorial
        try:
            actual = evaluate(_text(lhs))
        except ArithmeticSyntaxError:
            continue
        candidates = [rhs]
        if any(t.kind in ("op", "mul") for t in rhs[1:]):
            candidates.append(rhs[: next(i for i, t in enumerate(rhs) if t.kind == "num") + 1])
        ok = False
        stated = math.nan
        for cand in candidates:
            try:
                value = evaluate(_text(cand))
            except ArithmeticSyntaxError:
                continue
            if math.isnan(stated):
                stated = value
            if _matches(actual, value, _text(cand)):
                ok = True
        if ok or math.isnan(stated):
            continue
        start, end = lhs[0].start, rhs[-1].start + len(rhs[-1].text)
        if _NEGATED.search(_sentence_around(line, start, end)):
            continue
        written = line[start:end]
        if _norm(written) in _norm(prompt):
            continue
        out.append(WrongEquation(written, offset + start, " ".join(_text(lhs).split()), stated, actual))
    return out


def _glued_label(line: str, before: _Tok | None, first: _Tok) -> bool:
    """The left side follows "X:" with no space on either side of the colon: "Q:1/4=68", "L:1/8"."""
    return (
        before is not None
        and before.text == ":"
        and before.start + 1 == first.start
        and before.start > 0
        and line[before.start - 1].isalnum()
    )


def _norm(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _sentence_around(line: str, start: int, end: int) -> str:
    left = max(line.rfind(". ", 0, start), line.rfind("? ", 0, start), line.rfind("! ", 0, start))
    right_candidates = [i for i in (line.find(". ", end), line.find("? ", end)) if i >= 0]
    right = min(right_candidates) if right_candidates else len(line)
    return line[left + 1 : right + 1]

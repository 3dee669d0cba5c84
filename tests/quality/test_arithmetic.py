"""The arithmetic parser is safe (numbers and operators only) and finds wrong equations in prose."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from curator.quality import arithmetic
from curator.quality.arithmetic import ArithmeticSyntaxError, evaluate, find_errors


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("17 × 23", 391.0),
        ("17 x 23", 391.0),
        ("17*23", 391.0),
        ("(5 + 7 + 10) / 2", 11.0),
        ("2^10", 1024.0),
        ("2 ** 3 ** 2", 512.0),  # right-associative
        ("-3 + 1", -2.0),
        ("1,000 + 2,000", 3000.0),
        ("3/4", 0.75),
        ("75%", 0.75),
        ("10 ÷ 4", 2.5),
        ("2 − 5", -3.0),
    ],
)
def test_evaluates_plain_arithmetic(text: str, value: float) -> None:
    assert evaluate(text) == value


@pytest.mark.parametrize(
    "text",
    [
        "__import__('os').system('ls')",
        "os.system('ls')",
        "abs(2)",
        "1 if 1 else 2",
        "lambda: 1",
        "[1, 2]",
        "1e5",
        "x + 1",
        "2x",
        "1; 2",
        "9^9^9",  # exponent out of range, never computed
        "10 ** 400",
        "1 / 0",
        "(1 + 2",
        "",
    ],
)
def test_rejects_anything_but_numbers_and_operators(text: str) -> None:
    with pytest.raises(ArithmeticSyntaxError):
        evaluate(text)


def test_the_module_never_calls_eval_exec_or_compile() -> None:
    tree = ast.parse(Path(arithmetic.__file__).read_text(encoding="utf-8"))
    called = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    assert not called & {"eval", "exec", "compile", "__import__", "getattr"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("So 17 × 23 = 392.", ['"17 × 23 = 392" (17 × 23 = 391)']),
        ("s = (5 + 7 + 10) / 2 = 12", ['"(5 + 7 + 10) / 2 = 12" ((5 + 7 + 10) / 2 = 11)']),
        ("2 + 2 = 4, 3 + 3 = 7", ['"3 + 3 = 7" (3 + 3 = 6)']),
        ("1,000 + 2,000 = 4,000", ['"1,000 + 2,000 = 4,000" (1,000 + 2,000 = 3000)']),
        ("3 x 4 = 12, and 12 + 5 = 18", ['"12 + 5 = 18" (12 + 5 = 17)']),
        ("$5 + $3 = $9", ['"5 + $3 = $9" (5 + 3 = 8)']),
    ],
)
def test_wrong_equations_are_found_and_quoted(text: str, expected: list[str]) -> None:
    assert [e.describe() for e in find_errors(text)] == expected


@pytest.mark.parametrize(
    "text",
    [
        "17 × 23 = 391",
        "22/7 = 3.14",  # rounded
        "2/3 = 0.66",  # truncated
        "3/4 = 75%",
        "3 x 4 = 12 + 5 = 17",  # a running total
        "2x + 3 = 7",  # algebra
        "y = 2x + 3 = 5",
        "if x - 1 = 4 then x = 5",
        "area = sqrt(11*6*4*1) = sqrt(264)",
        "5! = 120",
        "In binary, 1 + 1 = 10.",
        "The claim that 2 + 2 = 5 is wrong.",
        "5 cm + 3 cm = 8 cm",
        "```\nprint(2 + 2 == 5)\nx = 2 + 2 = 5\n```",
        "for (i = 0; i < 3 + 1 = 5; i++)",
        "It is about 10 / 3 = 3.",
        # a hypothesis tested and refuted on the next lines (halueval_general: "50 = 49 (not true)")
        "Check: 6² + 6² = 9²\n\n36 + 36 = 81\n\n72 = 81 (not true)\n\nso it is not a right triangle.",
        "X:1\nT:Waltz\nQ:1/4=68\nK:G",  # a tempo field of ABC music notation, not a statement
    ],
)
def test_right_or_unclear_equations_are_left_alone(text: str) -> None:
    assert find_errors(text) == []


def test_an_equation_quoted_from_the_prompt_is_not_an_error() -> None:
    assert find_errors("No: 17 × 23 = 392 is not right, it is 391.", prompt="Is 17 × 23 = 392?") == []
    assert len(find_errors("Yes, 17 × 23 = 392.", prompt="What is 17 × 23?")) == 1


def test_a_refutation_must_follow_closely_to_excuse_an_equation() -> None:
    far = "36 + 36 = 81\nThen we add the sides.\nThe perimeter is 18.\nThat is not the area."
    assert [e.describe() for e in find_errors(far)] == ['"36 + 36 = 81" (36 + 36 = 72)']
    assert len(find_errors("Tempo: 1/4 = 68")) == 1  # a spaced label is prose, so the equation counts

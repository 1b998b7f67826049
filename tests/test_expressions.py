"""The whitelist evaluator of administrator expressions and scripts, and the bounds on timer values: pure,
no app. Every escape the red-team probe or the usual sandbox literature knows is refused before it runs."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.engine import expressions, timer_values
from app.engine.expressions import BudgetExceeded, ExpressionFailed, ExpressionRejected, UnknownName

GENERATOR_FRAMES = ("(l := [], g := (x.gi_frame.f_back.f_back.f_globals for x in l), l.append(g), "
                    "list(g)[0]['__builtins__']['__import__']('os'))")

REFUSED_EXPRESSIONS = [
    (GENERATOR_FRAMES, ":="),
    ("[x.gi_frame for x in (1,)]", "comprehension"),
    ("sum(range(10**12))", "range"),
    ("getattr(decision, '__class__')", "getattr"),
    ("type(decision)", "type"),
    ("().__class__", "__class__"),
    ("decision.__class__.__mro__", "__class__"),
    ("decision['__class__']", "__class__"),
    ("{}['__builtins__']", "__builtins__"),
    ("__import__('os')", "__import__"),
    ("open('/etc/passwd').read()", "open"),
    ("eval('1')", "eval"),
    ("lambda: 1", "lambda"),
    ("decision.format(1)", "format"),
    ("f'{decision:>999999999}'", "định dạng"),
    ("len", "len"),
    ("max(*[1, 2])", "*"),
    ("dict(**{'a': 1})", "dict"),
    ("decision.gi_frame", "gi_frame"),
    ("_secret", "_secret"),
    ("(lambda f: f)(1)", "lambda"),
    ("b'bytes'", "bytes"),
    ("1 << 100000", "<<"),
]


@pytest.mark.parametrize("source, named", REFUSED_EXPRESSIONS)
def test_expressions_outside_the_whitelist_are_refused_before_running(source, named):
    with pytest.raises(ExpressionRejected) as caught:
        expressions.compile_expression(source)
    assert named in caught.value.message


@pytest.mark.parametrize("script, named", [
    ("while True:\n    pass", "while"),
    ("for i in [1]:\n    x = i", "for"),
    ("import os", "import"),
    ("from os import system", "import"),
    ("def f():\n    return 1", "hàm"),
    ("class A:\n    pass", "lớp"),
    ("try:\n    x = 1\nexcept Exception:\n    pass", "try"),
    ("with open('x') as f:\n    pass", "with"),
    ("x.y = 1", "'y'"),
    ("x['__class__'] = 1", "__class__"),
    ("x[0] = 1", "gán"),
    ("len = 1", "len"),
    ("del x", "del"),
    ("global x", "global"),
    ("_hidden = 1", "_hidden"),
])
def test_scripts_outside_the_whitelist_are_refused(script, named):
    with pytest.raises(ExpressionRejected) as caught:
        expressions.compile_script(script)
    assert named in caught.value.message


def test_the_language_administrators_need_works():
    data = {"decision": "accept", "copies": 3, "fee": {"amount": 4000}, "pages": [1, 2, 3]}
    assert expressions.evaluate("decision == 'accept' and copies > 1", data) is True
    assert expressions.evaluate("decision in ('refuse', 'supplement') or not copies", data) is False
    assert expressions.evaluate("'PT4H' if copies < 5 else 'PT8H'", data) == "PT4H"
    assert expressions.evaluate("fee['amount'] * copies + len(pages) - 1", data) == 12002
    assert expressions.evaluate("fee.get('discount', 0)", data) == 0
    assert expressions.evaluate("f'{decision.upper()}-{copies}'", data) == "ACCEPT-3"
    assert expressions.evaluate("pages[-1] + pages[:2][0]", data) == 4
    assert expressions.evaluate("max(copies, 10) // 3 % 2 ** 2", data) == 3
    assert expressions.evaluate("add_working_hours('2026-11-23T15:00:00+07:00', 2)", {}) \
        == "2026-11-23T17:00:00+07:00"
    script_data = dict(data)
    expressions.execute("total = copies * 2\nif total > 5:\n    size = 'big'\nelse:\n    size = 'small'\n"
                        "total += 1\nfirst, second = pages[:2]", script_data)
    assert (script_data["total"], script_data["size"], script_data["first"], script_data["second"]) \
        == (7, "big", 1, 2)


@pytest.mark.parametrize("source", [
    "'a' * 10**9",
    "[0] * 10**9",
    "[[0] * 10000] * 10000",
    "str([[0] * 1000] * 1000)",
    "10 ** 10 ** 10",
    "2 ** 1000 * 2 ** 1000",
    "'x' * 99999 + 'y' * 99999",
    "add_working_hours('2026-01-01T08:00:00+07:00', 10**12)",
    "round(5, -10**9)",
    "int('9' * 4000)",
])
def test_every_value_an_evaluation_makes_is_bounded(source):
    with pytest.raises(BudgetExceeded if "round" not in source and "working" not in source else ExpressionFailed):
        expressions.evaluate(source, {})


def test_an_evaluation_past_its_cpu_budget_stops(monkeypatch):
    monkeypatch.setattr(expressions, "CPU_SECONDS", -1.0)
    with pytest.raises(BudgetExceeded, match="ms CPU"):
        expressions.evaluate("1 + 1", {})


def test_runtime_failures_are_typed_and_name_the_cause():
    with pytest.raises(UnknownName) as caught:
        expressions.evaluate("missing == 1", {})
    assert caught.value.name == "missing"
    with pytest.raises(ExpressionFailed, match="khóa '_x'"):
        expressions.evaluate("data[key]", {"data": {"_x": 1}, "key": "_x"})
    with pytest.raises(ExpressionFailed, match="phương thức 'get'"):
        expressions.evaluate("items.get(1)", {"items": [1]})
    with pytest.raises(ExpressionFailed, match="toán tử %"):
        expressions.evaluate("'%999999999s' % 'a'", {})
    with pytest.raises(ExpressionFailed, match="ZeroDivisionError"):
        expressions.evaluate("1 / 0", {})


NOW = datetime(2026, 12, 6, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize("kind, value", [
    ("timeDuration", "P999999999Y"),
    ("timeDuration", "P6Y"),
    ("timeDuration", "P61M"),
    ("timeDuration", "PT0S"),
    ("timeDuration", "PT59S"),
    ("timeDuration", "P"),
    ("timeDuration", "soon"),
    ("timeCycle", "R/PT1S"),
    ("timeCycle", "R/PT1H"),
    ("timeCycle", "R5/PT30S"),
    ("timeCycle", "R100000/PT1H"),
    ("timeCycle", "R3/P999999999Y"),
    ("timeDate", "9999-12-31T00:00:00+00:00"),
    ("timeDate", "tomorrow"),
    ("timeDate", 42),
])
def test_timer_values_outside_the_bounds_are_refused(kind, value):
    with pytest.raises(timer_values.TimerValueRejected):
        timer_values.check(kind, value, NOW)


@pytest.mark.parametrize("kind, value", [
    ("timeDuration", "P15D"), ("timeDuration", "PT4H"), ("timeDuration", "PT1M"), ("timeDuration", "P4Y"),
    ("timeCycle", "R3/PT1H"), ("timeCycle", "R2/2026-12-07T08:00:00+07:00/P1D"),
    ("timeDate", "2026-12-06T15:00:00+07:00"), ("timeDate", "2020-01-01T00:00:00+00:00"),
])
def test_timer_values_within_the_bounds_pass(kind, value):
    timer_values.check(kind, value, NOW)

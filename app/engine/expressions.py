"""A whitelist evaluator for the expressions and scripts administrators write in BPMN.

Nothing an administrator types is handed to Python's `eval` or `exec`. The text is parsed with `ast`, every
node is checked against a whitelist before anything runs, and a small interpreter walks the tree:

- literals (strings, numbers, booleans, None, lists, tuples, dicts, sets) and f-strings without format specs;
- names read from the task data; the functions in `FUNCTIONS`, callable but never values themselves;
- arithmetic, comparisons, `and`/`or`/`not`, `x if c else y`, subscripts and slices;
- a few methods of plain data types (`METHODS`), called as `value.method(...)`; no other attribute access;
- in scripts: assignment to task-data names, `+=` and the like, `if`/`elif`/`else`, `pass`.

No loops, comprehensions, lambdas, imports, definitions or keyword tricks: an evaluation is bounded by the size
of its text, and each step is bounded by the size of what it makes. A CPU-time budget, checked at every node,
stops the rest. Names starting with `_` and subscripts with such strings are refused, so no dunder is reachable.

A general-purpose library (simpleeval) was considered: its attribute access is open except for a list of
forbidden names, it has no statements, and no time budget; this module is the closed list instead.
"""
from __future__ import annotations

import ast
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache

from app.domain import calendar

MAX_SOURCE_CHARS = 10_000
MAX_NODES = 2_000
MAX_DEPTH = 40
CPU_SECONDS = 0.1
MAX_WEIGHT = 100_000       # size of any value an evaluation makes: characters plus items plus 8 per number
MAX_INT_BITS = 1_024       # size of any integer it makes
MAX_ROUND_DIGITS = 20
MAX_WORKING_HOURS = 5 * 366 * 24  # the calendar helpers' reach, as the timers' (five years)


class ExpressionError(ValueError):
    """An expression or script is refused or failed; the message is Vietnamese and names the cause."""

    def __init__(self, message: str, *, source: str = ""):
        super().__init__(message)
        self.message = message
        self.source = source


class ExpressionRejected(ExpressionError):
    """The text uses something outside the whitelist (found before anything runs)."""


class ExpressionFailed(ExpressionError):
    """The text is allowed but failed while running (unknown name, wrong type, budget spent)."""


class UnknownName(ExpressionFailed):
    def __init__(self, name: str, *, source: str = ""):
        super().__init__(f"dữ liệu '{name}' không có trong hồ sơ", source=source)
        self.name = name


class BudgetExceeded(ExpressionFailed):
    """The evaluation used more CPU time, steps or memory than an expression may."""


# -- the functions an expression may call ---------------------------------------------------------------------
def _hours(value: object) -> float:
    if type(value) not in (int, float) or not math.isfinite(value) or abs(value) > MAX_WORKING_HOURS:
        raise ExpressionFailed(f"số giờ làm việc phải là số trong khoảng ±{MAX_WORKING_HOURS}")
    return value


def _iso(value: object) -> str:
    if type(value) is not str or len(value) > 64:
        raise ExpressionFailed("thời điểm phải là chuỗi ISO 8601, ví dụ '2026-11-23T15:00:00+07:00'")
    return value


def _config(value: object) -> dict | None:
    if value is not None and type(value) is not dict:
        raise ExpressionFailed("lịch làm việc phải là một dict")
    return value


def _add_working_hours(moment: str, hours: float, cal: dict | None = None) -> str:
    return calendar.add_working_hours(_iso(moment), _hours(hours), _config(cal))


def _subtract_working_hours(moment: str, hours: float, cal: dict | None = None) -> str:
    return calendar.subtract_working_hours(_iso(moment), _hours(hours), _config(cal))


def _due_at(received: str, hours: float = 4, cal: dict | None = None) -> str:
    return calendar.due_at(_iso(received), _hours(hours), _config(cal))


def _working_hours_between(start: str, end: str, cal: dict | None = None) -> float:
    return calendar.working_hours_between(_iso(start), _iso(end), _config(cal))


def _round(number: object, ndigits: object = None):
    if ndigits is not None and (type(ndigits) is not int or abs(ndigits) > MAX_ROUND_DIGITS):
        raise ExpressionFailed(f"round: số chữ số phải là số nguyên trong khoảng ±{MAX_ROUND_DIGITS}")
    return round(number, ndigits)


def _sum(items: object) -> int | float:
    if type(items) not in (list, tuple) or any(type(item) not in (int, float, bool) for item in items):
        raise ExpressionFailed("sum chỉ cộng một danh sách số")
    return sum(items)


def _sorted(items: object, *, reverse: object = False) -> list:
    if type(items) not in (list, tuple, set, dict):
        raise ExpressionFailed("sorted chỉ nhận list, tuple, set hoặc dict")
    return sorted(items, reverse=bool(reverse))


FUNCTIONS: dict[str, Callable] = {
    "abs": abs, "all": all, "any": any, "bool": bool, "float": float, "int": int, "len": len, "max": max,
    "min": min, "round": _round, "sorted": _sorted, "str": str, "sum": _sum,
    "add_working_hours": _add_working_hours,
    "subtract_working_hours": _subtract_working_hours,
    "due_at_for": _due_at,
    "working_hours_between": _working_hours_between,
}

# Methods by the exact type of the value they are called on; nothing else is reachable through a dot.
METHODS: dict[type, dict[str, Callable]] = {
    str: {name: getattr(str, name) for name in (
        "lower", "upper", "strip", "lstrip", "rstrip", "startswith", "endswith", "isdigit", "split", "title")},
    dict: {"get": dict.get, "keys": lambda d: list(d.keys()), "values": lambda d: list(d.values()),
           "items": lambda d: [list(kv) for kv in d.items()]},
    list: {"count": list.count, "index": list.index},
    tuple: {"count": tuple.count, "index": tuple.index},
}
METHOD_NAMES = frozenset(name for table in METHODS.values() for name in table)

_BIN_OPS: dict[type, Callable] = {
    ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b, ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b, ast.FloorDiv: lambda a, b: a // b, ast.Mod: lambda a, b: a % b,
    ast.Pow: lambda a, b: a ** b,
}
_UNARY_OPS: dict[type, Callable] = {ast.Not: lambda a: not a, ast.USub: lambda a: -a, ast.UAdd: lambda a: +a}
_COMPARE_OPS: dict[type, Callable] = {
    ast.Eq: lambda a, b: a == b, ast.NotEq: lambda a, b: a != b, ast.Lt: lambda a, b: a < b,
    ast.LtE: lambda a, b: a <= b, ast.Gt: lambda a, b: a > b, ast.GtE: lambda a, b: a >= b,
    ast.In: lambda a, b: a in b, ast.NotIn: lambda a, b: a not in b,
    ast.Is: lambda a, b: a is b, ast.IsNot: lambda a, b: a is not b,
}
_CONSTANT_TYPES = (str, int, float, bool, type(None))
_EXPRESSION_NODES = (ast.Expression, ast.Constant, ast.Name, ast.Load, ast.Store, ast.BoolOp, ast.And, ast.Or,
                     ast.BinOp,
                     ast.UnaryOp, ast.Compare, ast.IfExp, ast.Call, ast.keyword, ast.Attribute, ast.Subscript,
                     ast.Slice, ast.List, ast.Tuple, ast.Dict, ast.Set, ast.JoinedStr, ast.FormattedValue,
                     *_BIN_OPS, *_UNARY_OPS, *_COMPARE_OPS)
# ast.Store is allowed everywhere: outside an assignment it only occurs under a node that is refused anyway.
_STATEMENT_NODES = (ast.Module, ast.Assign, ast.AugAssign, ast.Expr, ast.If, ast.Pass)

_NODE_NAMES_VI = {
    "Import": "import mô-đun", "ImportFrom": "import mô-đun", "Lambda": "hàm lambda", "ListComp": "list comprehension",
    "SetComp": "set comprehension", "DictComp": "dict comprehension", "GeneratorExp": "biểu thức generator",
    "For": "vòng lặp for", "While": "vòng lặp while", "FunctionDef": "định nghĩa hàm", "ClassDef": "định nghĩa lớp",
    "NamedExpr": "toán tử :=", "Starred": "toán tử *", "Yield": "yield", "Await": "await", "Try": "try",
    "With": "with", "Delete": "del", "Global": "global", "Nonlocal": "nonlocal", "Return": "return",
    "Raise": "raise", "Assert": "assert", "LShift": "toán tử <<", "RShift": "toán tử >>", "BitOr": "toán tử |",
    "BitAnd": "toán tử &", "BitXor": "toán tử ^", "Invert": "toán tử ~", "MatMult": "toán tử @",
}


# -- the static check ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Program:
    """Checked source, ready to run any number of times."""
    source: str
    tree: ast.AST
    is_script: bool


def _reject(message: str, source: str) -> ExpressionRejected:
    return ExpressionRejected(message, source=source)


def _private(name: str) -> bool:
    return name.startswith("_")


@lru_cache(maxsize=4096)
def compile_expression(source: str) -> Program:
    """Check an expression (a condition, a timer, a service parameter); raise ExpressionRejected."""
    return Program(source, _parse(source, "eval"), False)


@lru_cache(maxsize=1024)
def compile_script(source: str) -> Program:
    """Check a script (assignments and conditionals over task data); raise ExpressionRejected."""
    return Program(source, _parse(source, "exec"), True)


def _parse(source: str, mode: str) -> ast.AST:
    if not isinstance(source, str):
        raise _reject("biểu thức phải là văn bản", "")
    if len(source) > MAX_SOURCE_CHARS:
        raise _reject(f"biểu thức dài quá {MAX_SOURCE_CHARS} ký tự", source[:200])
    try:
        tree = ast.parse(source.strip() if mode == "eval" else source, mode=mode)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        detail = f"{exc.msg} (dòng {exc.lineno})" if isinstance(exc, SyntaxError) else "không đọc được"
        raise _reject(f"lỗi cú pháp Python: {detail}", source) from None
    allowed = _EXPRESSION_NODES + (_STATEMENT_NODES if mode == "exec" else ())
    # Each node with its parent and its place in the text; operators, contexts and argument lists sort just
    # after the node they belong to. Problems are reported in reading order, innermost first where nodes start
    # together, and a forbidden kind of node before any other problem.
    nodes: list[tuple[tuple[int, int, int, int], ast.AST, ast.AST | None]] = []
    stack: list[tuple[ast.AST, int, ast.AST | None, tuple[int, int, int, int]]] = [(tree, 0, None, (0, 0, 0, 0))]
    while stack:
        node, depth, parent, parent_place = stack.pop()
        place = ((node.lineno, node.col_offset, -depth, 0) if hasattr(node, "lineno")
                 else (*parent_place[:3], 1))
        nodes.append((place, node, parent))
        if len(nodes) > MAX_NODES or depth > MAX_DEPTH:
            raise _reject("biểu thức quá lớn hoặc lồng quá sâu", source)
        stack.extend((child, depth + 1, node, place) for child in ast.iter_child_nodes(node))
    nodes.sort(key=lambda item: item[0])
    for _place, node, _parent in nodes:
        if not isinstance(node, allowed):
            kind = type(node).__name__
            raise _reject(f"không được dùng {_NODE_NAMES_VI.get(kind, kind)}", source)
    for _place, node, parent in nodes:
        _check_node(node, parent, source)
    return tree


def _check_node(node: ast.AST, parent: ast.AST | None, source: str) -> None:
    if isinstance(node, ast.Constant) and not isinstance(node.value, _CONSTANT_TYPES):
        raise _reject(f"không được dùng hằng kiểu {type(node.value).__name__}", source)
    if isinstance(node, ast.Name):
        if _private(node.id):
            raise _reject(f"không được dùng tên '{node.id}'", source)
        called = isinstance(parent, ast.Call) and parent.func is node
        if called and node.id not in FUNCTIONS:
            raise _reject(f"không được gọi hàm '{node.id}' (được phép: {', '.join(sorted(FUNCTIONS))})", source)
        if not called and node.id in FUNCTIONS:
            raise _reject(f"hàm '{node.id}' chỉ được gọi, không dùng như giá trị", source)
    if isinstance(node, ast.Attribute):
        if not (isinstance(parent, ast.Call) and parent.func is node) or node.attr not in METHOD_NAMES:
            raise _reject(f"không được truy cập thuộc tính '{node.attr}'", source)
    if isinstance(node, ast.Call):
        if not isinstance(node.func, (ast.Name, ast.Attribute)):
            raise _reject("chỉ được gọi các hàm có tên trong danh sách cho phép", source)
        if any(kw.arg is None for kw in node.keywords):
            raise _reject("không được dùng toán tử **", source)
    if isinstance(node, ast.keyword) and node.arg is not None and _private(node.arg):
        raise _reject(f"không được dùng tên '{node.arg}'", source)
    if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant) \
            and isinstance(node.slice.value, str) and _private(node.slice.value):
        raise _reject(f"không được truy cập khóa '{node.slice.value}'", source)
    if isinstance(node, ast.Dict) and any(key is None for key in node.keys):
        raise _reject("không được dùng toán tử **", source)
    if isinstance(node, ast.FormattedValue) and node.format_spec is not None:
        raise _reject("f-string không được có định dạng (phần sau dấu ':')", source)
    if isinstance(node, (ast.Assign, ast.AugAssign)):
        for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
            names = target.elts if isinstance(target, ast.Tuple) and isinstance(node, ast.Assign) else [target]
            for name in names:
                if not isinstance(name, ast.Name):
                    raise _reject("chỉ được gán cho tên dữ liệu (ví dụ: ghi_chu = ...)", source)
                if name.id in FUNCTIONS:
                    raise _reject(f"không được gán cho tên hàm '{name.id}'", source)


# -- running ------------------------------------------------------------------------------------------------------
def evaluate(source: str, data: Mapping[str, object]) -> object:
    """The value of the expression `source` over `data` (the task data)."""
    program = compile_expression(source)
    return _Run(program, data).value(program.tree.body)


def execute(source: str, data: dict) -> None:
    """Run the script `source`, writing its assignments into `data`."""
    program = compile_script(source)
    _Run(program, data).statements(program.tree.body)


class _Run:
    def __init__(self, program: Program, data: Mapping[str, object]):
        self.program = program
        self.data = data
        self.cpu_deadline = time.thread_time() + CPU_SECONDS

    def fail(self, message: str) -> ExpressionFailed:
        return ExpressionFailed(message, source=self.program.source)

    def tick(self) -> None:
        if time.thread_time() > self.cpu_deadline:
            raise BudgetExceeded(f"biểu thức chạy quá {CPU_SECONDS * 1000:.0f} ms CPU", source=self.program.source)

    def sized(self, value: object) -> object:
        if type(value) not in (bool, type(None)):
            self.weigh(value)
        return value

    def weigh(self, value: object, limit: int = MAX_WEIGHT) -> int:
        """The size of `value` (characters, items, 8 per number), refused beyond `limit`; shared parts count
        each time they appear, as they would when printed or compared."""
        total, stack = 0, [value]
        while stack:
            item = stack.pop()
            kind = type(item)
            if kind is str:
                total += len(item)
            elif kind in (list, tuple, set):
                total += 1
                stack.extend(item)
            elif kind is dict:
                total += 1
                stack.extend(item.keys())
                stack.extend(item.values())
            elif kind is int:
                if item.bit_length() > MAX_INT_BITS:
                    raise BudgetExceeded("số nguyên quá lớn", source=self.program.source)
                total += 8 + item.bit_length() // 3  # about its digits when printed
            else:
                total += 8
            if total > limit:
                raise BudgetExceeded("giá trị quá lớn (chuỗi hoặc danh sách quá dài)", source=self.program.source)
        return total

    # statements
    def statements(self, body: list[ast.stmt]) -> None:
        for stmt in body:
            self.tick()
            if isinstance(stmt, ast.Assign):
                value = self.value(stmt.value)
                for target in stmt.targets:
                    self.assign(target, value)
            elif isinstance(stmt, ast.AugAssign):
                current = self.name(stmt.target.id)
                self.data[stmt.target.id] = self.binary(stmt.op, current, self.value(stmt.value))
            elif isinstance(stmt, ast.Expr):
                self.value(stmt.value)
            elif isinstance(stmt, ast.If):
                self.statements(stmt.body if self.value(stmt.test) else stmt.orelse)

    def assign(self, target: ast.expr, value: object) -> None:
        if isinstance(target, ast.Tuple):
            if type(value) not in (list, tuple) or len(value) != len(target.elts):
                raise self.fail(f"cần đúng {len(target.elts)} giá trị để gán")
            for element, item in zip(target.elts, value):
                self.data[element.id] = item
        else:
            self.data[target.id] = value

    # expressions
    def name(self, name: str) -> object:
        try:
            return self.data[name]
        except KeyError:
            raise UnknownName(name, source=self.program.source) from None

    def value(self, node: ast.expr) -> object:
        self.tick()
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            return self.name(node.id)
        if isinstance(node, ast.BoolOp):
            result: object = None
            for operand in node.values:
                result = self.value(operand)
                if bool(result) == isinstance(node.op, ast.Or):
                    return result
            return result
        if isinstance(node, ast.BinOp):
            return self.binary(node.op, self.value(node.left), self.value(node.right))
        if isinstance(node, ast.UnaryOp):
            operand = self.value(node.operand)
            if not isinstance(node.op, ast.Not) and type(operand) not in (int, float, bool):
                raise self.fail("dấu +/- chỉ dùng với số")
            return _UNARY_OPS[type(node.op)](operand)
        if isinstance(node, ast.Compare):
            left = self.value(node.left)
            for op, right_node in zip(node.ops, node.comparators):
                right = self.value(right_node)
                if isinstance(op, (ast.In, ast.NotIn)) and type(right) not in (str, list, tuple, dict, set):
                    raise self.fail("'in' chỉ dùng với chuỗi, danh sách hoặc dict")
                if not self.guarded(_COMPARE_OPS[type(op)], left, right):
                    return False
                left = right
            return True
        if isinstance(node, ast.IfExp):
            return self.value(node.body if self.value(node.test) else node.orelse)
        if isinstance(node, ast.Call):
            return self.call(node)
        if isinstance(node, ast.Subscript):
            return self.subscript(self.value(node.value), node.slice)
        if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            items = [self.value(element) for element in node.elts]
            made = {ast.List: list, ast.Tuple: tuple, ast.Set: set}[type(node)]
            return self.sized(self.guarded(made, items))
        if isinstance(node, ast.Dict):
            pairs = [(self.value(key), self.value(value)) for key, value in zip(node.keys, node.values)]
            return self.sized(self.guarded(dict, pairs))
        if isinstance(node, ast.JoinedStr):
            parts = []
            for part in node.values:
                if isinstance(part, ast.Constant):
                    parts.append(part.value)
                else:
                    inner = self.value(part.value)
                    parts.append(self.guarded(repr if part.conversion == ord("r") else str, inner))
                self.sized(parts[-1])
            return self.sized("".join(parts))
        raise self.fail(f"không chạy được {type(node).__name__}")  # unreachable after the static check

    def guarded(self, fn: Callable, *args, **kwargs) -> object:
        """Call a whitelisted operation; its errors become ExpressionFailed naming the cause."""
        try:
            return fn(*args, **kwargs)
        except ExpressionError:
            raise
        except (TypeError, ValueError, ArithmeticError, LookupError, AttributeError, RecursionError) as exc:
            raise self.fail(f"{type(exc).__name__}: {exc}") from None

    def binary(self, op: ast.operator, left: object, right: object) -> object:
        kind_l, kind_r = type(left), type(right)
        numbers = (int, float, bool)
        if isinstance(op, ast.Pow):
            if kind_l not in numbers or kind_r not in numbers:
                raise self.fail("lũy thừa chỉ dùng với số")
            if kind_r is not float and kind_l is not float:
                base_bits = max(abs(int(left)).bit_length(), 1)
                if right > MAX_INT_BITS or (right > 0 and base_bits * right > MAX_INT_BITS + right):
                    raise BudgetExceeded("lũy thừa quá lớn", source=self.program.source)
        elif isinstance(op, ast.Mult):
            sequences = (str, list, tuple)
            count = right if kind_l in sequences else left if kind_r in sequences else None
            seq = left if kind_l in sequences else right if kind_r in sequences else None
            if seq is not None and type(count) is int and count > 0:
                if count > MAX_WEIGHT or self.weigh(seq) * count > MAX_WEIGHT:
                    raise BudgetExceeded("chuỗi hoặc danh sách quá lớn", source=self.program.source)
        elif isinstance(op, ast.Add):
            if kind_l in (str, list, tuple) and kind_r is kind_l:
                self.weigh(left, MAX_WEIGHT - self.weigh(right))
        elif isinstance(op, ast.Mod) and kind_l not in numbers:
            raise self.fail("toán tử % chỉ dùng với số (dùng f-string để ghép chuỗi)")
        return self.sized(self.guarded(_BIN_OPS[type(op)], left, right))

    def call(self, node: ast.Call) -> object:
        args = [self.value(arg) for arg in node.args]
        kwargs = {kw.arg: self.value(kw.value) for kw in node.keywords}
        if isinstance(node.func, ast.Name):
            return self.sized(self.guarded(FUNCTIONS[node.func.id], *args, **kwargs))
        target = self.value(node.func.value)
        method = METHODS.get(type(target), {}).get(node.func.attr)
        if method is None:
            raise self.fail(f"giá trị kiểu {type(target).__name__} không có phương thức '{node.func.attr}'")
        return self.sized(self.guarded(method, target, *args, **kwargs))

    def subscript(self, container: object, index_node: ast.expr) -> object:
        kind = type(container)
        if kind not in (dict, list, tuple, str):
            raise self.fail(f"không lấy phần tử của giá trị kiểu {kind.__name__}")
        if isinstance(index_node, ast.Slice):
            if kind is dict:
                raise self.fail("không cắt (slice) được dict")
            bounds = [None if part is None else self.value(part)
                      for part in (index_node.lower, index_node.upper, index_node.step)]
            if any(b is not None and type(b) is not int for b in bounds):
                raise self.fail("giới hạn của slice phải là số nguyên")
            return self.sized(self.guarded(lambda: container[slice(*bounds)]))
        index = self.value(index_node)
        if type(index) is str and _private(index):
            raise self.fail(f"không được truy cập khóa '{index}'")
        if kind is not dict and type(index) is not int:
            raise self.fail("chỉ số phải là số nguyên")
        return self.guarded(lambda: container[index])

"""The Python features model code uses, run by LocalPythonExecutor."""

from __future__ import annotations

import textwrap

import pytest

from agent_core.exceptions import InterpreterError
from agent_core.executors.local import DEFAULT_AUTHORIZED_IMPORTS, LocalPythonExecutor


@pytest.fixture
def ex():
    executor = LocalPythonExecutor(additional_authorized_imports=["numpy", "pandas"], timeout=10)
    executor.send_tools({"final_answer": lambda answer: answer,
                         "add": lambda a, b: a + b})
    return executor


def run(ex, code):
    return ex(textwrap.dedent(code))


CASES = {
    "comprehensions": ("""
        squares = [x * x for x in range(5) if x % 2 == 0]
        table = {k: [v for v in range(k)] for k in range(3)}
        flat = {y for row in [[1, 2], [2, 3]] for y in row}
        (squares, table, flat, sum(x for x in range(4)))
        """, ([0, 4, 16], {0: [], 1: [0], 2: [0, 1]}, {1, 2, 3}, 6)),
    "classes": ("""
        class Animal:
            count = 0
            def __init__(self, name):
                self.name = name
                self._secret = name.upper()
                self.__hidden = 1
                Animal.count += 1
            def __repr__(self):
                return f"Animal({self.name!r})"
            def __eq__(self, other):
                return isinstance(other, Animal) and other.name == self.name
            def __len__(self):
                return len(self.name)
            @property
            def shout(self):
                return self._secret + "!" * self.__hidden
            @classmethod
            def make(cls, name):
                return cls(name)
            @staticmethod
            def kind():
                return "animal"
        class Dog(Animal):
            def __init__(self, name, breed):
                super().__init__(name)
                self.breed = breed
        d = Dog("rex", "lab")
        (repr(d), d.shout, len(d), Animal.make("a") == Animal("a"), Dog.kind(), Animal.count,
         type(d).__name__, type(d).__name__, hasattr(d, "__len__"))
        """, ("Animal('rex')", "REX!", 3, True, "animal", 3, "Dog", "Dog", True)),
    "dataclass_enum_namedtuple": ("""
        from dataclasses import dataclass, field, asdict
        from enum import Enum
        from collections import namedtuple
        from typing import NamedTuple, List, Optional
        @dataclass
        class Item:
            name: str
            tags: List[str] = field(default_factory=list)
            price: Optional[float] = None
            def __post_init__(self):
                self.name = self.name.title()
        class Color(Enum):
            RED = 1
        P = namedtuple("P", "x y")
        class Q(NamedTuple):
            a: int
            b: int = 2
        (asdict(Item("pen")), Color.RED.name, P(1, 2)._asdict(), P(1, 2)._replace(x=5), Q(1), P._fields)
        """, ({"name": "Pen", "tags": [], "price": None}, "RED", {"x": 1, "y": 2}, (5, 2), (1, 2),
              ("x", "y"))),
    "closures": ("""
        def counter():
            n = 0
            def inc(step=1):
                nonlocal n
                n += step
                return n
            return inc
        c = counter()
        c(); c(); c(5)
        """, 7),
    "try_except_finally": ("""
        log = []
        class MyError(ValueError):
            pass
        def f(x):
            try:
                if x == 0:
                    raise MyError("zero")
                return 10 // x
            except MyError as e:
                log.append(f"caught {e}")
                return -1
            except (TypeError, ZeroDivisionError):
                return -2
            else:
                log.append("else")
            finally:
                log.append("finally")
        try:
            raise KeyError("k") from ValueError("v")
        except Exception as e:
            log.append(type(e).__name__)
        (f(0), f(5), f("a"), log)
        """, (-1, 2, -2, ["KeyError", "caught zero", "finally", "finally", "finally"])),
    "with": ("""
        class Tracker:
            def __init__(self):
                self.events = []
            def __enter__(self):
                self.events.append("enter")
                return self
            def __exit__(self, exc_type, exc, tb):
                self.events.append("exit")
                return exc_type is ValueError
        t = Tracker()
        with t as inside:
            raise ValueError("swallowed by the manager, as Python allows")
        import io
        with io.StringIO() as buf:
            buf.write("x")
            text = buf.getvalue()
        (t.events, inside is t, text)
        """, (["enter", "exit"], True, "x")),
    "fstrings_and_format": ("""
        x, name, d = 3.14159, "bob", {"a": 1}
        import string
        tpl = string.Template("$who likes $what")
        (f"{x:.2f}|{name!r}|{name:>5}|{x=:.1f}|{d['a']}|{'nested ' + f'{name}'}",
         "{} and {:03d} {k}".format("a", 7, k=name), "{0[a]} {p.real}".format(d, p=2j),
         "{x}".format_map({"x": 1}), str.format("{}-{}", 1, 2),
         string.Formatter().format("{0} {a[b]}", 1, a={"b": 2}),
         tpl.substitute(who="Ann", what="tea"), "%s=%d" % ("n", 4))
        """, ("3.14|'bob'|  bob|x=3.1|1|nested bob", "a and 007 bob", "1 0.0", "1", "1-2", "1 2",
              "Ann likes tea", "n=4")),
    "generators": ("""
        def gen(n):
            for i in range(n):
                received = yield i
                if received:
                    yield received * 10
        def chain(*its):
            for it in its:
                yield from it
        g = gen(3)
        first = next(g)
        sent = g.send(4)
        (first, sent, list(chain([1], (2, 3))), sum(i for i in gen(4)))
        """, (0, 40, [1, 2, 3], 6)),
    "walrus_match": ("""
        def describe(v):
            match v:
                case 0:
                    return "zero"
                case [x, y, *rest] if (n := len(rest)) > 0:
                    return f"list {x},{y}+{n}"
                case {"kind": "pt", "x": px}:
                    return f"point {px}"
                case str() as s:
                    return f"str {s}"
                case complex(real=r):
                    return f"complex {r}"
                case _:
                    return "other"
        [describe(v) for v in (0, [1, 2, 3], {"kind": "pt", "x": 9}, "s", 2j, 1.5)]
        """, ["zero", "list 1,2+1", "point 9", "str s", "complex 0.0", "other"]),
    "global_star_args": ("""
        total = 0
        def bump(*args, scale=1, **kw):
            global total
            total += sum(args) * scale + len(kw)
            return total
        def kwonly(a, /, b, *, c):
            return a + b + c
        first, *middle, last = [1, 2, 3, 4]
        bump(*[1, 2], scale=2, **{"x": 1})
        (total, kwonly(1, b=2, c=3), middle, {**{"a": 1}, "b": 2}, [*range(2), *"ab"])
        """, (7, 6, [2, 3], {"a": 1, "b": 2}, [0, 1, "a", "b"])),
    "slicing_augmented": ("""
        a = list(range(10))
        a[2:5] = ["x"]
        b = a[::-2]
        counts = {"k": 1}
        counts["k"] += 5
        grid = [[0] * 2 for _ in range(2)]
        grid[1][0] -= 3
        class Box:
            pass
        box = Box()
        box.v = [1]
        box.v += [2]
        box.v[0] *= 10
        s = "hello"
        (a[:4], b, counts, grid, box.v, s[-3:], s[::-1])
        """, ([0, 1, "x", 5], [9, 7, 5, 1], {"k": 6}, [[0, 0], [-3, 0]], [10, 2], "llo", "olleh")),
    "lambdas_builtins_stdlib": ("""
        import math, json, re, functools, itertools, collections, fractions, decimal, textwrap
        import operator, heapq, bisect, statistics, datetime, copy, hashlib, base64, random
        @functools.lru_cache(maxsize=None)
        def fib(n):
            return n if n < 2 else fib(n - 1) + fib(n - 2)
        def deco(f):
            @functools.wraps(f)
            def wrapper(*a):
                return f(*a) * 2
            return wrapper
        @deco
        def one():
            "doc"
            return 1
        words = sorted(["bb", "a", "ccc"], key=lambda w: -len(w))
        random.seed(0)
        (fib(30), one(), one.__name__, words, json.loads(json.dumps({"a": [1]})),
         re.findall(r"\\d+", "a1b22"), collections.Counter("aab").most_common(1),
         str(fractions.Fraction(1, 3) + 1), str(decimal.Decimal("1.1") * 2),
         operator.attrgetter("real")(3), operator.itemgetter(1)([5, 6]),
         heapq.nsmallest(2, [5, 1, 3]), bisect.bisect([1, 3], 2), statistics.mean([1, 2, 3]),
         datetime.date(2024, 1, 2).isoformat(), list(itertools.islice(itertools.count(), 3)),
         hashlib.sha256(b"x").hexdigest()[:8], base64.b64encode(b"hi").decode(),
         math.isqrt(17), textwrap.shorten("hello world foo", 11), copy.deepcopy([[1]]))
        """, (832040, 2, "one", ["ccc", "bb", "a"], {"a": [1]}, ["1", "22"], [("a", 2)], "4/3",
              "2.2", 3, 6, [1, 3], 1, 2, "2024-01-02", [0, 1, 2], "2d711642", "aGk=", 4,
              "hello [...]", [[1]])),
    "main_guard_and_none_output": ("""
        ran = False
        if __name__ == "__main__":
            ran = True
        ran
        """, True),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_language_feature(ex, name):
    code, expected = CASES[name]
    assert run(ex, code).output == expected


def test_last_expression_is_output_and_assignment_gives_none(ex):
    assert ex("x = 5").output is None
    assert ex("x * 2").output == 10
    assert ex("print('a')").output is None


def test_state_persists_across_steps(ex):
    ex("import math\ndef area(r):\n    return math.pi * r * r\nclass K:\n    pass\nk = K()\nk.v = 2")
    out = ex("round(area(k.v), 2)")
    assert out.output == 12.57


def test_print_is_captured_with_sep_end_and_file(ex):
    out = run(ex, """
        import io
        buf = io.StringIO()
        print("a", 1, sep="-", end="!\\n")
        print("to buffer", file=buf)
        print([1, 2])
        buf.getvalue()
        """)
    assert out.logs == "a-1!\n[1, 2]\n"
    assert out.output == "to buffer\n"


def test_tools_are_called_with_args_and_kwargs(ex):
    assert ex("add(2, b=3)").output == 5


def test_final_answer_ends_the_step_with_processed_value():
    ex = LocalPythonExecutor()
    ex.send_tools({"final_answer": lambda answer: f"<{answer}>"})
    out = ex("print('before')\nfinal_answer(42)\nprint('after')")
    assert out.is_final_answer and out.output == "<42>"
    assert out.logs == "before\n"


def test_send_variables_injects_values(ex):
    ex.send_variables({"image_path": "/data/x.png", "numbers": [1, 2]})
    assert ex("image_path + str(sum(numbers))").output == "/data/x.png3"


def test_reset_forgets_state_but_keeps_tools(ex):
    ex("x = 1")
    ex.reset()
    with pytest.raises(InterpreterError, match="`x` is not defined"):
        ex("x")
    assert ex("add(1, 1)").output == 2


def test_numpy_and_pandas_when_authorized(ex):
    out = run(ex, """
        import numpy as np
        import pandas as pd
        from numpy import linalg
        import numpy.linalg as la
        arr = np.arange(12).reshape(3, 4)
        df = pd.DataFrame({"g": ["a", "b", "a"], "v": [1, 2, 3]})
        sums = df.groupby("g")["v"].sum().to_dict()
        import io
        buffer = io.BytesIO()
        np.save(buffer, arr)
        buffer.seek(0)
        (int(arr.sum()), float(linalg.norm([3, 4])), float(la.det(np.eye(2))), sums,
         np.random.default_rng(0).integers(0, 10, 3).shape, int(np.load(buffer)[2, 3]))
        """)
    assert out.output == (66, 5.0, 1.0, {"a": 4, "b": 2}, (3,), 11)


def test_numpy_refused_without_authorization():
    with pytest.raises(InterpreterError, match="Import of numpy is not allowed"):
        LocalPythonExecutor()("import numpy")


def test_default_allowlist_is_generous_with_safe_stdlib():
    for module in ("string", "fractions", "decimal", "json", "textwrap", "functools",
                   "operator", "copy", "heapq", "bisect", "enum", "dataclasses", "typing",
                   "collections", "math", "re", "random", "datetime", "itertools"):
        assert module in DEFAULT_AUTHORIZED_IMPORTS
    assert not {"os", "sys", "subprocess", "socket", "pathlib", "shutil", "importlib",
                "ctypes", "pickle"} & set(DEFAULT_AUTHORIZED_IMPORTS)


def test_star_forms_of_authorization():
    assert LocalPythonExecutor(["numpy.*"])("import numpy.linalg\n1").output == 1
    assert LocalPythonExecutor(["*"])("import os\nos.sep").output == "/"


def test_error_message_names_line_and_exception(ex):
    with pytest.raises(InterpreterError) as info:
        ex("a = 1\nb = a / 0")
    message = str(info.value)
    assert "line 2" in message and "ZeroDivisionError" in message


def test_syntax_error_is_reported(ex):
    with pytest.raises(InterpreterError, match="SyntaxError at line 1"):
        ex("def f(:\n  pass")


def test_error_carries_logs(ex):
    with pytest.raises(InterpreterError) as info:
        ex("print('partial')\nraise ValueError('boom')")
    assert info.value.logs == "partial\n"
    assert "ValueError: boom" in str(info.value)


def test_sleep_and_queue_work_normally(ex):
    out = run(ex, """
        import time, queue
        q = queue.Queue()
        q.put(1)
        t = time.time()
        time.sleep(0.05)
        (q.get(), time.time() - t >= 0.05)
        """)
    assert out.output == (1, True)

"""Attacks on LocalPythonExecutor's language layer: each must be refused, and the host
must keep working afterwards."""

from __future__ import annotations

import textwrap
import threading
import time

import pytest

from agent_core.exceptions import InterpreterError
from agent_core.executors.local import LocalPythonExecutor


class FakeTool:
    name = "web_search"
    description = "searches"

    def __call__(self, query):
        return f"results for {query}"


@pytest.fixture
def ex():
    executor = LocalPythonExecutor(additional_authorized_imports=["numpy", "pandas"], timeout=5)
    executor.send_tools({"final_answer": lambda answer: answer, "web_search": FakeTool()})
    executor.send_variables({"upload": {"path": "/data/file.txt"}})
    return executor


def refused(ex, code, match=None):
    with pytest.raises(InterpreterError, match=match):
        ex(textwrap.dedent(code))
    assert ex("1 + 1").output == 2  # the host and the executor survive


DUNDER_ROUTES = {
    "attribute_syntax": "().__class__.__bases__[0].__subclasses__()",
    "func_globals": "(lambda: 0).__globals__",
    "func_builtins": "(lambda: 0).__builtins__",
    "func_code": "(lambda: 0).__code__",
    "closure": "def f():\n    x = 1\n    return lambda: x\nf().__closure__",
    "dict_attr": "class A:\n    pass\nA().__dict__",
    "getattr_computed": "getattr(lambda: 0, '__glo' + 'bals__')",
    "getattr_default": "getattr((), '__class__').__base__",
    "getattr_str_subclass": "class S(str):\n    pass\ngetattr(1, S('__class__'))",
    "hasattr_then_getattr": "getattr(super, '__self__')",
    "setattr_dunder": "class A:\n    pass\nsetattr(A, '__eq__', None)",
    "dunder_name": "__builtins__",
    "dunder_import": "__import__('os')",
    "vars_globals_locals": "vars()",
    "globals": "globals()",
    "locals": "locals()",
    "type_dict": "type.__dict__",
    "mro_walk": "object.__subclasses__()",
    "object_getattribute": "object.__getattribute__(1, '__class__')",
    "super_dunder_on_foreign": "super(int, 1).__init__",
    "match_class_pattern": "match 1:\n    case int(__class__=c):\n        pass",
    "define_del": "class A:\n    def __del__(self):\n        pass",
    "define_init_subclass": "class A:\n    def __init_subclass__(cls):\n        pass",
    "class_body_dunder": "class A:\n    __getattribute__ = None",
    "class_attr_syntax": "(1).__class__",
    "class_getattr": "getattr(1, '__cl' + 'ass__')",
    "class_attrgetter": "import operator\noperator.attrgetter('__class__')(1)",
    "class_partial_getattr": "import functools\nfunctools.partial(getattr, 1)('__class__')",
    "class_map_getattr": "list(map(getattr, [1], ['__class__']))",
    "class_formatter_get_field": "import string\nstring.Formatter().get_field('0.__class__', [1], {})",
}

FORMAT_ROUTES = {
    "str_format": "'{0.__class__.__mro__}'.format(1)",
    "str_format_globals": "def f():\n    pass\n'{0.__globals__}'.format(f)",
    "format_map": "'{x.__class__}'.format_map({'x': 1})",
    "unbound_format": "str.format('{0.__class__}', 1)",
    "type_format": "type('').format('{0.__class__}', 1)",
    "getattr_format": "getattr('{0.__class__}', 'format')(1)",
    "nested_spec": "'{0:{1.__class__}}'.format(1, 2)",
    "string_formatter": "import string\nstring.Formatter().format('{0.__class__.__base__}', 1)",
    "formatter_get_field": ("import string\n"
                            "string.Formatter().get_field('0.__globals__', [lambda: 0], {})"),
    "formatter_super": ("import string\nf = string.Formatter()\n"
                        "super(string.Formatter, f).get_field('0.__globals__', [lambda: 0], {})"),
    "formatter_subclass": ("import string\nclass F(string.Formatter):\n    pass\n"
                           "F().vformat('{0.__globals__}', [lambda: 0], {})"),
    "attrgetter": "import operator\noperator.attrgetter('__class__.__base__')(1)",
    "attrgetter_frame": "import operator\ng = (i for i in [1])\noperator.attrgetter('gi_frame')(g)",
    "methodcaller": "import operator\noperator.methodcaller('__reduce_ex__', 2)(1)",
    "methodcaller_format": "import operator\noperator.methodcaller('format', 1)('{0.__class__}')",
}

FRAME_ROUTES = {
    "generator_frame": "g = (i for i in [1])\ng.gi_frame",
    "generator_code": "g = (i for i in [1])\ng.gi_code",
    "frame_back": "g = (i for i in [1])\ngetattr(g, 'gi_frame')",
    "coroutine_frame": "async def c():\n    pass\nco = c()\nco.cr_frame",
    "traceback": "try:\n    1 / 0\nexcept Exception as e:\n    tb = e.__traceback__",
    "traceback_getattr": "try:\n    1 / 0\nexcept Exception as e:\n    getattr(e, '__traceback__')",
    "tb_frame_name": "x = None\nx.tb_frame",
    "code_object": "def f():\n    pass\ngetattr(f, '__code__')",
    "f_globals": "x = None\nx.f_globals",
}

MODULE_PIVOTS = {
    "random_os": "import random\nrandom._os",
    "random_os_getattr": "import random\ngetattr(random, '_os')",
    "from_random_import_os": "from random import _os",
    "collections_sys": "import collections\ncollections._sys",
    "typing_sys": "import typing\ntyping.sys",
    "from_typing_import_sys": "from typing import sys",
    "statistics_sys": "import statistics\nstatistics.sys",
    "dataclasses_builtins": "import dataclasses\ndataclasses.builtins",
    "dataclasses_inspect": "import dataclasses\ndataclasses.inspect",
    "json_codecs": "import json\njson.codecs.open",
    "queue_threading": "import queue\nqueue.threading",
    "re_copyreg": "import re\nre.copyreg",
    "numpy_ctypeslib": "import numpy as np\nnp.ctypeslib",
    "import_numpy_ctypeslib": "import numpy.ctypeslib",
    "numpy_private": "import numpy as np\nnp._core",
    "pandas_io_common_os": "import pandas as pd\npd.io.common.os",
    "typing_get_type_hints": "import typing\ntyping.get_type_hints",
    "functools_singledispatch": "import functools\nfunctools.singledispatch",
    "enum_global_enum": "import enum\nenum.global_enum",
    "io_open": "import io\nio.open",
    "io_fileio": "import io\nio.FileIO",
    "uuid_getnode": "import uuid\nuuid.getnode",
    "numpy_pickle": "import numpy as np, io\nnp.load(io.BytesIO(b''), allow_pickle=True)",
    "numpy_format_pickle": ("import numpy as np, io\n"
                            "np.lib.format.read_array(io.BytesIO(b''), allow_pickle=True)"),
    "numpy_as_strided": ("import numpy as np\n"
                         "np.lib.stride_tricks.as_strided(np.zeros(1), (10**6,), (8,))"),
    "numpy_ctypes": "import numpy as np\nnp.zeros(2).ctypes",
    "pandas_read_pickle": "import pandas as pd\npd.read_pickle",
    "from_operator_import": "from operator import attrgetter\nattrgetter('__globals__')(lambda: 0)",
}

IMPORTS = {
    "os": "import os",
    "sys": "import sys",
    "subprocess": "import subprocess",
    "from_os": "from os import system",
    "importlib": "import importlib",
    "builtins": "import builtins",
    "ctypes": "import ctypes",
    "pickle": "import pickle",
    "socket": "import socket",
    "pathlib": "from pathlib import Path",
    "relative": "from . import x",
    "dotted_outside": "import os.path",
}

FOREIGN_WRITES = {
    "module_attr": "import math\nmath.pi = 3",
    "module_setattr": "import math\nsetattr(math, 'pi', 3)",
    "module_delattr": "import math\ndel math.pi",
    "builtin_class": "int.x = 1",
    "library_class": "import collections\ncollections.Counter.most_common = None",
    "library_function": "import json\njson.dumps.x = 1",
    "tool_attr": "web_search.name = 'evil'",
    "tool_setattr": "setattr(web_search, 'description', 'evil')",
    "final_answer_attr": "final_answer.x = 1",
    "injected_variable_attr": "import types\nupload.x = 1",
    "foreign_private": "import fractions\nf = fractions.Fraction(1, 2)\nf._numerator = 5",
    "dataclass_on_library": "import dataclasses, collections\ndataclasses.dataclass(collections.Counter)",
    "total_ordering_library": ("import functools, fractions\n"
                               "functools.total_ordering(fractions.Fraction)"),
    "module_singleton": "import decimal\ndecimal.DefaultContext.prec = 2",
    "metaclass_returns_library_class": ("import random\n"
                                        "class Random(metaclass=lambda *a: random.Random):\n"
                                        "    pass\nRandom.random = None"),
    "decorator_returns_library_class": ("import random\n@lambda c: random.Random\n"
                                        "class Random:\n    pass\nRandom._randbelow"),
    "decorator_returns_type": ("@lambda c: type\nclass T:\n    pass\n"
                               "import random\nrandom.Random._randbelow"),
    "update_wrapper_library": ("import functools, json\ndef f():\n    pass\n"
                               "functools.update_wrapper(json.dumps, f)"),
}

TOOL_REBINDING = {
    "assign": "final_answer = print",
    "delete": "del web_search",
    "def": "def web_search(q):\n    return 'fake'",
    "class": "class final_answer:\n    pass",
    "import_as": "import math as web_search",
    "for_target": "for web_search in range(2):\n    pass",
    "argument": "def f(final_answer):\n    return final_answer",
    "lambda_argument": "g = lambda web_search: 1",
    "walrus": "(web_search := 1)",
    "global": "def f():\n    global web_search\n    web_search = 1",
    "except_as": "try:\n    pass\nexcept Exception as final_answer:\n    pass",
    "comprehension": "[web_search for web_search in range(3)]",
}

UNDEFINED_NAMES = ["open('/etc/passwd')", "exec('1')", "eval('1')", "compile('1', 'f', 'eval')",
                   "input()", "breakpoint()", "help()", "exit()", "memoryview(b'')",
                   "unknown_helper(1)"]


@pytest.mark.parametrize("name", sorted(DUNDER_ROUTES))
def test_dunder_routes_are_refused(ex, name):
    refused(ex, DUNDER_ROUTES[name])


@pytest.mark.parametrize("name", sorted(FORMAT_ROUTES))
def test_format_and_attrgetter_routes_are_refused(ex, name):
    refused(ex, FORMAT_ROUTES[name])


@pytest.mark.parametrize("name", sorted(FRAME_ROUTES))
def test_frames_tracebacks_and_code_are_refused(ex, name):
    refused(ex, FRAME_ROUTES[name], match="not allowed")


@pytest.mark.parametrize("name", sorted(MODULE_PIVOTS))
def test_module_pivots_are_refused(ex, name):
    refused(ex, MODULE_PIVOTS[name], match="not allowed|no attribute")


@pytest.mark.parametrize("name", sorted(IMPORTS))
def test_unauthorized_imports_are_refused_with_actionable_message(ex, name):
    refused(ex, IMPORTS[name], match="not allowed")


def test_import_message_lists_authorized_imports(ex):
    with pytest.raises(InterpreterError) as info:
        ex("import os")
    assert "Import of os is not allowed. Authorized imports are: [" in str(info.value)
    assert "'math'" in str(info.value)


@pytest.mark.parametrize("name", sorted(FOREIGN_WRITES))
def test_writes_to_objects_the_code_did_not_create_are_refused(ex, name):
    refused(ex, FOREIGN_WRITES[name])
    import json
    import math
    assert math.pi > 3.14 and not hasattr(json.dumps, "x")


@pytest.mark.parametrize("name", sorted(TOOL_REBINDING))
def test_tools_cannot_be_rebound(ex, name):
    refused(ex, TOOL_REBINDING[name], match="tool|__")
    assert ex("web_search('q')").output == "results for q"


@pytest.mark.parametrize("code", UNDEFINED_NAMES)
def test_undefined_names_are_not_guessed(ex, code):
    refused(ex, code, match="NameError")


def test_code_may_write_to_its_own_objects_and_functions(ex):
    out = ex(textwrap.dedent("""
        class A:
            pass
        def f():
            pass
        a = A()
        a.x = 1
        a._y = 2
        A.z = 3
        f.tag = "t"
        setattr(a, "w", 4)
        (a.x, a._y, A.z, f.tag, a.w)
        """))
    assert out.output == (1, 2, 3, "t", 4)


FINAL_SWALLOWERS = {
    "except_base": "try:\n    final_answer(1)\nexcept BaseException:\n    print('after')",
    "bare_except": "try:\n    final_answer(1)\nexcept:\n    print('after')",
    "except_tuple": "try:\n    final_answer(1)\nexcept (ValueError, BaseException):\n    print('after')",
    "alias": "B = BaseException\ntry:\n    final_answer(1)\nexcept B:\n    print('after')",
    "except_star": "try:\n    final_answer(1)\nexcept* BaseException:\n    print('after')",
    "context_manager": ("class S:\n    def __enter__(self):\n        return self\n"
                        "    def __exit__(self, *a):\n        return True\n"
                        "with S():\n    final_answer(1)\nprint('after')"),
    "type_made_manager": ("S = type('S', (), {'__enter__': lambda s: s, "
                          "'__exit__': lambda s, *a: True})\n"
                          "with S():\n    final_answer(1)\nprint('after')"),
    "generator": ("def g():\n    try:\n        yield final_answer(1)\n"
                  "    except BaseException:\n        yield 'swallowed'\nprint(list(g()))"),
}


@pytest.mark.parametrize("name", sorted(FINAL_SWALLOWERS))
def test_final_answer_cannot_be_swallowed(ex, name):
    out = ex(FINAL_SWALLOWERS[name])
    assert out.is_final_answer and out.output == 1
    assert "after" not in out.logs and "swallowed" not in out.logs


def test_finally_cannot_cancel_the_stop(ex):
    refused(ex, "for i in range(3):\n    try:\n        final_answer(i)\n    finally:\n        continue",
            match="finally")
    refused(ex, "def f():\n    try:\n        final_answer(1)\n    finally:\n        return 2\nf()",
            match="finally")


TIMEOUT_LOOPS = {
    "busy": "while True:\n    pass",
    "counting": "x = 0\nwhile True:\n    x += 1",
    "catching": "while True:\n    try:\n        while True:\n            pass\n    except BaseException:\n        pass",
    "swallowing_manager": ("class S:\n    def __enter__(self):\n        return self\n"
                           "    def __exit__(self, *a):\n        return True\n"
                           "while True:\n    with S():\n        while True:\n            pass"),
    "sleep": "import time\ntime.sleep(1000)",
    "queue_get": "import queue\nqueue.Queue().get()",
    "recursion_catching": ("def f():\n    try:\n        f()\n    except RecursionError:\n        f()\n"
                           "while True:\n    try:\n        f()\n    except RecursionError:\n        pass"),
}


@pytest.mark.parametrize("name", sorted(TIMEOUT_LOOPS))
def test_time_limit_stops_runaway_code(name):
    ex = LocalPythonExecutor(timeout=1)
    started = time.monotonic()
    with pytest.raises(InterpreterError, match="time limit of 1 seconds"):
        ex(TIMEOUT_LOOPS[name])
    assert time.monotonic() - started < 3
    assert ex("2 + 2").output == 4


def test_time_in_tools_does_not_count():
    ex = LocalPythonExecutor(timeout=0.5)
    ex.send_tools({"slow": lambda: time.sleep(0.8) or "done"})
    assert ex("slow()").output == "done"


def test_interrupt_from_another_thread_stops_the_step():
    ex = LocalPythonExecutor(timeout=None)
    timer = threading.Timer(0.3, ex.interrupt)
    timer.start()
    started = time.monotonic()
    with pytest.raises(InterpreterError, match="interrupted"):
        ex("while True:\n    pass")
    assert time.monotonic() - started < 2
    assert ex("3").output == 3


def test_no_stray_stop_signal_reaches_the_host_after_a_step():
    ex = LocalPythonExecutor(timeout=0.2)
    for _ in range(5):
        with pytest.raises(InterpreterError):
            ex("while True:\n    pass")
        time.sleep(0.25)  # a late signal would be raised here, in host code
    assert ex("1").output == 1


def test_output_flood_is_capped():
    ex = LocalPythonExecutor(max_print_outputs_length=1000, timeout=5)
    out = ex("for i in range(100000):\n    print('spam', i)")
    assert len(out.logs) < 1200
    assert "output truncated" in out.logs


def test_subclassing_a_library_class_does_not_open_its_internals(ex):
    refused(ex, "import random\nclass R(random.Random):\n    pass\nR()._randbelow", match="private")
    out = ex("class R2:\n    _own = 1\n    def __init__(self):\n        self._mine = 2\n"
             "(R2._own, R2()._mine)")
    assert out.output == (1, 2)


@pytest.mark.parametrize("code", ["(" * 5000 + ")" * 5000, "x = 1\x00", "return 5"])
def test_malformed_code_is_an_interpreter_error(ex, code):
    refused(ex, code)


def test_module_objects_stay_protected_after_reset(ex):
    ex("import decimal\nctx = decimal.DefaultContext")
    ex.reset()
    refused(ex, "import decimal\ndecimal.DefaultContext.prec = 2")

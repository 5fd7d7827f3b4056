"""Tests of the CPython reference executor (pitlane_ref.py).

Run from the repository root: ``python3 -m unittest discover -s baselines/python``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest
from typing import Any, Dict, List, Optional, Tuple

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import pitlane_ref as ref  # noqa: E402
from pitlane_ref import DROP, ItemError, js_dumps, json_equal, parse_item  # noqa: E402

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pitlane_ref.py")


# ----------------------------------------------------------------------------------------------------------------
# helpers


def manifest(nodes: List[Dict[str, Any]], connections: Optional[List[Tuple[str, str]]] = None, **top: Any):
    m: Dict[str, Any] = {"version": "v1", "metadata": {"name": "test"}, "nodes": nodes}
    if connections is not None:
        m["connections"] = [{"from": a, "to": b} for a, b in connections]
    m.update(top)
    return m


def node(node_id: str, node_type: str, **params: Any) -> Dict[str, Any]:
    spec: Dict[str, Any] = {"id": node_id, "node_type": node_type}
    if params:
        spec["params"] = params
    return spec


def chain(*specs: Dict[str, Any], **top: Any) -> Dict[str, Any]:
    ids = [s["id"] for s in specs]
    return manifest(list(specs), list(zip(ids, ids[1:])), **top)


def run(m: Dict[str, Any], lines: Optional[List[str]] = None, on_error: Optional[str] = None, base_dir: str = "."):
    problems = ref.validate_manifest(ref.normalize_manifest(m))
    assert not problems, problems
    return asyncio.run(ref.run_pipeline(m, lines, on_error=on_error, base_dir=base_dir))


def outputs_of(m: Dict[str, Any], lines: Optional[List[str]] = None, on_error: Optional[str] = None) -> List[Any]:
    outputs, result = run(m, lines, on_error)
    assert result.failure is None, result.failure
    return outputs


def dumps_all(values: List[Any]) -> List[str]:
    return [js_dumps(v) for v in values]


def error_record(node_id: str, node_type: str, index: Any, message: str, *item: Any) -> Dict[str, Any]:
    err: Dict[str, Any] = {"node": node_id, "node_type": node_type, "item_index": index, "message": message}
    if item:
        err["item"] = item[0]
    return {"$error": err}


def problems_of(m: Any) -> List[Tuple[str, str]]:
    return [(p.path, p.message) for p in ref.validate_manifest(ref.normalize_manifest(m))]


def process(node_type: str, item: Any, **params: Any) -> Any:
    """Run one item through a fresh node of ``node_type``; returns the output or the ItemError message."""
    cls = ref.NODE_TYPES[node_type]
    n = cls("n", ref.normalize_manifest(params))
    try:
        return n.process(item)
    except ItemError as exc:
        return ("error", str(exc))


def cli(*args: str, stdin: bytes = b"", timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, SCRIPT, *args], input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout
    )


def interrupt_after_first_line(path: str, stdin: bytes) -> Tuple[bytes, Optional[int], bytes, bytes]:
    """`run path` with `stdin` written and the input left open: waits (up to 10 s) for the first output line,
    sends SIGINT, and returns that line, the exit code, the rest of stdout, and stderr."""
    p = subprocess.Popen([sys.executable, SCRIPT, "run", path], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    try:
        p.stdin.write(stdin)
        p.stdin.flush()
        deadline = time.time() + 10
        first = b""
        while not first.endswith(b"\n") and time.time() < deadline:
            first += p.stdout.read1(100) if hasattr(p.stdout, "read1") else p.stdout.read(1)
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=10)
    finally:
        if p.poll() is None:
            p.kill()
    return first, p.returncode, out, err

class TempDirMixin:
    def setUp(self) -> None:  # noqa: D401
        self.tmp = tempfile.mkdtemp(prefix="pitlane_ref_test_")

    def tearDown(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)

    def write(self, name: str, content: Any) -> str:
        path = os.path.join(self.tmp, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(content if isinstance(content, str) else json.dumps(content, indent=2))
        return path


# ----------------------------------------------------------------------------------------------------------------
# values


class JsDumpsTest(unittest.TestCase):
    def test_numbers_like_javascript(self) -> None:
        cases = {
            3.0: "3",
            0.1 + 0.2: "0.30000000000000004",
            1e21: "1e+21",
            1e20: "100000000000000000000",
            1e-7: "1e-7",
            1.5e-7: "1.5e-7",
            0.000001: "0.000001",
            0.0000015: "0.0000015",
            123456789012345680000.0: "123456789012345680000",
            -0.0: "0",
            0.0: "0",
            5e-324: "5e-324",
            -5e-324: "-5e-324",
            1.7976931348623157e308: "1.7976931348623157e+308",
            -1.7976931348623157e308: "-1.7976931348623157e+308",
            2.0**53: "9007199254740992",
            2.0**53 + 2: "9007199254740994",
            -(2.0**53) - 2: "-9007199254740994",
            1e16: "10000000000000000",
            1.2345e22: "1.2345e+22",
            -1.5: "-1.5",
            100.0: "100",
            123.456: "123.456",
            1e-6 * 1.1: "0.0000011",
            2.5e-5: "0.000025",
            4.35: "4.35",
            1 / 3: "0.3333333333333333",
            float("inf"): "null",
            float("-inf"): "null",
            float("nan"): "null",
        }
        for value, want in cases.items():
            with self.subTest(value=value):
                self.assertEqual(js_dumps(value), want)

    def test_bools_null_and_ints(self) -> None:
        self.assertEqual(js_dumps(True), "true")
        self.assertEqual(js_dumps(False), "false")
        self.assertEqual(js_dumps(None), "null")
        self.assertEqual(js_dumps(7), "7")
        self.assertEqual(js_dumps([True, 1.0, None]), "[true,1,null]")

    def test_strings_like_javascript(self) -> None:
        cases = {
            "a\u0001": '"a\\u0001"',
            "é": '"é"',
            'q"b\\s': '"q\\"b\\\\s"',
            "\b\f\n\r\t": '"\\b\\f\\n\\r\\t"',
            "\x00\x1f": '"\\u0000\\u001f"',
            "\x7f": '"\x7f"',
            "\u2028\u2029": '"\u2028\u2029"',
            "/<>": '"/<>"',
            "\ud800": '"\\ud800"',
            "x\udfffy": '"x\\udfffy"',
            "\ud83d\ude00": '"\U0001f600"',  # a pair of surrogates is one character in JavaScript
            "\U0001f600": '"\U0001f600"',
            "": '""',
        }
        for value, want in cases.items():
            with self.subTest(value=value):
                self.assertEqual(js_dumps(value), want)

    def test_object_property_order(self) -> None:
        self.assertEqual(js_dumps({"b": 1.0, "1": 2.0, "0": 3.0}), '{"0":3,"1":2,"b":1}')
        self.assertEqual(
            js_dumps({"b": 1.0, "10": 2.0, "2": 3.0, "01": 4.0, "-1": 5.0, "4294967295": 6.0, "4294967294": 7.0}),
            '{"2":3,"10":2,"4294967294":7,"b":1,"01":4,"-1":5,"4294967295":6}',
        )
        self.assertEqual(js_dumps({"z": {"1": [], "a": {}}, "\u0661": 1.0}), '{"z":{"1":[],"a":{}},"\u0661":1}')

    def test_nested(self) -> None:
        value = {"a": [1.0, -0.0, 1e21, {"k": "v\n"}], "b": None, "c": [[]]}
        self.assertEqual(js_dumps(value), '{"a":[1,0,1e+21,{"k":"v\\n"}],"b":null,"c":[[]]}')

    def test_round_trip_of_parsed_text(self) -> None:
        text = '{"x": [1, 2.50, -0, 1E3, 1e-7, "\\u00e9\\ud83d\\ude00"], "1": true}'
        self.assertEqual(js_dumps(parse_item(text)), '{"1":true,"x":[1,2.5,0,1000,1e-7,"é\U0001f600"]}')

    def test_rejects_non_json(self) -> None:
        with self.assertRaises(TypeError):
            js_dumps(object())


@unittest.skipUnless(shutil.which("node"), "node is not installed")
class JsDumpsAgainstNodeTest(unittest.TestCase):
    """Random doubles and values, formatted by JSON.stringify in node and by js_dumps."""

    def test_random_doubles(self) -> None:
        rng = random.Random(20240611)
        values = []
        for _ in range(3000):
            values.append(rng.uniform(-1, 1) * 10 ** rng.randint(-30, 30))
            values.append(float(rng.randint(-(10**22), 10**22)))
            f = math_from_bits(rng.getrandbits(64))
            if math.isfinite(f):
                values.append(f)
        script = (
            "const ls=require('fs').readFileSync(0,'utf8').split('\\n').filter(Boolean);"
            "console.log(ls.map(l=>JSON.stringify(Number(l))).join('\\n'))"
        )
        out = subprocess.run(
            ["node", "-e", script], input="\n".join(repr(v) for v in values).encode(), stdout=subprocess.PIPE, check=True
        ).stdout.decode().split("\n")
        for value, want in zip(values, out):
            self.assertEqual(js_dumps(value), want, repr(value))

    def test_random_values_round_trip(self) -> None:
        rng = random.Random(7)
        pieces = ["a", "é", '"', "\\", "\n", "\x01", "\x7f", "\u2028", "\\ud800", "\\udc00", "0", "1", "10"]

        def gen(depth: int) -> str:
            kind = rng.randrange(7 if depth < 3 else 4)
            if kind == 0:
                return rng.choice(["null", "true", "false"])
            if kind == 1:
                return rng.choice(["0", "-0", "1.5", "1e21", "1E-7", "123456789012345678901", "0.1"])
            if kind in (2, 3):
                return json.dumps("".join(rng.choice(pieces) for _ in range(rng.randrange(4)))).replace("\\\\u", "\\u")
            if kind in (4, 5):
                return "[" + ",".join(gen(depth + 1) for _ in range(rng.randrange(4))) + "]"
            keys = [rng.choice(["0", "1", "2", "10", "01", "a", "b", "-1", "4294967295"]) for _ in range(rng.randrange(5))]
            return "{" + ",".join(f'"{k}":{gen(depth + 1)}' for k in keys) + "}"

        texts = [gen(0) for _ in range(2000)]
        script = (
            "const ls=require('fs').readFileSync(0,'utf8').split('\\n').filter(Boolean);"
            "console.log(ls.map(l=>JSON.stringify(JSON.parse(l))).join('\\n'))"
        )
        out = subprocess.run(
            ["node", "-e", script], input="\n".join(texts).encode(), stdout=subprocess.PIPE, check=True
        ).stdout.decode("utf-8").split("\n")
        for text, want in zip(texts, out):
            self.assertEqual(js_dumps(parse_item(text)), want, text)


def math_from_bits(bits: int) -> float:
    import struct

    return struct.unpack("<d", struct.pack("<Q", bits))[0]


class ParseAndEqualityTest(unittest.TestCase):
    def test_every_number_is_a_float(self) -> None:
        value = parse_item('[1, -0, 2.5, 123456789012345678901234567890, {"a": 3}]')
        self.assertEqual([type(v) for v in value[:4]], [float] * 4)
        self.assertEqual(type(value[4]["a"]), float)
        self.assertEqual(math.copysign(1, value[1]), -1.0)
        self.assertIs(parse_item("true"), True)
        self.assertEqual(parse_item("1e400"), float("inf"))

    def test_rejects_what_json_parse_rejects(self) -> None:
        for text in ["NaN", "Infinity", "-Infinity", "[1,]", "{'a':1}", "1 2", "", "01", '"\t"']:
            with self.subTest(text=text), self.assertRaises(ValueError):
                parse_item(text)

    def test_type_names(self) -> None:
        names = [ref.type_name(v) for v in [None, True, 1.0, "s", [], {}]]
        self.assertEqual(names, ["null", "boolean", "number", "string", "array", "object"])

    def test_json_equal(self) -> None:
        self.assertTrue(json_equal(1.0, 1))
        self.assertFalse(json_equal(True, 1.0))
        self.assertFalse(json_equal(False, 0.0))
        self.assertFalse(json_equal(None, False))
        self.assertTrue(json_equal(-0.0, 0.0))
        self.assertTrue(json_equal({"a": 1.0, "b": [1.0, {"c": None}]}, {"b": [1.0, {"c": None}], "a": 1.0}))
        self.assertFalse(json_equal({"a": 1.0}, {"a": 1.0, "b": 2.0}))
        self.assertFalse(json_equal([1.0, 2.0], [2.0, 1.0]))
        self.assertFalse(json_equal([True], [1.0]))
        self.assertFalse(json_equal("1", 1.0))
        self.assertFalse(json_equal([], {}))


# ----------------------------------------------------------------------------------------------------------------
# nodes


class CalculatorTest(unittest.TestCase):
    def test_operations(self) -> None:
        self.assertEqual(process("Calculator", 7.0, operation="add", operand=5), 12.0)
        self.assertEqual(process("Calculator", 7.0, operation="subtract", operand=5), 2.0)
        self.assertEqual(process("Calculator", 7.0, operation="multiply", operand=0.5), 3.5)
        self.assertEqual(process("Calculator", 7.0, operation="divide", operand=2), 3.5)
        self.assertEqual(process("Calculator", 2.0, operation="power", operand=10), 1024.0)
        self.assertEqual(process("Calculator", 0.1, operation="add", operand=0.2), 0.30000000000000004)

    def test_modulo_has_the_sign_of_the_dividend(self) -> None:
        self.assertEqual(process("Calculator", 7.0, operation="modulo", operand=3), 1.0)
        self.assertEqual(process("Calculator", -7.0, operation="modulo", operand=3), -1.0)
        self.assertEqual(process("Calculator", 7.0, operation="modulo", operand=-3), 1.0)
        self.assertEqual(process("Calculator", 5.5, operation="modulo", operand=2), 1.5)

    def test_errors_and_their_order(self) -> None:
        err = "error"
        self.assertEqual(process("Calculator", "7", operation="add", operand=1), (err, "expected a number, got string"))
        self.assertEqual(process("Calculator", True, operation="add", operand=1), (err, "expected a number, got boolean"))
        self.assertEqual(process("Calculator", None, operation="add", operand=1), (err, "expected a number, got null"))
        self.assertEqual(process("Calculator", [], operation="divide", operand=0), (err, "expected a number, got array"))
        self.assertEqual(process("Calculator", {}, operation="modulo", operand=0), (err, "expected a number, got object"))
        self.assertEqual(process("Calculator", 1.0, operation="divide", operand=0), (err, "division by zero"))
        self.assertEqual(process("Calculator", 0.0, operation="divide", operand=-0.0), (err, "division by zero"))
        self.assertEqual(process("Calculator", 1.0, operation="modulo", operand=0), (err, "modulo by zero"))
        not_finite = (err, "result is not a finite number")
        self.assertEqual(process("Calculator", 1e308, operation="multiply", operand=10), not_finite)
        self.assertEqual(process("Calculator", 10.0, operation="power", operand=400), not_finite)
        self.assertEqual(process("Calculator", -8.0, operation="power", operand=1 / 3), not_finite)
        self.assertEqual(process("Calculator", 0.0, operation="power", operand=-1), not_finite)
        self.assertEqual(process("Calculator", float("inf"), operation="add", operand=1), not_finite)
        self.assertEqual(process("Calculator", float("inf"), operation="modulo", operand=2), not_finite)
        # JavaScript: 1 ** Infinity is NaN (C's pow says 1)
        self.assertEqual(process("Calculator", 1.0, operation="power", operand=float("inf")), not_finite)


class TextTransformTest(unittest.TestCase):
    def t(self, operation: str, value: Any) -> Any:
        return process("TextTransform", value, operation=operation)

    def test_operations(self) -> None:
        self.assertEqual(self.t("uppercase", "straße"), "STRASSE")
        self.assertEqual(self.t("lowercase", "ÀB"), "àb")
        self.assertEqual(self.t("reverse", "ab\U0001f600c"), "c\U0001f600ba")
        self.assertEqual(self.t("title", "hello wORLD 2nd"), "Hello World 2Nd")
        self.assertEqual(self.t("title", "they're o'neil"), "They'Re O'Neil")
        self.assertEqual(self.t("length", "h\U0001f600é"), 3.0)
        self.assertIs(type(self.t("length", "")), float)

    def test_strip_uses_the_documented_whitespace(self) -> None:
        ws = "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u200a\u2028\u2029\u202f\u205f\u3000"
        self.assertEqual(self.t("strip", ws + "a b" + ws), "a b")
        # zero-width space and BOM are not whitespace for str.isspace
        self.assertEqual(self.t("strip", "\u200b a \ufeff"), "\u200b a \ufeff")

    def test_type_error(self) -> None:
        self.assertEqual(self.t("uppercase", 1.0), ("error", "expected a string, got number"))
        self.assertEqual(self.t("length", None), ("error", "expected a string, got null"))


class BufferTest(unittest.TestCase):
    def test_batches_and_flush(self) -> None:
        b = ref.NODE_TYPES["Buffer"]("b", {"buffer_size": 2.0})
        self.assertIs(b.process(1.0), DROP)
        self.assertEqual(b.process(None), [1.0, None])
        self.assertIs(b.process(3.0), DROP)
        self.assertEqual(b.flush(), [[3.0]])
        self.assertFalse(b.flush())


class FilterTest(unittest.TestCase):
    def f(self, item: Any, **params: Any) -> Any:
        out = process("Filter", item, **params)
        return "drop" if out is DROP else out

    def test_comparisons(self) -> None:
        self.assertEqual(self.f(3.0, op="gt", value=2), 3.0)
        self.assertEqual(self.f(2.0, op="gt", value=2), "drop")
        self.assertEqual(self.f(2.0, op="ge", value=2), 2.0)
        self.assertEqual(self.f(1.0, op="lt", value=2), 1.0)
        self.assertEqual(self.f(2.0, op="le", value=2), 2.0)
        self.assertEqual(self.f(3.0, op="le", value=2), "drop")
        self.assertEqual(self.f("3", op="gt", value=2), ("error", "expected a number, got string"))

    def test_equality(self) -> None:
        self.assertEqual(self.f({"a": 1.0, "b": 2.0}, op="eq", value={"b": 2, "a": 1}), {"a": 1.0, "b": 2.0})
        self.assertEqual(self.f(True, op="eq", value=1), "drop")
        self.assertEqual(self.f(None, op="eq", value=None), None)  # null passes through as null
        self.assertEqual(self.f(1.0, op="ne", value=True), 1.0)
        self.assertEqual(self.f(1.0, op="ne", value=1), "drop")

    def test_even_odd(self) -> None:
        self.assertEqual(self.f(4.0, op="even"), 4.0)
        self.assertEqual(self.f(-4.0, op="even"), -4.0)
        self.assertEqual(self.f(3.0, op="even"), "drop")
        self.assertEqual(self.f(-3.0, op="odd"), -3.0)
        self.assertEqual(self.f(2.5, op="odd"), "drop")
        self.assertEqual(self.f(2.5, op="even"), "drop")
        self.assertEqual(self.f(1e300, op="even"), 1e300)
        self.assertEqual(self.f(False, op="odd"), ("error", "expected a number, got boolean"))

    def test_contains(self) -> None:
        self.assertEqual(self.f("haystack", op="contains", value="st"), "haystack")
        self.assertEqual(self.f("haystack", op="contains", value="x"), "drop")
        self.assertEqual(self.f([1.0, {"a": None}], op="contains", value={"a": None}), [1.0, {"a": None}])
        self.assertEqual(self.f([1.0], op="contains", value=True), "drop")
        self.assertEqual(self.f("abc", op="contains", value=1), ("error", "cannot search a string for a value of type number"))
        self.assertEqual(self.f(1.0, op="contains", value="a"), ("error", "expected a string or an array, got number"))


class AccumulatorTest(unittest.TestCase):
    def feed(self, operation: str, items: List[Any]) -> List[Any]:
        acc = ref.NODE_TYPES["Accumulator"]("a", {"operation": operation})
        out = []
        for item in items:
            try:
                out.append(acc.process(item))
            except ItemError as exc:
                out.append(str(exc))
        return out

    def test_operations(self) -> None:
        self.assertEqual(self.feed("sum", [1.0, 2.5, -1.0]), [1.0, 3.5, 2.5])
        self.assertEqual(self.feed("count", [1.0, "a", None, []]), [1.0, 2.0, 3.0, 4.0])
        self.assertEqual(self.feed("mean", [1.0, 2.0, 6.0]), [1.0, 1.5, 3.0])
        self.assertEqual(self.feed("min", [3.0, 1.0, 2.0]), [3.0, 1.0, 1.0])
        self.assertEqual(self.feed("max", [3.0, 1.0, 4.0]), [3.0, 3.0, 4.0])

    def test_rejected_items_do_not_change_the_state(self) -> None:
        bad = "expected a number, got string"
        self.assertEqual(self.feed("mean", [2.0, "x", 4.0]), [2.0, bad, 3.0])
        self.assertEqual(self.feed("sum", [True, 1.0]), ["expected a number, got boolean", 1.0])


# ----------------------------------------------------------------------------------------------------------------
# pipelines


class Recorder(ref.Node):
    """Test node: records its lifecycle; outputs each item twice through a generator; 'boom' fails."""

    type_name = "Recorder"
    PARAMS = {"fail_flush": ref.Param("any")}
    events: List[str] = []

    def initialize(self) -> None:
        Recorder.events.append(f"init {self.id}")

    def process(self, item: Any) -> Any:
        if item == "boom":
            raise ItemError("boom!")

        def twice():
            yield item
            yield item

        return twice()

    def flush(self):
        Recorder.events.append(f"flush {self.id}")
        if self.params.get("fail_flush"):
            raise ItemError("flush failed")
        return ["flushed"]

    def cleanup(self) -> None:
        Recorder.events.append(f"cleanup {self.id}")


class PipelineTestCase(unittest.TestCase):
    def setUp(self) -> None:
        ref.NODE_TYPES["Recorder"] = Recorder
        Recorder.events = []

    def tearDown(self) -> None:
        ref.NODE_TYPES.pop("Recorder", None)


class GraphTest(PipelineTestCase):
    def test_range_chain(self) -> None:
        m = chain(
            node("src", "DataSource", range={"start": 0, "stop": 5}),
            node("add5", "CalculatorNode", operation="add", operand=5),
            node("sink", "DataSink"),
        )
        self.assertEqual(outputs_of(m), [5.0, 6.0, 7.0, 8.0, 9.0])

    def test_ranges(self) -> None:
        def rng(**r: Any) -> List[Any]:
            return outputs_of(manifest([node("s", "DataSource", range=r)]))

        self.assertEqual(rng(stop=3), [0.0, 1.0, 2.0])
        self.assertEqual(rng(start=5, stop=0, step=-2), [5.0, 3.0, 1.0])
        self.assertEqual(rng(start=0, stop=0.35, step=0.1), [0.0, 0.1, 0.2, 0.30000000000000004])
        self.assertEqual(rng(start=3, stop=3), [])
        self.assertEqual(rng(start=0, stop=2, step=-1), [])

    def test_items_and_null_pass_through(self) -> None:
        m = chain(
            node("src", "DataSource", items=[None, 1, "a", [None], {"k": None}, False]),
            node("p", "PassThrough"),
            node("sink", "DataSink"),
        )
        self.assertEqual(dumps_all(outputs_of(m)), ["null", "1", '"a"', "[null]", '{"k":null}', "false"])

    def test_fan_out_delivers_to_every_successor_in_order(self) -> None:
        m = manifest(
            [
                node("src", "DataSource", items=[1, 2, 3]),
                node("a", "Calculator", operation="add", operand=10),
                node("b", "Calculator", operation="add", operand=20),
            ],
            [("src", "a"), ("src", "b")],
        )
        out = outputs_of(m)
        self.assertEqual(sorted(out), [11.0, 12.0, 13.0, 21.0, 22.0, 23.0])
        self.assertEqual([v for v in out if v < 20], [11.0, 12.0, 13.0])
        self.assertEqual([v for v in out if v > 20], [21.0, 22.0, 23.0])

    def test_fan_in_takes_items_from_every_predecessor(self) -> None:
        m = manifest(
            [
                node("s1", "DataSource", items=list(range(50))),
                node("s2", "DataSource", items=list(range(100, 150))),
                node("sink", "DataSink"),
            ],
            [("s1", "sink"), ("s2", "sink")],
        )
        out = outputs_of(m)
        self.assertEqual(sorted(out), [float(i) for i in list(range(50)) + list(range(100, 150))])
        self.assertEqual([v for v in out if v < 100], [float(i) for i in range(50)])

    def test_fan_in_node_flushes_once_after_all_predecessors_end(self) -> None:
        m = manifest(
            [
                node("s1", "DataSource", items=[1, 2, 3]),
                node("s2", "DataSource", items=[4, 5]),
                node("buf", "Buffer", buffer_size=10),
            ],
            [("s1", "buf"), ("s2", "buf")],
        )
        out = outputs_of(m)
        self.assertEqual(len(out), 1)
        self.assertEqual(sorted(out[0]), [1.0, 2.0, 3.0, 4.0, 5.0])

    def test_diamond(self) -> None:
        m = manifest(
            [
                node("src", "DataSource", items=[1, 2]),
                node("a", "PassThrough"),
                node("b", "Calculator", operation="multiply", operand=-1),
                node("acc", "Accumulator", operation="count"),
            ],
            [("src", "a"), ("src", "b"), ("a", "acc"), ("b", "acc")],
        )
        self.assertEqual(outputs_of(m), [1.0, 2.0, 3.0, 4.0])

    def test_output_nodes_and_several_terminals(self) -> None:
        src = node("src", "DataSource", items=[1, 2])
        mid = dict(node("mid", "Calculator", operation="add", operand=1), is_output_node=True)
        m = manifest(
            [src, mid, node("end", "Calculator", operation="multiply", operand=10), node("other", "PassThrough")],
            [("src", "mid"), ("mid", "end"), ("src", "other")],
        )
        self.assertEqual(sorted(outputs_of(m)), [1.0, 2.0, 2.0, 3.0, 20.0, 30.0])

    def test_source_alone_is_the_output(self) -> None:
        self.assertEqual(outputs_of(manifest([node("s", "DataSource", items=["x"])])), ["x"])

    def test_flush_outputs_reach_successors_before_they_flush(self) -> None:
        m = chain(
            node("src", "DataSource", items=[1, 2, 3]),
            node("b1", "Buffer", buffer_size=2),
            node("b2", "Buffer", buffer_size=3),
            node("sink", "DataSink"),
        )
        self.assertEqual(outputs_of(m), [[[1.0, 2.0], [3.0]]])

    def test_buffer_batches(self) -> None:
        m = chain(node("src", "DataSource", range={"stop": 7}), node("b", "Buffer", buffer_size=3), node("k", "DataSink"))
        self.assertEqual(dumps_all(outputs_of(m)), ["[0,1,2]", "[3,4,5]", "[6]"])

    def test_generator_outputs_lifecycle_and_topological_flush(self) -> None:
        m = chain(node("src", "DataSource", items=[1, 2]), node("r1", "Recorder"), node("r2", "Recorder"))
        self.assertEqual(outputs_of(m), [1.0, 1.0, 1.0, 1.0, 2.0, 2.0, 2.0, 2.0, "flushed", "flushed", "flushed"])
        self.assertEqual(
            Recorder.events, ["init r1", "init r2", "flush r1", "flush r2", "cleanup r1", "cleanup r2"]
        )

    def test_long_chain_keeps_order_with_small_queues(self) -> None:
        specs = [node("src", "DataSource", range={"stop": 3000})]
        specs += [node(f"p{i}", "PassThrough") for i in range(5)]
        specs.append(node("sink", "DataSink"))
        m = chain(*specs, settings={"queue_capacity": 3})
        self.assertEqual(outputs_of(m), [float(i) for i in range(3000)])

    def test_file_source_relative_to_base_dir(self) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            with open(os.path.join(tmp, "data.jsonl"), "w", encoding="utf-8") as f:
                f.write('1\n\n{"a":2}\nnope\n"é"')
            m = manifest([node("src", "DataSource", file="data.jsonl")])
            outputs, result = run(m, on_error="skip", base_dir=tmp)
        self.assertIsNone(result.failure)
        self.assertEqual(
            outputs,
            [1.0, {"a": 2.0}, error_record("src", "DataSource", 2, "invalid JSON on input line 4", "nope"), "é"],
        )


class InputStreamTest(PipelineTestCase):
    def test_no_data_source_every_entry_node_receives_every_item(self) -> None:
        m = manifest(
            [node("a", "Calculator", operation="add", operand=1), node("b", "TextTransform", operation="length")]
        )
        out, result = run(m, ['"xy"', "2"], on_error="skip")
        self.assertIsNone(result.failure)
        self.assertCountEqual(
            dumps_all(out),
            [
                js_dumps(error_record("a", "Calculator", 0, "expected a number, got string", "xy")),
                "3",
                "2",
                js_dumps(error_record("b", "TextTransform", 1, "expected a string, got number", 2.0)),
            ],
        )

    def test_data_source_without_params_reads_the_input(self) -> None:
        m = chain(node("src", "DataSource"), node("sink", "DataSink"))
        self.assertEqual(outputs_of(m, ["1", '{"b":1,"0":2}', "[]"]), [1.0, {"b": 1.0, "0": 2.0}, []])

    def test_two_parameterless_sources_both_read_every_item(self) -> None:
        m = manifest(
            [node("s1", "DataSource"), node("s2", "DataSource"), node("sink", "DataSink")],
            [("s1", "sink"), ("s2", "sink")],
        )
        self.assertEqual(sorted(outputs_of(m, ["1", "2"])), [1.0, 1.0, 2.0, 2.0])

    def test_bad_lines_are_item_errors_of_the_reading_node(self) -> None:
        lines = ["1", "", "   ", "{oops", "2\r", "bad\r", "3"]
        out, result = run(chain(node("src", "DataSource"), node("sink", "DataSink")), lines, on_error="skip")
        self.assertIsNone(result.failure)
        self.assertEqual(
            out,
            [
                1.0,
                error_record("src", "DataSource", 1, "invalid JSON on input line 4", "{oops"),
                2.0,
                error_record("src", "DataSource", 3, "invalid JSON on input line 6", "bad"),
                3.0,
            ],
        )

    def test_bad_line_of_an_entry_node(self) -> None:
        m = manifest([node("p", "PassThrough")])
        out, result = run(m, ["1", "", "x y", "null"], on_error="skip")
        self.assertEqual(out, [1.0, error_record("p", "PassThrough", 1, "invalid JSON on input line 3", "x y"), None])
        out, result = run(m, ["1", "", "x y", "null"])
        self.assertEqual(out, [1.0])
        self.assertEqual(result.failure, error_record("p", "PassThrough", 1, "invalid JSON on input line 3", "x y"))

    def test_nan_and_infinity_lines_are_not_json(self) -> None:
        out, _ = run(manifest([node("p", "PassThrough")]), ["NaN", "1e999"], on_error="skip")
        self.assertEqual(out[0]["$error"]["message"], "invalid JSON on input line 1")
        self.assertEqual(js_dumps(out[1]), "null")  # 1e999 parses to Infinity, which JSON.stringify writes as null


class ErrorPolicyTest(PipelineTestCase):
    def test_skip_records_travel_the_first_connection_and_pass_a_buffer_at_once(self) -> None:
        m = chain(
            node("src", "DataSource", items=[1, "x", 2, 3]),
            node("calc", "Calculator", operation="add", operand=5),
            node("buf", "Buffer", buffer_size=2),
            node("sink", "DataSink"),
        )
        out = outputs_of(m, on_error="skip")
        self.assertEqual(out, [error_record("calc", "Calculator", 1, "expected a number, got string", "x"), [6.0, 7.0], [8.0]])

    def test_skip_records_are_not_processed_nor_counted(self) -> None:
        m = chain(
            node("src", "DataSource", items=[1, "x", 2]),
            node("calc", "Calculator", operation="add", operand=5),
            node("text", "TextTransform", operation="uppercase"),
        )
        out = outputs_of(m, on_error="skip")
        self.assertEqual(
            out,
            [
                error_record("text", "TextTransform", 0, "expected a string, got number", 6.0),
                error_record("calc", "Calculator", 1, "expected a number, got string", "x"),
                error_record("text", "TextTransform", 1, "expected a string, got number", 7.0),
            ],
        )

    def test_skip_record_goes_along_the_first_connection_only(self) -> None:
        m = manifest(
            [
                node("src", "DataSource", items=["x", 1]),
                node("calc", "Calculator", operation="add", operand=1),
                node("first", "PassThrough"),
                node("second", "PassThrough"),
                node("end", "DataSink"),
            ],
            [("src", "calc"), ("calc", "first"), ("calc", "second"), ("first", "end")],
        )
        out = outputs_of(m, on_error="skip")
        records = [v for v in out if isinstance(v, dict)]
        self.assertEqual(records, [error_record("calc", "Calculator", 0, "expected a number, got string", "x")])
        self.assertEqual(sorted(v for v in out if not isinstance(v, dict)), [2.0, 2.0])

    def test_skip_from_settings_and_cli_override(self) -> None:
        m = chain(node("src", "DataSource", items=["x"]), node("c", "Calculator", operation="add", operand=1),
                  settings={"on_error": "skip"})
        self.assertEqual(len(outputs_of(m)), 1)
        out, result = run(m, on_error="fail")
        self.assertEqual(out, [])
        self.assertIsNotNone(result.failure)

    def test_fail_stops_keeps_earlier_outputs_and_does_not_flush(self) -> None:
        m = chain(
            node("src", "DataSource", items=[1, 2, 3, "x", 5, 6]),
            node("calc", "Calculator", operation="add", operand=1),
            node("buf", "Buffer", buffer_size=2),
            node("sink", "DataSink"),
        )
        out, result = run(m)
        self.assertEqual(out, [[2.0, 3.0]])
        self.assertEqual(result.failure, error_record("calc", "Calculator", 3, "expected a number, got string", "x"))
        self.assertFalse(result.ok)

    def test_fail_on_a_chain_outputs_exactly_the_items_before(self) -> None:
        m = chain(
            node("src", "DataSource", range={"stop": 5000}),
            node("div", "Calculator", operation="divide", operand=2),
            node("f", "Filter", op="lt", value=1000),  # drops the big ones...
            node("c", "Calculator", operation="modulo", operand=7),
            node("t", "TextTransform", operation="length"),  # ...and this fails on the first that reaches it
            node("sink", "DataSink"),
            settings={"queue_capacity": 4},
        )
        out, result = run(m)
        self.assertEqual(out, [])
        self.assertEqual(result.failure["$error"]["item_index"], 0)

    def test_fail_cleanup_runs_and_nothing_is_flushed(self) -> None:
        m = chain(node("src", "DataSource", items=[1, "boom", 2]), node("r", "Recorder"), node("sink", "DataSink"))
        out, result = run(m)
        self.assertEqual(out, [1.0, 1.0])
        self.assertEqual(result.failure, error_record("r", "Recorder", 1, "boom!", "boom"))
        self.assertEqual(Recorder.events, ["init r", "cleanup r"])

    def test_flush_error_has_no_index_and_no_item(self) -> None:
        m = chain(node("src", "DataSource", items=[1]), dict(node("r", "Recorder", fail_flush=True)),
                  node("sink", "DataSink"))
        out, result = run(m, on_error="skip")
        self.assertEqual(out, [1.0, 1.0, error_record("r", "Recorder", None, "flush failed")])
        out, result = run(m)
        self.assertEqual(result.failure, error_record("r", "Recorder", None, "flush failed"))


class QueuePolicyTest(PipelineTestCase):
    def policy_run(self, policy: str, level: str = "node") -> Tuple[List[Any], Dict[str, Any]]:
        sink = node("sink", "DataSink")
        settings = {"queue_capacity": 2, "queue_policy": policy}
        if level == "node":
            sink["settings"] = settings
            m = chain(node("src", "DataSource", range={"stop": 10}), sink)
        else:
            m = chain(node("src", "DataSource", range={"stop": 10}), sink, settings=settings)
        out, result = run(m)
        return out, result.stats

    def test_block_loses_nothing(self) -> None:
        out, stats = self.policy_run("block")
        self.assertEqual(out, [float(i) for i in range(10)])
        self.assertEqual(stats["sink"]["dropped"], 0)

    def test_drop_newest(self) -> None:
        # The source never waits on a drop queue, so it outruns the sink: the queue keeps the first two.
        out, stats = self.policy_run("drop_newest")
        self.assertEqual(out, [0.0, 1.0])
        self.assertEqual(stats["sink"]["dropped"], 8)
        self.assertEqual(stats["sink"]["received"], 2)

    def test_drop_oldest(self) -> None:
        out, stats = self.policy_run("drop_oldest", level="pipeline")
        self.assertEqual(out, [8.0, 9.0])
        self.assertEqual(stats["sink"]["dropped"], 8)

    def test_end_of_stream_is_never_dropped(self) -> None:
        m = manifest(
            [
                node("a", "DataSource", range={"stop": 20}),
                node("b", "DataSource", range={"start": 100, "stop": 120}),
                dict(node("acc", "Accumulator", operation="count"),
                     settings={"queue_capacity": 1, "queue_policy": "drop_oldest"}),
            ],
            [("a", "acc"), ("b", "acc")],
        )
        out, result = run(m)  # would hang if an end-of-stream marker were dropped
        self.assertEqual(len(out) + result.stats["acc"]["dropped"], 40)

    def test_drop_oldest_does_not_drop_a_queued_end_of_stream(self) -> None:
        # 'empty' ends at once: its end-of-stream marker fills the 1-slot queue before 'many' sends anything.
        m = manifest(
            [
                node("empty", "DataSource", items=[]),
                node("many", "DataSource", range={"stop": 5}),
                dict(node("sink", "DataSink"), settings={"queue_capacity": 1, "queue_policy": "drop_oldest"}),
            ],
            [("empty", "sink"), ("many", "sink")],
        )
        outputs, result = asyncio.run(asyncio.wait_for(ref.run_pipeline(m), 10))
        self.assertIsNone(result.failure)
        self.assertEqual(outputs[-1], 4.0)


# ----------------------------------------------------------------------------------------------------------------
# validation


class ValidationTest(unittest.TestCase):
    def assertProblem(self, m: Any, path: str, fragment: str) -> None:
        problems = problems_of(m)
        matching = [msg for p, msg in problems if p == path]
        self.assertTrue(matching, f"no problem at {path}: {problems}")
        self.assertTrue(any(fragment in msg for msg in matching), f"{fragment!r} not in {matching}")

    def valid(self) -> Dict[str, Any]:
        return chain(node("src", "DataSource", items=[1]), node("c", "Calculator", operation="add", operand=1),
                     node("sink", "DataSink"))

    def with_node(self, index: int, **fields: Any) -> Dict[str, Any]:
        """The valid manifest with these fields of node `index` set."""
        m = self.valid()
        m["nodes"][index].update(fields)
        return m

    def without_node_field(self, index: int, field: str) -> Dict[str, Any]:
        """The valid manifest without this field of node `index`."""
        m = self.valid()
        del m["nodes"][index][field]
        return m

    def with_connection(self, connection: Dict[str, Any]) -> Dict[str, Any]:
        """The valid manifest with one more connection (it is connections[2])."""
        m = self.valid()
        m["connections"].append(connection)
        return m

    def test_valid_manifest_has_no_problems(self) -> None:
        self.assertEqual(problems_of(self.valid()), [])
        m = self.valid()
        m.update({"$schema": "x", "settings": {"queue_capacity": 8, "queue_policy": "drop_oldest", "on_error": "skip"}})
        m["metadata"]["description"] = "d"
        m["metadata"]["author"] = "kept"
        m["nodes"][1].update(
            runtime_hint="auto", is_streaming=True, is_output_node=False, capabilities={}, media_capabilities={},
            host="h", execution={}, docker={}, python_deps=[], metadata={}, settings={"queue_capacity": 1},
        )
        m["nodes"][1]["node_type"] = "CalculatorNode"
        self.assertEqual(problems_of(m), [])

    def test_top_level(self) -> None:
        self.assertProblem({"metadata": {"name": "x"}, "nodes": [node("a", "PassThrough")]}, "$.version", "missing")
        self.assertProblem(dict(self.valid(), version="v2"), "$.version", '"v1"')
        self.assertProblem(dict(self.valid(), version=1), "$.version", '"v1"')
        self.assertProblem(dict(self.valid(), metadata={}), "$.metadata.name", "missing")
        self.assertProblem(dict(self.valid(), metadata={"name": ""}), "$.metadata.name", "non-empty")
        self.assertProblem({"version": "v1", "nodes": [node("a", "PassThrough")]}, "$.metadata", "missing")
        self.assertProblem({"version": "v1", "metadata": {"name": "x"}}, "$.nodes", "missing")
        self.assertProblem(dict(self.valid(), nodes=[]), "$.nodes", "at least one")
        self.assertProblem(dict(self.valid(), pipeline=1), "$.pipeline", "unknown field")
        self.assertEqual(problems_of([1]), [("$", "a manifest must be an object, got array")])

    def test_settings(self) -> None:
        self.assertProblem(dict(self.valid(), settings={"queue_capacity": 0}), "$.settings.queue_capacity", ">= 1")
        self.assertProblem(dict(self.valid(), settings={"queue_capacity": 1.5}), "$.settings.queue_capacity", ">= 1")
        self.assertProblem(dict(self.valid(), settings={"queue_policy": "lifo"}), "$.settings.queue_policy", "lifo")
        self.assertProblem(dict(self.valid(), settings={"on_error": "retry"}), "$.settings.on_error", "retry")
        self.assertProblem(dict(self.valid(), settings={"bogus": 1}), "$.settings.bogus", "unknown")
        self.assertProblem(self.with_node(2, settings={"on_error": "skip"}), "$.nodes[2].settings.on_error", "unknown")

    def test_nodes(self) -> None:
        self.assertProblem(self.without_node_field(1, "id"), "$.nodes[1].id", "missing")
        self.assertProblem(self.without_node_field(1, "node_type"), "$.nodes[1].node_type", "missing")
        self.assertProblem(self.with_node(2, id="c"), "$.nodes[2].id", "duplicate node id 'c'")
        self.assertProblem(self.with_node(1, node_type="Calculater"), "$.nodes[1].node_type",
                           "did you mean 'Calculator'?")
        self.assertProblem(self.with_node(1, node_type="textransformnode"), "$.nodes[1].node_type", "did you mean")
        self.assertProblem(self.with_node(1, nodetype="x"), "$.nodes[1].nodetype", "unknown field")
        self.assertProblem(self.with_node(1, is_output_node="yes"), "$.nodes[1].is_output_node", "boolean")

    def test_params(self) -> None:
        def with_calc(**params: Any) -> Dict[str, Any]:
            m = self.valid()
            m["nodes"][1]["params"] = params
            return m

        self.assertProblem(with_calc(operation="plus", operand=1), "$.nodes[1].params.operation", "unknown operation")
        self.assertProblem(with_calc(operation="add", operand="1"), "$.nodes[1].params.operand", "number")
        self.assertProblem(with_calc(operation="add", operand=True), "$.nodes[1].params.operand", "got boolean")
        self.assertProblem(with_calc(operation="add"), "$.nodes[1].params.operand", "missing required")
        self.assertProblem(with_calc(operation="add", operand=1, extra=2), "$.nodes[1].params.extra", "unknown param")
        self.assertProblem(self.with_node(1, params=[1]), "$.nodes[1].params", "object")
        self.assertProblem(self.without_node_field(1, "params"), "$.nodes[1].params.operation", "missing required")

    def test_node_specific_params(self) -> None:
        def single(spec: Dict[str, Any]) -> Dict[str, Any]:
            return manifest([spec])

        self.assertProblem(single(node("b", "Buffer", buffer_size=0)), "$.nodes[0].params.buffer_size", ">= 1")
        self.assertProblem(single(node("b", "Buffer", buffer_size=2.5)), "$.nodes[0].params.buffer_size", ">= 1")
        self.assertProblem(single(node("b", "Buffer")), "$.nodes[0].params.buffer_size", "missing")
        self.assertProblem(single(node("t", "TextTransform", operation="upper")), "$.nodes[0].params.operation", "upper")
        self.assertProblem(single(node("a", "Accumulator", operation="avg")), "$.nodes[0].params.operation", "avg")
        self.assertProblem(single(node("f", "Filter", op="gt")), "$.nodes[0].params.value", "missing")
        self.assertProblem(single(node("f", "Filter", op="gt", value="1")), "$.nodes[0].params.value", "number")
        self.assertProblem(single(node("f", "Filter", op="between", value=1)), "$.nodes[0].params.op", "between")
        self.assertEqual(problems_of(single(node("f", "Filter", op="even"))), [])
        self.assertEqual(problems_of(single(node("f", "Filter", op="contains", value=[1]))), [])
        self.assertProblem(single(node("p", "PassThrough", x=1)), "$.nodes[0].params.x", "unknown param")
        self.assertProblem(
            single(node("s", "DataSource", items=[], range={"stop": 1})), "$.nodes[0].params", "at most one"
        )
        self.assertProblem(single(node("s", "DataSource", range={"stop": 1, "step": 0})),
                           "$.nodes[0].params.range.step", "0")
        self.assertProblem(single(node("s", "DataSource", range={"start": 1})), "$.nodes[0].params.range.stop",
                           "missing")
        self.assertProblem(single(node("s", "DataSource", range={"stop": "9"})), "$.nodes[0].params.range.stop",
                           "number")
        self.assertProblem(single(node("s", "DataSource", range={"stop": 1, "end": 2})),
                           "$.nodes[0].params.range.end", "unknown")
        self.assertProblem(single(node("s", "DataSource", items={})), "$.nodes[0].params.items", "array")
        self.assertProblem(single(node("s", "DataSource", file=1)), "$.nodes[0].params.file", "string")

    def test_connections(self) -> None:
        self.assertProblem(self.with_connection({"from": "c", "to": "nowhere"}), "$.connections[2].to", "nowhere")
        self.assertProblem(self.with_connection({"from": "sourse", "to": "c"}), "$.connections[2].from", "sourse")
        self.assertProblem(self.with_connection({"from": "src", "to": "c"}), "$.connections[2]", "duplicate connection")
        self.assertProblem(self.with_connection({"from": "c", "to": "src"}), "$.connections[2].to",
                           "DataSource takes no incoming")
        m = self.valid()
        m["nodes"].append(node("after", "PassThrough"))
        m["connections"].append({"from": "sink", "to": "after"})
        self.assertProblem(m, "$.connections[2].from", "DataSink")
        m = self.valid()
        m["connections"][0]["label"] = "x"
        self.assertProblem(m, "$.connections[0].label", "unknown field")
        self.assertProblem(self.with_connection({"from": "c"}), "$.connections[2].to", "missing")

    def test_cycle_names_its_nodes(self) -> None:
        m = manifest(
            [node("a", "PassThrough"), node("b", "PassThrough"), node("c", "PassThrough"), node("d", "PassThrough")],
            [("a", "b"), ("b", "c"), ("c", "b"), ("c", "d")],
        )
        self.assertEqual(problems_of(m), [("$.connections[1]", "cycle: 'b' -> 'c' -> 'b'")])
        m = manifest([node("a", "PassThrough")], [("a", "a")])
        self.assertEqual(problems_of(m), [("$.connections[0]", "cycle: 'a' -> 'a'")])

    def test_unreachable_nodes(self) -> None:
        m = manifest(
            [node("src", "DataSource", items=[1]), node("a", "PassThrough"), node("lonely", "PassThrough")],
            [("src", "a")],
        )
        self.assertEqual(problems_of(m), [("$.nodes[2]", "node 'lonely' is not reachable from any DataSource")])
        # Without a DataSource, nodes without inputs are entry points.
        self.assertEqual(problems_of(manifest([node("a", "PassThrough"), node("b", "PassThrough")])), [])

    def test_collects_every_problem(self) -> None:
        m = {"version": "v0", "nodes": [node("a", "Nope"), node("a", "Buffer")], "connections": [{"from": "x"}]}
        paths = [p for p, _ in problems_of(m)]
        for path in ["$.version", "$.metadata", "$.nodes[0].node_type", "$.nodes[1].id",
                     "$.nodes[1].params.buffer_size", "$.connections[0].from", "$.connections[0].to"]:
            self.assertIn(path, paths)


class ManifestFileTest(TempDirMixin, unittest.TestCase):
    def test_problem_positions_in_json(self) -> None:
        text = (
            '{\n'
            '  "version": "v1",\n'
            '  "metadata": {"name": "p"},\n'
            '  "nodes": [\n'
            '    {"id": "c", "node_type": "Calculator",\n'
            '     "params": {"operation": "plus", "operand": 1, "x": 2}}\n'
            '  ]\n'
            '}\n'
        )
        path = self.write("m.json", text)
        with self.assertRaises(ref.ManifestError) as ctx:
            ref.load_manifest(path)
        got = {(p.path, p.line, p.column) for p in ctx.exception.problems}
        self.assertEqual(got, {("$.nodes[0].params.operation", 6, 30), ("$.nodes[0].params.x", 6, 52)})

    def test_missing_field_points_at_its_parent(self) -> None:
        path = self.write("m.json", '{"version": "v1",\n "metadata": {},\n "nodes": [{"id": "a", "node_type": "PassThrough"}]}')
        with self.assertRaises(ref.ManifestError) as ctx:
            ref.load_manifest(path)
        (problem,) = ctx.exception.problems
        self.assertEqual((problem.path, problem.line, problem.column), ("$.metadata.name", 2, 14))

    def test_invalid_json(self) -> None:
        path = self.write("m.json", '{"version": "v1",\n  "nodes": [,]}')
        with self.assertRaises(ref.ManifestError) as ctx:
            ref.load_manifest(path)
        (problem,) = ctx.exception.problems
        self.assertEqual((problem.path, problem.line), ("$", 2))
        self.assertIn("invalid JSON", problem.message)

    def test_manifest_numbers_become_floats(self) -> None:
        path = self.write("m.json", manifest([node("s", "DataSource", items=[1, True, {"a": 2}])]))
        m, _ = ref.load_manifest(path)
        self.assertEqual([type(v) for v in m["nodes"][0]["params"]["items"]], [float, bool, dict])

    @unittest.skipUnless(ref._yaml_module() is not None, "PyYAML is not installed")
    def test_yaml_manifest(self) -> None:
        path = self.write(
            "m.yaml",
            "version: v1\nmetadata:\n  name: y\nnodes:\n  - id: s\n    node_type: DataSource\n"
            "    params: { items: [1, yes, 2001-01-01, true] }\n  - id: c\n    node_type: CalculatorNode\n"
            "    params: { operation: plus, operand: 1 }\n",
        )
        with self.assertRaises(ref.ManifestError) as ctx:
            ref.load_manifest(path)
        problems = {(p.path, p.line, p.column) for p in ctx.exception.problems}
        self.assertIn(("$.nodes[1].params.operation", 10, 26), problems)
        self.assertIn(("$.nodes[1]", 8, 5), problems)  # not reachable
        with open(path, encoding="utf-8") as f:
            m, _ = ref.parse_manifest_text(f.read(), path)
        self.assertEqual(m["nodes"][0]["params"]["items"], [1.0, "yes", "2001-01-01", True])


# ----------------------------------------------------------------------------------------------------------------
# CLI


class CliTest(TempDirMixin, unittest.TestCase):
    def chain_file(self, *specs: Dict[str, Any], **top: Any) -> str:
        return self.write("m.json", chain(*specs, **top))

    def test_run_stdin_to_stdout(self) -> None:
        path = self.chain_file(node("c", "Calculator", operation="multiply", operand=0.5), node("k", "DataSink"))
        proc = cli("run", path, stdin=b'1\n\n3\n1e21\n4e21\n-0\n1e-6\n')
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(proc.stdout, b"0.5\n1.5\n500000000000000000000\n2e+21\n0\n5e-7\n")
        self.assertEqual(proc.stderr, b"")

    def test_run_files_and_unicode(self) -> None:
        path = self.chain_file(node("t", "TextTransform", operation="uppercase"))
        inp = self.write("in.jsonl", '"straße"\n"é\\u0001"\n')
        out = os.path.join(self.tmp, "out.jsonl")
        proc = cli("run", path, "--input", inp, "--output", out)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        with open(out, "rb") as f:
            self.assertEqual(f.read(), '"STRASSE"\n"É\\u0001"\n'.encode("utf-8"))

    def test_run_failure_exit_1(self) -> None:
        path = self.chain_file(node("div", "Calculator", operation="divide", operand=0), node("k", "DataSink"))
        proc = cli("run", path, stdin=b'{"b":1,"0":2}\n')
        self.assertEqual(proc.returncode, 1)
        self.assertEqual(proc.stdout, b"")
        self.assertEqual(
            proc.stderr.decode().splitlines(),
            ["error PL_ERR_NODE_FAILED: node 'div' (Calculator) failed on item 0: expected a number, got object",
             '{"0":2,"b":1}'],
        )

    def test_run_failure_keeps_earlier_outputs(self) -> None:
        path = self.chain_file(node("div", "Calculator", operation="divide", operand=2), node("k", "DataSink"))
        proc = cli("run", path, stdin=b'4\n6\n"x"\n8\n')
        self.assertEqual(proc.returncode, 1)
        self.assertEqual(proc.stdout, b"2\n3\n")
        self.assertIn(b"failed on item 2: expected a number, got string", proc.stderr)

    def test_failure_does_not_wait_for_more_input(self) -> None:
        path = self.chain_file(node("div", "Calculator", operation="divide", operand=0))
        p = subprocess.Popen([sys.executable, SCRIPT, "run", path], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
        try:
            p.stdin.write(b"1\n")
            p.stdin.flush()  # and keep stdin open
            deadline = time.time() + 10
            while p.poll() is None and time.time() < deadline:
                time.sleep(0.02)
            self.assertEqual(p.poll(), 1)
            self.assertIn(b"failed on item 0: division by zero", p.stderr.read())
        finally:
            if p.poll() is None:
                p.kill()
            p.stdin.close()
            p.stdout.close()
            p.stderr.close()

    def test_on_error_skip(self) -> None:
        path = self.chain_file(node("div", "Calculator", operation="divide", operand=0))
        proc = cli("run", path, "--on-error", "skip", stdin=b"7\n")
        self.assertEqual(proc.returncode, 0)
        self.assertEqual(
            proc.stdout,
            b'{"$error":{"node":"div","node_type":"Calculator","item_index":0,"message":"division by zero","item":7}}\n',
        )

    def test_invalid_manifest_exit_2(self) -> None:
        path = self.chain_file(node("c", "Calculator", operation="plus", operand=1))
        proc = cli("run", path, stdin=b"1\n")
        self.assertEqual(proc.returncode, 2)
        self.assertEqual(proc.stdout, b"")
        self.assertIn(b"$.nodes[0].params.operation", proc.stderr)
        self.assertIn(b"PL_ERR_MANIFEST_INVALID", proc.stderr)

    def test_usage_errors_exit_2(self) -> None:
        self.assertEqual(cli("run").returncode, 2)
        self.assertEqual(cli("frobnicate", "x").returncode, 2)
        path = self.chain_file(node("p", "PassThrough"))
        self.assertEqual(cli("run", path, "--on-error", "ignore").returncode, 2)
        self.assertEqual(cli("run", os.path.join(self.tmp, "missing.json")).returncode, 2)
        self.assertEqual(cli("run", path, "--input", os.path.join(self.tmp, "missing.jsonl")).returncode, 2)

    def test_validate(self) -> None:
        good = self.chain_file(node("p", "PassThrough"))
        proc = cli("validate", good)
        self.assertEqual((proc.returncode, proc.stdout), (0, b"ok\n"))
        bad = self.write("bad.json", '{"version": "v1", "metadata": {"name": "x"},\n "nodes": [{"id": "a"}]}')
        proc = cli("validate", bad)
        self.assertEqual(proc.returncode, 2)
        self.assertIn(f"{bad}:2:12: $.nodes[0].node_type: missing required field 'node_type'".encode(), proc.stdout)

    def test_stats(self) -> None:
        path = self.chain_file(node("p", "PassThrough"))
        proc = cli("run", path, "--stats", stdin=b"1\n2\n")
        self.assertEqual(json.loads(proc.stderr)["stats"]["p"]["received"], 2)

    @unittest.skipUnless(hasattr(signal, "SIGINT") and os.name == "posix", "needs POSIX signals")
    def test_sigint_drains_flushes_and_exits_130(self) -> None:
        path = self.chain_file(node("b", "Buffer", buffer_size=3), node("k", "DataSink"))
        first, code, out, err = interrupt_after_first_line(path, b"1\n2\n3\n4\n")
        self.assertEqual(first, b"[1,2,3]\n")  # written while the input is still open
        self.assertEqual(code, 130, err)
        self.assertEqual(out, b"[4]\n")


class BenchTest(TempDirMixin, unittest.TestCase):
    def bench(self, *args: str) -> Dict[str, Any]:
        proc = cli("bench", *args)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        lines = proc.stdout.decode().splitlines()
        self.assertEqual(len(lines), 1)
        return json.loads(lines[0])

    def test_run_mode_report(self) -> None:
        m = self.write("m.json", chain(node("s", "DataSource", range={"stop": 1000}),
                                        node("c", "Calculator", operation="add", operand=5), node("k", "DataSink")))
        report = self.bench(m, "--samples", "3", "--warmup", "2")
        self.assertEqual(
            list(report),
            ["runtime", "python_version", "implementation", "mode", "samples_ns", "warmup", "output_count",
             "outputs_sha256", "peak_rss_kb"],
        )
        self.assertEqual(report["runtime"], "cpython")
        self.assertEqual(report["python_version"], ".".join(map(str, sys.version_info[:3])))
        self.assertEqual(report["mode"], "run")
        self.assertEqual(report["warmup"], 2)
        self.assertEqual(len(report["samples_ns"]), 3)
        self.assertTrue(all(isinstance(s, int) and s > 0 for s in report["samples_ns"]))
        self.assertEqual(report["output_count"], 1000)
        run_out = cli("run", m).stdout
        self.assertEqual(report["outputs_sha256"], hashlib.sha256(run_out).hexdigest())
        self.assertGreater(report["peak_rss_kb"], 1000)

    def test_input_and_concurrency(self) -> None:
        m = self.write("m.json", chain(node("s", "DataSource"), node("t", "TextTransform", operation="reverse")))
        inp = self.write("in.jsonl", '"abc"\n\n"xy"\n')
        report = self.bench(m, "--samples", "2", "--concurrent", "3", "--input", inp)
        self.assertEqual(report["output_count"], 2)
        self.assertEqual(report["outputs_sha256"], hashlib.sha256(b'"cba"\n"yx"\n').hexdigest())

    def test_init_mode(self) -> None:
        m = self.write("m.json", chain(node("s", "DataSource", range={"stop": 10}), node("k", "DataSink")))
        report = self.bench(m, "--samples", "2", "--mode", "init")
        self.assertEqual(report["mode"], "init")
        self.assertEqual(report["output_count"], 0)
        self.assertEqual(report["outputs_sha256"], hashlib.sha256(b"").hexdigest())

    def test_invalid_and_failing(self) -> None:
        bad = self.write("bad.json", {"version": "v1"})
        self.assertEqual(cli("bench", bad, "--samples", "1").returncode, 2)
        self.assertEqual(cli("bench", bad).returncode, 2)  # --samples is required
        failing = self.write("f.json", chain(node("s", "DataSource", items=["x"]),
                                             node("c", "Calculator", operation="add", operand=1)))
        proc = cli("bench", failing, "--samples", "1")
        self.assertEqual(proc.returncode, 1)
        self.assertIn(b"PL_ERR_NODE_FAILED", proc.stderr)


# ----------------------------------------------------------------------------------------------------------------
# Python nodes (docs/python-nodes.md)


def pynode(node_id: str, code: Optional[str] = None, **params: Any) -> Dict[str, Any]:
    """A python node spec; ``hint`` sets runtime_hint, ``cls`` the param 'class'."""
    hint = params.pop("hint", None)
    if "cls" in params:
        params["class"] = params.pop("cls")
    if code is not None:
        params["code"] = code
    spec = node(node_id, "python", **params)
    if hint is not None:
        spec["runtime_hint"] = hint
    return spec


def py_outputs(code: str, items: List[Any], on_error: Optional[str] = "skip", **params: Any) -> List[Any]:
    """Outputs of source(items) -> python(code) (terminal), as JSON lines."""
    m = chain(node("s", "DataSource", items=items), pynode("p", code, **params))
    outputs, result = run(m, on_error=on_error)
    assert result.ok, (result.failure, result.init_error)
    return dumps_all(outputs)


IDENTITY = "class Same:\n    def process(self, x):\n        return x\n"


class PythonValidationTest(TempDirMixin, unittest.TestCase):
    def problems(self, *specs: Dict[str, Any], base_dir: str = ".") -> List[Tuple[str, str]]:
        m = ref.normalize_manifest(manifest(list(specs)))
        return [(p.path, p.message) for p in ref.validate_manifest(m, base_dir=base_dir)]

    def test_registered_names(self) -> None:
        self.assertIs(ref.NODE_TYPES["python"], ref.PythonNode)
        self.assertIs(ref.NODE_TYPES["PythonNode"], ref.PythonNode)
        self.assertEqual(ref.PythonNode.type_name, "Python")
        self.assertEqual(self.problems(pynode("a", IDENTITY)), [])
        self.assertEqual(self.problems(dict(pynode("a", IDENTITY), node_type="PythonNode")), [])
        self.assertEqual(
            self.problems(dict(pynode("a", IDENTITY), node_type="Python")),
            [("$.nodes[0].node_type", "unknown node_type 'Python'; did you mean 'python'?")],
        )

    def test_code_or_module(self) -> None:
        self.assertEqual(self.problems(node("a", "python")),
                         [("$.nodes[0].params", "one of code, module is required for python")])
        self.assertEqual(self.problems(pynode("a", IDENTITY, module="x.py")),
                         [("$.nodes[0].params", "code and module cannot both be given")])
        self.assertEqual(self.problems(pynode("a", None, module="missing.py", cls="X")),
                         [("$.nodes[0].params.module", "module file 'missing.py' does not exist")])
        self.assertEqual(self.problems(pynode("a", None, module=".", cls="X")),
                         [("$.nodes[0].params.module", "module '.' is a folder")])
        self.write("same.py", IDENTITY)
        self.assertEqual(self.problems(pynode("a", None, module="same.py"), base_dir=self.tmp),
                         [("$.nodes[0].params.class", "missing required param 'class' for python (with module)")])
        self.assertEqual(self.problems(pynode("a", None, module="same.py", cls="Same"), base_dir=self.tmp), [])

    def test_param_types(self) -> None:
        self.assertEqual(
            self.problems(pynode("a", IDENTITY, init=[1], stateless="yes", timeout="30x", extra=1)),
            [
                ("$.nodes[0].params.init", "expected an object, got array"),
                ("$.nodes[0].params.extra", "unknown param 'extra' for Python"),
                ("$.nodes[0].params.stateless", "expected a boolean, got string"),
                ("$.nodes[0].params.timeout",
                 'expected a duration such as 30s, 500ms or 2m (or a number of seconds), got "30x"'),
            ],
        )
        self.assertEqual(self.problems(pynode("a", 42)), [("$.nodes[0].params.code", "expected a string, got number")])
        for timeout in ("30s", "500ms", "2m", "1.5s", 10, 0.5):
            self.assertEqual(self.problems(pynode("a", IDENTITY, timeout=timeout, stateless=True, init={})), [])
        for timeout in ("0s", -1, 0, "s", "30", True):
            self.assertEqual(len(self.problems(pynode("a", IDENTITY, timeout=timeout))), 1, timeout)

    def test_syntax_errors_with_message_and_line(self) -> None:
        # (Python's own messages: these are Python 3.10+'s; 3.9 words them differently)
        colon = "expected ':'" if sys.version_info >= (3, 10) else "invalid syntax"
        self.assertEqual(
            self.problems(pynode("a", "class A:\n    def process(self, x)\n        return x\n")),
            [("$.nodes[0].params.code", f"SyntaxError: {colon} (line 2)")],
        )
        indent = "expected an indented block"
        if sys.version_info >= (3, 10):
            indent += " after function definition on line 2"
        self.assertEqual(
            self.problems(pynode("a", "class A:\n    def process(self, x):\n    return x\n")),
            [("$.nodes[0].params.code", f"IndentationError: {indent} (line 3)")],
        )
        # compile-time errors that ast.parse alone accepts
        self.assertEqual(self.problems(pynode("a", "return 1\n")),
                         [("$.nodes[0].params.code", "SyntaxError: 'return' outside function (line 1)")])
        self.write("bad.py", "\n\nclass B(:\n    pass\n")
        problems = self.problems(pynode("a", None, module="bad.py", cls="B"), base_dir=self.tmp)
        self.assertEqual(len(problems), 1)
        self.assertEqual(problems[0][0], "$.nodes[0].params.module")
        self.assertTrue(problems[0][1].startswith("SyntaxError: ") and problems[0][1].endswith("(line 3)"), problems)

    def test_class_selection(self) -> None:
        two = IDENTITY + "class Other:\n    def process(self, x):\n        return 1\n"
        self.assertEqual(self.problems(pynode("a", two)), [
            ("$.nodes[0].params.code", "several classes define process() (Same, Other); name one with the param 'class'")
        ])
        self.assertEqual(self.problems(pynode("a", two, cls="Other")), [])
        self.assertEqual(self.problems(pynode("a", IDENTITY, cls="Missing")),
                         [("$.nodes[0].params.class", "class 'Missing' is not defined by the code")])
        self.assertEqual(self.problems(pynode("a", "class A:\n    pass\n", cls="A")),
                         [("$.nodes[0].params.class", "class 'A' has no process() method")])
        self.assertEqual(self.problems(pynode("a", "x = 1\n")),
                         [("$.nodes[0].params.code", "no class in the code defines process()")])
        # helpers without process (also exception classes) do not count; process may be inherited or assigned
        helpers = "class Err(ValueError):\n    pass\nclass Conf:\n    n = 1\n"
        self.assertEqual(self.problems(pynode("a", helpers + IDENTITY)), [])
        inherited = IDENTITY + "class Child(Same):\n    pass\n"
        self.assertEqual(self.problems(pynode("a", inherited, cls="Child")), [])
        self.assertEqual(self.problems(pynode("a", "class A:\n    process = print\n")), [])
        # a base from elsewhere may provide process(): not a problem at validation
        self.assertEqual(self.problems(pynode("a", "from abc import ABC\nclass A(ABC):\n    pass\n")), [])
        self.assertEqual(self.problems(pynode("a", "if True:\n    class A:\n        def process(self, x): pass\n")), [])
        # classes nested in functions or classes are not the module's
        self.assertEqual(self.problems(pynode("a", "def f():\n    class A:\n        def process(self, x): pass\n")),
                         [("$.nodes[0].params.code", "no class in the code defines process()")])

    def test_runtime_hints(self) -> None:
        for hint in ("cpython", "pyodide", "auto", "cpython_wasm"):
            self.assertEqual(self.problems(pynode("a", IDENTITY, hint=hint)), [], hint)
        self.assertEqual(self.problems(pynode("a", IDENTITY, hint="rust_python")),
                         [("$.nodes[0].runtime_hint", "runtime_hint rust_python is not supported")])
        self.assertEqual(
            self.problems(pynode("a", IDENTITY, hint="wasm")),
            [("$.nodes[0].runtime_hint", 'unknown runtime_hint "wasm"; expected one of cpython, pyodide, auto, '
                                         "cpython_wasm")],
        )
        self.assertEqual(self.problems(pynode("a", IDENTITY, hint=3)),
                         [("$.nodes[0].runtime_hint", "expected a string, got number")])

    def test_pyodide_hint_and_imports(self) -> None:
        code = (
            "import json, os.path\nfrom collections import deque\nimport numpy.linalg as la\n"
            "from . import sibling\n"
            "class A:\n    def process(self, x):\n        import subprocess\n        from threading import Thread\n"
            "        import numpy\n        return x\n"
        )
        head = "runtime_hint pyodide cannot run this code: it imports"
        expected = [
            ("$.nodes[0].runtime_hint", f"{head} numpy (not in the standard library)"),
            ("$.nodes[0].runtime_hint", f"{head} subprocess (not available in Pyodide)"),
            ("$.nodes[0].runtime_hint", f"{head} threading (not available in Pyodide)"),
        ]
        self.assertEqual(self.problems(pynode("a", code, hint="pyodide")), expected)
        self.assertEqual(
            self.problems(pynode("a", code, hint="cpython_wasm")),
            [(path, message.replace("runtime_hint pyodide", "runtime_hint cpython_wasm")) for path, message in expected],
        )
        for hint in ("cpython", "auto"):
            self.assertEqual(self.problems(pynode("a", code, hint=hint)), [])
        for module in ("multiprocessing", "socket", "ctypes"):
            self.assertEqual(
                self.problems(pynode("a", f"import {module}.x\n" + IDENTITY, hint="pyodide")),
                [("$.nodes[0].runtime_hint",
                  f"runtime_hint pyodide cannot run this code: it imports {module} (not available in Pyodide)")],
            )
        self.assertEqual(self.problems(pynode("a", "import asyncio, math, __future__\n" + IDENTITY, hint="pyodide")), [])

    def test_stdlib_fallback_for_python_3_9(self) -> None:
        names = getattr(sys, "stdlib_module_names", None)
        try:
            if names is not None:
                del sys.stdlib_module_names
            fallback = ref._stdlib_modules()
        finally:
            if names is not None:
                sys.stdlib_module_names = names
        for name in ("json", "asyncio", "subprocess", "__future__", "_thread", "tomllib", "formatter", "zoneinfo"):
            self.assertIn(name, fallback)
        self.assertNotIn("numpy", fallback)
        if names is not None and sys.version_info[:2] in ((3, 10), (3, 11)):
            self.assertEqual(set(names) - fallback, set())

    def test_module_relative_to_the_manifest_folder(self) -> None:
        os.mkdir(os.path.join(self.tmp, "lib"))
        self.write("lib/same.py", IDENTITY)
        path = self.write("m.json", chain(node("s", "DataSource", items=[1]),
                                          pynode("p", None, module="lib/same.py", cls="Same")))
        ref.load_manifest(path)  # no problem, whatever the working directory
        self.assertEqual(cli("validate", path).stdout, b"ok\n")


class PythonValuesTest(unittest.TestCase):
    def test_into_python(self) -> None:
        to = ref._to_python
        for value, want in [(3.0, 3), (-0.0, 0), (2.0**53, 2**53), (-(2.0**53), -(2**53)), (1e3, 1000)]:
            self.assertIs(type(to(value)), int)
            self.assertEqual(to(value), want)
        for value in (3.5, 2.0**53 + 2, -(2.0**53) - 2, 1e300):
            self.assertIs(type(to(value)), float)
        self.assertEqual(to([1.0, {"a": 2.5, "b": [3.0]}, True, None, "x"]), [1, {"a": 2.5, "b": [3]}, True, None, "x"])
        self.assertIs(type(to([1.0])[0]), int)
        self.assertIs(to(True), True)

    def test_out_of_python(self) -> None:
        out = ref._from_python
        self.assertIs(type(out(3)), float)
        self.assertEqual(out(2**53 + 1), 2.0**53)  # nearest double (ties to even)
        self.assertEqual(out(2**53 + 3), 2.0**53 + 4)
        self.assertEqual(js_dumps(out(-(2**60))), "-1152921504606847000")  # JSON.stringify(-(2**60))
        self.assertEqual(out((1, (2, None), [True])), [1.0, [2.0, None], [True]])
        self.assertIs(out([True])[0], True)
        self.assertEqual(out({"a": 1}), {"a": 1.0})
        self.assertEqual(out(b"\x00\xff"), b"\x00\xff")
        self.assertEqual(js_dumps(b"\x01\x02"), '{"0":1,"1":2}')  # JSON.stringify(Uint8Array)
        for value, type_ in [(float("nan"), "float"), (float("inf"), "float"), ({1: "a"}, "dict"), ({1, 2}, "set"),
                             (object(), "object"), (1j, "complex"), ([{"a": {None: 1}}], "dict"), (10**400, "int"),
                             (range(2), "range")]:
            with self.assertRaises(ItemError) as ctx:
                out(value)
            self.assertEqual(str(ctx.exception), f"cannot send a {type_} out of a Python node")
            self.assertIsNone(ctx.exception.extra)

    def test_subclasses_send_their_plain_values(self) -> None:
        import collections
        import enum

        class Color(enum.IntEnum):
            RED = 1

        class Name(str, enum.Enum):
            A = "a"

        Point = collections.namedtuple("Point", "x y")
        value = ref._from_python([Color.RED, Name.A, Point(1, 2), collections.OrderedDict(b=1, a=2),
                                  collections.defaultdict(list, k=[1]), bytearray(b"\x01")])
        self.assertEqual(js_dumps(value), '[1,"a",[1,2],{"b":1,"a":2},{"k":[1]},{"0":1}]')
        self.assertEqual([type(v) for v in value[:3]], [float, str, list])

    def test_outputs_are_copies(self) -> None:
        code = ("class Grow:\n    def __init__(self):\n        self.seen = []\n"
                "    def process(self, x):\n        self.seen.append(x)\n        yield self.seen\n        yield self.seen\n")
        self.assertEqual(py_outputs(code, [1, 2]), ["[1]", "[1]", "[1,2]", "[1,2]"])

    def test_inputs_are_copies(self) -> None:
        # fan-out: a Python node that changes its input does not change what the other branch receives
        m = manifest(
            [node("s", "DataSource", items=[[1]]), pynode("p", "class M:\n    def process(self, x):\n"
                                                                "        x.append(2)\n        return x\n"),
             node("k", "PassThrough")],
            [("s", "p"), ("s", "k")],
        )
        self.assertEqual(sorted(dumps_all(outputs_of(m))), ["[1,2]", "[1]"])


class PythonExecutionTest(TempDirMixin, unittest.TestCase):
    def test_sync_value_and_none(self) -> None:
        code = "class Half:\n    def process(self, x):\n        if x % 2 == 0:\n            return x // 2\n"
        self.assertEqual(py_outputs(code, [1, 2, 3, 4, 10.0]), ["1", "2", "5"])

    def test_generator_and_async_generator(self) -> None:
        gen = "class G:\n    def process(self, n):\n        for i in range(n):\n            yield i\n        yield None\n"
        self.assertEqual(py_outputs(gen, [2, 0]), ["0", "1", "null", "null"])
        agen = ("import asyncio\nclass G:\n    async def process(self, n):\n        for i in range(n):\n"
                "            await asyncio.sleep(0)\n            yield [i]\n")
        self.assertEqual(py_outputs(agen, [2, 0, 1]), ["[0]", "[1]", "[0]"])

    def test_async_process_and_initialize_keep_order(self) -> None:
        code = ("import asyncio\nclass A:\n    async def initialize(self):\n        await asyncio.sleep(0.001)\n"
                "        self.k = 10\n    async def process(self, x):\n        await asyncio.sleep(0.001 * (5 - x))\n"
                "        return None if x == 3 else x * self.k\n")
        m = chain(node("s", "DataSource", items=[1, 2, 3, 4]), pynode("a", code), pynode("b", code),
                  node("k", "DataSink"))
        # later items finish their sleep first, but each node takes them one at a time, in order
        self.assertEqual(dumps_all(outputs_of(m)), ["100", "200", "400"])

    def test_flush_variants(self) -> None:
        base = "class F:\n    def __init__(self):\n        self.n = 0\n    def process(self, x):\n        self.n += 1\n"
        self.assertEqual(py_outputs(base + "    def flush(self):\n        return [self.n]\n", [7, 8]), ["[2]"])
        self.assertEqual(py_outputs(base + "    def flush(self):\n        return None\n", [7]), [])
        self.assertEqual(py_outputs(base + "    def flush(self):\n        yield 1\n        yield 2\n", [7]), ["1", "2"])
        self.assertEqual(py_outputs(base + "    async def flush(self):\n        return self.n\n", [7]), ["1"])
        self.assertEqual(py_outputs(base + "    async def flush(self):\n        yield 'a'\n", []), ['"a"'])
        self.assertEqual(py_outputs(base, [7]), [])  # no flush

    def test_flush_outputs_reach_successors(self) -> None:
        code = "class F:\n    def process(self, x):\n        return None\n    def flush(self):\n        return 41\n"
        m = chain(node("s", "DataSource", items=[1]), pynode("f", code),
                  node("c", "Calculator", operation="add", operand=1), node("k", "DataSink"))
        self.assertEqual(dumps_all(outputs_of(m)), ["42"])

    def test_init_kwargs_are_mapped(self) -> None:
        code = ("class K:\n    def __init__(self, a, b=0, c=None):\n        self.args = (a, b, c)\n"
                "    def process(self, x):\n        return [type(v).__name__ for v in self.args] + [self.args[2]]\n")
        self.assertEqual(py_outputs(code, [0], init={"a": 3, "b": 0.5, "c": {"n": [2]}}),
                         ['["int","float","dict",{"n":[2]}]'])

    def test_item_error_record_with_traceback_last(self) -> None:
        code = ("def helper(x):\n    return 10 / x\n\nclass D:\n    def process(self, x):\n"
                "        return [helper(x) for _ in range(1)][0] if False else helper(x)\n")
        outputs, result = run(chain(node("s", "DataSource", items=[2, 0]), pynode("div", code)), on_error="skip")
        self.assertEqual(outputs[0], 5.0)
        error = outputs[1]["$error"]
        self.assertEqual(list(error), ["node", "node_type", "item_index", "message", "item", "traceback"])
        self.assertEqual(error["node_type"], "Python")
        self.assertEqual(error["message"], "ZeroDivisionError: division by zero")
        self.assertEqual(
            error["traceback"],
            'Traceback (most recent call last):\n  File "<node div>", line 6, in process\n'
            '  File "<node div>", line 2, in helper\nZeroDivisionError: division by zero\n',
        )

    def test_errors_of_every_process_kind(self) -> None:
        kinds = {
            "sync": "    def process(self, x):\n        raise KeyError(x)\n",
            "async": "    async def process(self, x):\n        raise KeyError(x)\n",
            "gen": "    def process(self, x):\n        yield 1\n        raise KeyError(x)\n",
            "agen": "    async def process(self, x):\n        yield 1\n        raise KeyError(x)\n",
        }
        for kind, body in kinds.items():
            lines = py_outputs("class E:\n" + body, ["k"])
            self.assertEqual(len(lines), 1, kind)  # a failing generator's earlier outputs are not sent
            error = json.loads(lines[0])["$error"]
            self.assertEqual(error["message"], "KeyError: 'k'", kind)
            self.assertTrue(error["traceback"].endswith(", in process\nKeyError: 'k'\n"), (kind, error["traceback"]))

    def test_custom_exception_and_system_exit(self) -> None:
        code = ("class Bad(Exception):\n    pass\nclass E:\n    def process(self, x):\n        if x:\n"
                "            raise Bad('no ' + str(x))\n        raise SystemExit(3)\n")
        messages = [json.loads(line)["$error"]["message"] for line in py_outputs(code, [1, 0])]
        self.assertEqual(messages, ["Bad: no 1", "SystemExit: 3"])

    def test_empty_exception_message_is_written_as_python_does(self) -> None:
        error = json.loads(py_outputs("class E:\n    def process(self, x):\n        raise ValueError()\n", [1])[0])
        self.assertEqual(error["$error"]["message"], "ValueError")
        self.assertTrue(error["$error"]["traceback"].endswith("in process\nValueError\n"))

    def test_class_without_process_at_run_time(self) -> None:
        m = chain(node("s", "DataSource", items=[1]), pynode("p", "from abc import ABC\nclass A(ABC):\n    pass\n"))
        _, result = run(m)  # valid: ABC might have provided process()
        self.assertEqual(str(result.init_error), "node 'p' (Python) failed to initialise: TypeError: class 'A' has no "
                                                 "process() method")
        self.assertEqual(result.init_error.traceback, "")

    def test_unsendable_output_is_an_item_error_without_traceback(self) -> None:
        lines = py_outputs("class S:\n    def process(self, x):\n        return {x}\n", [1])
        self.assertEqual(lines, ['{"$error":{"node":"p","node_type":"Python","item_index":0,'
                                 '"message":"cannot send a set out of a Python node","item":1}}'])
        lines = py_outputs("class S:\n    def process(self, x):\n        yield 1\n        yield float('nan')\n", [1])
        self.assertEqual(json.loads(lines[0])["$error"]["message"], "cannot send a float out of a Python node")

    def test_flush_error_record(self) -> None:
        code = "class F:\n    def process(self, x):\n        pass\n    def flush(self):\n        return 1 / 0\n"
        outputs, result = run(chain(node("s", "DataSource", items=[]), pynode("f", code)), on_error="skip")
        self.assertEqual(js_dumps(outputs[0]), '{"$error":{"node":"f","node_type":"Python","item_index":null,'
                         '"message":"ZeroDivisionError: division by zero","traceback":"Traceback (most recent call '
                         'last):\\n  File \\"<node f>\\", line 5, in flush\\nZeroDivisionError: division by zero\\n"}}')

    def test_fail_policy_record_has_the_traceback(self) -> None:
        code = "class R:\n    def process(self, x):\n        return 1 / x\n"
        outputs, result = run(chain(node("s", "DataSource", items=[1, 0, 2]), pynode("div", code)))
        self.assertEqual(outputs, [1.0])
        self.assertEqual(result.failure["$error"]["item_index"], 1)
        self.assertIn("traceback", result.failure["$error"])

    def test_init_errors(self) -> None:
        cases = {
            "init": ("class A:\n    def __init__(self):\n        raise ValueError('bad init')\n"
                     "    def process(self, x):\n        return x\n",
                     "ValueError: bad init", ['  File "<node a>", line 3, in __init__']),
            "initialize": ("class A:\n    async def initialize(self):\n        {}['k']\n"
                           "    def process(self, x):\n        return x\n",
                           "KeyError: 'k'", ['  File "<node a>", line 3, in initialize']),
            "module": ("import no_such_module_here\n" + "class A:\n    def process(self, x):\n        return x\n",
                       "ModuleNotFoundError: No module named 'no_such_module_here'",
                       ['  File "<node a>", line 1, in <module>']),
            "kwargs": ("class A:\n    def process(self, x):\n        return x\n", None, []),
        }
        for name, (code, detail, frames) in cases.items():
            params = {"init": {"nope": 1}} if name == "kwargs" else {}
            m = chain(node("s", "DataSource", items=[1]), pynode("a", code, **params), node("k", "DataSink"))
            outputs, result = run(m)
            self.assertEqual(outputs, [], name)
            error = result.init_error
            self.assertIsInstance(error, ref.NodeInitError, name)
            self.assertFalse(result.ok)
            if detail is None:
                self.assertTrue(error.detail.startswith("TypeError: "), error.detail)
                continue
            self.assertEqual(error.detail, detail, name)
            self.assertEqual(str(error), f"node 'a' (Python) failed to initialise: {detail}")
            self.assertEqual(error.traceback,
                             "Traceback (most recent call last):\n" + "".join(f + "\n" for f in frames) + detail + "\n")

    def test_cleanup_always_runs(self) -> None:
        marker = os.path.join(self.tmp, "cleanup.txt")
        code = ("class C:\n    def __init__(self, path, fail=False):\n        self.path, self.fail = path, fail\n"
                "    def initialize(self):\n        if self.fail:\n            raise RuntimeError('no')\n"
                "    def process(self, x):\n        return 1 / x\n"
                "    async def cleanup(self):\n        with open(self.path, 'a') as f:\n            f.write('c')\n")
        for fail, items, on_error in [(False, [1], None), (False, [0], "fail"), (True, [1], None)]:
            m = chain(node("s", "DataSource", items=items), pynode("c", code, init={"path": marker, "fail": fail}))
            run(m, on_error=on_error)
        with open(marker) as f:
            self.assertEqual(f.read(), "ccc")

    def test_module_file_traceback_names_the_relative_path(self) -> None:
        os.mkdir(os.path.join(self.tmp, "nodes"))
        self.write("nodes/boom.py", "import os\n\nclass Boom:\n    def process(self, x):\n"
                                    "        return [os.path.basename(__file__), 1 / x]\n")
        m = chain(node("s", "DataSource", items=[2, 0]), pynode("b", None, module="nodes/boom.py", cls="Boom"))
        self.assertEqual(ref.validate_manifest(ref.normalize_manifest(m), base_dir=self.tmp), [])
        outputs, _ = asyncio.run(ref.run_pipeline(m, on_error="skip", base_dir=self.tmp))
        self.assertEqual(outputs[0], ["boom.py", 0.5])
        self.assertEqual(outputs[1]["$error"]["traceback"],
                         'Traceback (most recent call last):\n  File "nodes/boom.py", line 5, in process\n'
                         "ZeroDivisionError: division by zero\n")

    def test_dataclasses_and_future_annotations_work(self) -> None:
        code = ("from __future__ import annotations\nfrom dataclasses import dataclass, asdict\n\n@dataclass\n"
                "class P:\n    x: int\n    y: list[int]\n\nclass N:\n    def process(self, x):\n"
                "        return asdict(P(x, [x]))\n")
        self.assertEqual(py_outputs(code, [1]), ['{"x":1,"y":[1]}'])
        self.assertEqual([m for m in sys.modules if m.startswith("pitlane.nodes.")], [])  # gone after the run

    def test_code_is_not_compiled_with_the_executors_future_flags(self) -> None:
        code = "class A:\n    def process(self, x) -> 'unused':\n        return str(A.process.__annotations__)\n"
        self.assertEqual(py_outputs(code, [1]), ['"{\'return\': \'unused\'}"'])
        code = "class A:\n    def process(self, x) -> int:\n        return str(A.process.__annotations__)\n"
        self.assertEqual(py_outputs(code, [1]), ['"{\'return\': <class \'int\'>}"'])

    def test_runtime_hint_cpython_runs_subprocess(self) -> None:
        code = ("import subprocess, sys\nclass S:\n    def process(self, x):\n        return subprocess.run("
                "[sys.executable, '-c', 'print(6 * 7)'], capture_output=True, text=True).stdout.strip()\n")
        self.assertEqual(py_outputs(code, [0], hint="cpython"), ['"42"'])

    def test_mixed_chain_and_order_with_small_queues(self) -> None:
        m = chain(
            node("s", "DataSource", range={"stop": 200}),
            node("c", "Calculator", operation="add", operand=1),
            pynode("p", "import asyncio\nclass P:\n    async def process(self, x):\n"
                        "        await asyncio.sleep(0)\n        return x * 2\n"),
            node("k", "Accumulator", operation="count"),
            settings={"queue_capacity": 2},
        )
        self.assertEqual(dumps_all(outputs_of(m)), [str(i) for i in range(1, 201)])


class PythonLoggingTest(TempDirMixin, unittest.TestCase):
    CODE = (
        "import logging, sys\nlog = logging.getLogger('n')\nprint('loading')\n"
        "class T:\n    def initialize(self):\n        print('ready', end='')\n        print('!')\n"
        "    def process(self, x):\n        print('item', x, 'of', 'two')\n        log.info('info %s', x)\n"
        "        log.debug('hidden')\n        logging.warning('warn\\nsecond line')\n"
        "        sys.stdout.write('partial ')\n        return x\n"
        "    def cleanup(self):\n        print('end', end='')\n"
    )

    def test_print_and_logging_go_to_stderr_tagged(self) -> None:
        path = self.write("m.json", chain(node("s", "DataSource", items=[1, 2]), pynode("talk", self.CODE)))
        proc = cli("run", path)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(proc.stdout, b"1\n2\n")
        self.assertEqual(
            proc.stderr.decode().splitlines(),
            [
                "[python:talk] INFO loading",
                "[python:talk] INFO ready!",
                "[python:talk] INFO item 1 of two",
                "[python:talk] INFO info 1",
                "[python:talk] WARNING warn",
                "[python:talk] WARNING second line",
                "[python:talk] INFO partial item 2 of two",
                "[python:talk] INFO info 2",
                "[python:talk] WARNING warn",
                "[python:talk] WARNING second line",
                "[python:talk] INFO partial end",
            ],
        )

    def test_state_is_restored_after_a_run(self) -> None:
        import logging

        stdout, level, handlers = sys.stdout, logging.getLogger().level, list(logging.getLogger().handlers)
        m = chain(node("s", "DataSource", items=[1]), pynode("p", "class P:\n    def process(self, x):\n"
                                                                  "        print(x)\n        return x\n"))
        saved_stderr = sys.stderr
        sys.stderr = captured = __import__("io").StringIO()
        try:
            self.assertEqual(outputs_of(m), [1.0])
        finally:
            sys.stderr = saved_stderr
        self.assertEqual(captured.getvalue(), "[python:p] INFO 1\n")
        self.assertIs(sys.stdout, stdout)
        self.assertEqual(logging.getLogger().level, level)
        self.assertEqual(logging.getLogger().handlers, handlers)

    def test_two_nodes_are_told_apart(self) -> None:
        code = "import asyncio\nclass P:\n    async def process(self, x):\n        await asyncio.sleep(0)\n" \
               "        print('at', x)\n        return x\n"
        path = self.write("m.json", chain(node("s", "DataSource", items=[1]), pynode("a", code), pynode("b", code)))
        proc = cli("run", path)
        self.assertEqual(proc.stderr.decode().splitlines(), ["[python:a] INFO at 1", "[python:b] INFO at 1"])


class PythonCliTest(TempDirMixin, unittest.TestCase):
    def test_init_error_exit_1_with_traceback(self) -> None:
        code = "class S:\n    def __init__(self, factor):\n        raise ValueError(f'bad factor {factor}')\n" \
               "    def process(self, x):\n        return x\n"
        path = self.write("m.json", chain(node("s", "DataSource", items=[1]),
                                          pynode("scale", code, init={"factor": 0}), node("k", "DataSink")))
        proc = cli("run", path)
        self.assertEqual(proc.returncode, 1)
        self.assertEqual(proc.stdout, b"")
        self.assertEqual(
            proc.stderr.decode(),
            "error PL_ERR_NODE_INIT: node 'scale' (Python) failed to initialise: ValueError: bad factor 0\n"
            "Traceback (most recent call last):\n"
            '  File "<node scale>", line 3, in __init__\n'
            "ValueError: bad factor 0\n",
        )
        for mode in ("run", "init"):
            bench = cli("bench", path, "--samples", "1", "--mode", mode)
            self.assertEqual(bench.returncode, 1)
            self.assertIn(b"PL_ERR_NODE_INIT", bench.stderr)

    def test_fail_prints_the_traceback(self) -> None:
        path = self.write("m.json", chain(node("s", "DataSource", items=[2, 0]),
                                          pynode("div", "class R:\n    def process(self, x):\n        return 1 / x\n")))
        proc = cli("run", path)
        self.assertEqual(proc.returncode, 1)
        self.assertEqual(proc.stdout, b"0.5\n")
        self.assertEqual(
            proc.stderr.decode().splitlines(),
            ["error PL_ERR_NODE_FAILED: node 'div' (Python) failed on item 1: ZeroDivisionError: division by zero",
             "0", "Traceback (most recent call last):", '  File "<node div>", line 3, in process',
             "ZeroDivisionError: division by zero"],
        )

    def test_validate_reports_python_problems_with_positions(self) -> None:
        path = self.write("m.json", chain(node("s", "DataSource", items=[1]), pynode("p", "class A(:\n  pass\n")))
        proc = cli("validate", path)
        self.assertEqual(proc.returncode, 2)
        self.assertIn(b"$.nodes[1].params.code: SyntaxError: ", proc.stdout)

    def test_bench_with_python_nodes(self) -> None:
        code = "class P:\n    def process(self, x):\n        print(x)\n        return {'v': x, 't': type(x).__name__}\n"
        path = self.write("m.json", chain(node("s", "DataSource", range={"stop": 50}), pynode("p", code)))
        proc = cli("bench", path, "--samples", "2", "--concurrent", "2")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        report = json.loads(proc.stdout)
        self.assertEqual(report["output_count"], 50)
        self.assertEqual(report["outputs_sha256"], hashlib.sha256(cli("run", path).stdout).hexdigest())
        self.assertEqual(cli("bench", path, "--samples", "1", "--mode", "init").returncode, 0)

    def test_sigint_with_an_async_python_node(self) -> None:
        code = "import asyncio\nclass B:\n    def __init__(self):\n        self.items = []\n" \
               "    async def process(self, x):\n        await asyncio.sleep(0)\n        self.items.append(x)\n" \
               "        if len(self.items) == 2:\n            out, self.items = self.items, []\n            return out\n" \
               "    def flush(self):\n        return self.items or None\n"
        path = self.write("m.json", chain(node("s", "DataSource"), pynode("b", code)))
        first, code, out, err = interrupt_after_first_line(path, b"1\n2\n3\n")
        self.assertEqual(first, b"[1,2]\n")
        self.assertEqual(code, 130, err)
        self.assertEqual(out, b"[3]\n")


class ConformanceCorpusTest(unittest.TestCase):
    """Every case of test/conformance/ (docs in its README) on this executor, with this interpreter."""

    CORPUS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "test", "conformance")

    def run_case(self, name: str) -> List[str]:
        folder = os.path.join(self.CORPUS, name)
        with open(os.path.join(folder, "case.json"), encoding="utf-8") as f:
            spec = json.load(f)
        args = ["run", os.path.join(folder, "manifest.json")]
        if os.path.exists(os.path.join(folder, "input.jsonl")):
            args += ["--input", os.path.join(folder, "input.jsonl")]
        if "on_error" in spec:
            args += ["--on-error", spec["on_error"]]
        proc = cli(*args)
        with open(os.path.join(folder, "expected.jsonl"), "rb") as f:
            expected = f.read()
        problems = []
        if proc.returncode != spec.get("exit_code", 0):
            problems.append(f"exit code {proc.returncode}: {proc.stderr.decode()[-300:]}")
        if spec.get("ordered", True):
            same = proc.stdout == expected
        else:
            same = sorted(proc.stdout.decode().splitlines()) == sorted(expected.decode().splitlines())
        if not same:
            problems.append(f"stdout {proc.stdout!r}, expected {expected!r}")
        if "stderr_contains" in spec and spec["stderr_contains"].encode() not in proc.stderr:
            problems.append(f"stderr lacks {spec['stderr_contains']!r}: {proc.stderr.decode()[-300:]}")
        return problems

    def test_every_case(self) -> None:
        from concurrent.futures import ThreadPoolExecutor

        names = sorted(d for d in os.listdir(self.CORPUS) if os.path.exists(os.path.join(self.CORPUS, d, "case.json")))
        self.assertGreaterEqual(len(names), 25)
        with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
            results = dict(zip(names, pool.map(self.run_case, names)))
        failed = {name: problems for name, problems in results.items() if problems}
        self.assertEqual(failed, {})

    def test_python_cases_do_not_set_runtime_hint(self) -> None:
        for name in os.listdir(self.CORPUS):
            path = os.path.join(self.CORPUS, name, "manifest.json")
            if "-python-" not in name or not os.path.exists(path):
                continue
            with open(path, encoding="utf-8") as f:
                nodes = json.load(f)["nodes"]
            hints = [n["runtime_hint"] for n in nodes if "runtime_hint" in n]
            self.assertEqual(hints, ["cpython"] if "runtime-hint" in name else [], name)


if __name__ == "__main__":
    unittest.main()

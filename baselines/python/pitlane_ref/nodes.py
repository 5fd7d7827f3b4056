"""The built-in nodes of docs/pipelines.md: DataSource, DataSink, PassThrough, Calculator, TextTransform, Buffer,
Filter and Accumulator, with their param checks and JavaScript-exact arithmetic.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional

from .js_json import json_equal, type_name
from .node import DROP, ItemError, Node, Param, Report
from .problems import _child


def _expect_number(value: Any) -> None:
    raise ItemError(f"expected a number, got {type_name(value)}")


class DataSourceNode(Node):
    """Produces items: ``items``, ``range``, ``file`` (JSONL), or the input stream when it has no params."""

    type_name = "DataSource"
    PARAMS = {"items": Param("array"), "range": Param("object"), "file": Param("string")}

    @classmethod
    def validate_params(cls, params: Dict[str, Any], path: str, report: Report) -> None:
        super().validate_params(params, path, report)
        given = [name for name in ("items", "range", "file") if name in params]
        if len(given) > 1:
            report(path, f"at most one of items, range, file may be given (got {', '.join(given)})")
        rng = params.get("range")
        if type(rng) is dict:
            rpath = _child(path, "range")
            for name, value in rng.items():
                if name not in ("start", "stop", "step"):
                    report(_child(rpath, name), f"unknown field '{name}' in range", key=True)
                elif type_name(value) != "number":
                    report(_child(rpath, name), f"expected a number, got {type_name(value)}")
            if "stop" not in rng:
                report(_child(rpath, "stop"), "missing required field 'stop' in range")
            if type_name(rng.get("step")) == "number" and rng["step"] == 0:
                report(_child(rpath, "step"), "step must not be 0")

    @property
    def reads_input(self) -> bool:
        return not any(name in self.params for name in ("items", "range", "file"))

    def range_items(self) -> Iterator[float]:
        rng = self.params["range"]
        start = float(rng.get("start", 0.0))
        stop = float(rng["stop"])
        step = float(rng.get("step", 1.0))
        i = 0.0
        value = start
        if step > 0:
            while value < stop:
                yield value
                i += 1.0
                value = start + i * step
        else:
            while value > stop:
                yield value
                i += 1.0
                value = start + i * step


class DataSinkNode(Node):
    """Outputs each item unchanged; its items are the pipeline output."""

    type_name = "DataSink"


class PassThroughNode(Node):
    """Outputs each item unchanged."""

    type_name = "PassThrough"
    ALIASES = ("PassThroughNode", "PassthroughNode", "Echo", "EchoNode")  # RemoteMedia's names, as pitlane's


def _js_pow(x: float, y: float) -> float:
    if math.isinf(y) and abs(x) == 1.0:
        return math.nan  # JavaScript: (+-1) ** +-Infinity is NaN (C pow says 1)
    try:
        return math.pow(x, y)
    except (OverflowError, ValueError):
        return math.nan


class CalculatorNode(Node):
    """``x <operation> operand`` on numbers."""

    type_name = "Calculator"
    OPERATIONS = ("add", "subtract", "multiply", "divide", "power", "modulo")
    PARAMS = {"operation": Param("string", True, OPERATIONS), "operand": Param("number", True)}

    def __init__(self, node_id: str, params: Optional[Dict[str, Any]] = None):
        super().__init__(node_id, params)
        self.operation: str = self.params["operation"]
        self.operand: float = float(self.params["operand"])
        self._apply: Callable[[float, float], float] = getattr(self, "_" + self.operation)

    @staticmethod
    def _add(x: float, y: float) -> float:
        return x + y

    @staticmethod
    def _subtract(x: float, y: float) -> float:
        return x - y

    @staticmethod
    def _multiply(x: float, y: float) -> float:
        return x * y

    @staticmethod
    def _divide(x: float, y: float) -> float:
        if y == 0.0:
            raise ItemError("division by zero")
        return x / y

    @staticmethod
    def _modulo(x: float, y: float) -> float:
        if y == 0.0:
            raise ItemError("modulo by zero")
        try:
            return math.fmod(x, y)  # sign of the dividend, like JavaScript's %
        except ValueError:  # fmod(inf, y)
            return math.nan

    _power = staticmethod(_js_pow)

    def process(self, item: Any) -> Any:
        if type(item) is not float:
            _expect_number(item)
        result = self._apply(item, self.operand)
        if not math.isfinite(result):
            raise ItemError("result is not a finite number")
        return result


# str.isspace's set, as docs/pipelines.md lists it.
_WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680"
    "\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)


class TextTransformNode(Node):
    """String operations: uppercase, lowercase, reverse, strip, title, length."""

    type_name = "TextTransform"
    OPERATIONS = ("uppercase", "lowercase", "reverse", "strip", "title", "length")
    PARAMS = {"operation": Param("string", True, OPERATIONS)}

    _FUNCTIONS: Dict[str, Callable[[str], Any]] = {
        "uppercase": str.upper,
        "lowercase": str.lower,
        "reverse": lambda s: s[::-1],
        "strip": lambda s: s.strip(_WHITESPACE),
        "title": str.title,
        "length": lambda s: float(len(s)),
    }

    def __init__(self, node_id: str, params: Optional[Dict[str, Any]] = None):
        super().__init__(node_id, params)
        self._apply = self._FUNCTIONS[self.params["operation"]]

    def process(self, item: Any) -> Any:
        if type(item) is not str:
            raise ItemError(f"expected a string, got {type_name(item)}")
        return self._apply(item)


class BufferNode(Node):
    """Collects items into arrays of ``buffer_size``; flushes the rest as a shorter array."""

    type_name = "Buffer"
    PARAMS = {"buffer_size": Param("integer>=1", True)}

    def __init__(self, node_id: str, params: Optional[Dict[str, Any]] = None):
        super().__init__(node_id, params)
        self.size = int(self.params["buffer_size"])
        self._items: List[Any] = []

    def process(self, item: Any) -> Any:
        items = self._items
        items.append(item)
        if len(items) < self.size:
            return DROP
        self._items = []
        return items

    def flush(self) -> Optional[Iterable[Any]]:
        if self._items:
            items, self._items = self._items, []
            return [items]
        return None


class FilterNode(Node):
    """Outputs the item if the test ``op`` (against ``value``) holds, else drops it."""

    type_name = "Filter"
    OPS = ("gt", "ge", "lt", "le", "eq", "ne", "even", "odd", "contains")
    PARAMS = {"op": Param("string", True, OPS), "value": Param("any")}

    @classmethod
    def validate_params(cls, params: Dict[str, Any], path: str, report: Report) -> None:
        super().validate_params(params, path, report)
        op = params.get("op")
        if op not in cls.OPS:
            return
        if op not in ("even", "odd") and "value" not in params:
            report(_child(path, "value"), f"missing required param 'value' for Filter op '{op}'")
        elif op in ("gt", "ge", "lt", "le") and type_name(params["value"]) != "number":
            report(_child(path, "value"), f"expected a number, got {type_name(params['value'])}")

    def __init__(self, node_id: str, params: Optional[Dict[str, Any]] = None):
        super().__init__(node_id, params)
        self.op: str = self.params["op"]
        self.value: Any = self.params.get("value")
        self._test: Callable[[Any], bool] = getattr(self, "_" + self.op)

    def _gt(self, x: Any) -> bool:
        if type(x) is not float:
            _expect_number(x)
        return x > self.value

    def _ge(self, x: Any) -> bool:
        if type(x) is not float:
            _expect_number(x)
        return x >= self.value

    def _lt(self, x: Any) -> bool:
        if type(x) is not float:
            _expect_number(x)
        return x < self.value

    def _le(self, x: Any) -> bool:
        if type(x) is not float:
            _expect_number(x)
        return x <= self.value

    def _eq(self, x: Any) -> bool:
        return json_equal(x, self.value)

    def _ne(self, x: Any) -> bool:
        return not json_equal(x, self.value)

    def _even(self, x: Any) -> bool:
        if type(x) is not float:
            _expect_number(x)
        return x.is_integer() and math.fmod(x, 2.0) == 0.0

    def _odd(self, x: Any) -> bool:
        if type(x) is not float:
            _expect_number(x)
        return x.is_integer() and math.fmod(x, 2.0) != 0.0

    def _contains(self, x: Any) -> bool:
        t = type(x)
        if t is str:
            if type(self.value) is not str:
                raise ItemError(f"cannot search a string for a value of type {type_name(self.value)}")
            return self.value in x
        if t is list:
            value = self.value
            return any(json_equal(element, value) for element in x)
        raise ItemError(f"expected a string or an array, got {type_name(x)}")

    def process(self, item: Any) -> Any:
        return item if self._test(item) else DROP


class AccumulatorNode(Node):
    """Running sum / count / mean / min / max over the items so far."""

    type_name = "Accumulator"
    OPERATIONS = ("sum", "count", "mean", "min", "max")
    PARAMS = {"operation": Param("string", True, OPERATIONS)}

    def __init__(self, node_id: str, params: Optional[Dict[str, Any]] = None):
        super().__init__(node_id, params)
        self.operation: str = self.params["operation"]
        self.count = 0.0
        self.total = 0.0
        self.extreme: Optional[float] = None

    def process(self, item: Any) -> Any:
        op = self.operation
        if op == "count":
            self.count += 1.0
            return self.count
        if type(item) is not float:
            _expect_number(item)
        if op == "min":
            if self.extreme is None or item < self.extreme:
                self.extreme = item
            return self.extreme
        if op == "max":
            if self.extreme is None or item > self.extreme:
                self.extreme = item
            return self.extreme
        self.total += item
        self.count += 1.0
        return self.total if op == "sum" else self.total / self.count

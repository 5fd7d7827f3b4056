"""Manifest validation: every problem of a parsed manifest, in document order of the checks, with its JSON path
(top-level fields, settings, nodes and their params, connections, cycles, reachability), as pitlane reports them.
"""

from __future__ import annotations

import difflib
from typing import Any, Dict, Iterable, List, Optional, Tuple

from .js_json import js_dumps, type_name
from .node import Report, _kind_error
from .node_types import NODE_TYPES
from .problems import Positions, Problem, _child


TOP_LEVEL_FIELDS = ("version", "metadata", "nodes", "connections", "$schema", "settings")
NODE_FIELDS = (
    "id",
    "node_type",
    "params",
    "settings",
    "runtime_hint",
    "is_streaming",
    "is_output_node",
    "capabilities",
    "media_capabilities",
    "host",
    "execution",
    "docker",
    "python_deps",
    "metadata",
)
CONNECTION_FIELDS = ("from", "to")
QUEUE_POLICIES = ("block", "drop_oldest", "drop_newest")
ERROR_POLICIES = ("fail", "skip")


def _suggest(name: str, candidates: Iterable[str]) -> str:
    candidates = list(candidates)
    lowered = {c.lower(): c for c in candidates}
    if name.lower() in lowered:
        return f"; did you mean '{lowered[name.lower()]}'?"
    close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


def _check_settings(settings: Any, path: str, report: Report, node_level: bool) -> None:
    if type(settings) is not dict:
        report(path, f"expected an object, got {type_name(settings)}")
        return
    allowed = ("queue_capacity", "queue_policy") if node_level else ("queue_capacity", "queue_policy", "on_error")
    for name, value in settings.items():
        p = _child(path, name)
        if name not in allowed:
            report(p, f"unknown setting '{name}'{_suggest(name, allowed)}", key=True)
        elif name == "queue_capacity":
            error = _kind_error("integer>=1", value)
            if error:
                report(p, error)
        else:
            choices = QUEUE_POLICIES if name == "queue_policy" else ERROR_POLICIES
            if value not in choices:
                shown = js_dumps(value) if type(value) is str else type_name(value)
                report(p, f"unknown {name} {shown}; expected one of {', '.join(choices)}")


def validate_manifest(manifest: Any, positions: Optional[Positions] = None, base_dir: str = ".") -> List[Problem]:
    """Every problem of a parsed manifest (an empty list when it is valid), in document order of the checks.
    ``base_dir`` is the manifest's folder (files named in the manifest are relative to it)."""
    problems: List[Problem] = []

    def report(path: str, message: str, key: bool = False) -> None:
        loc = positions.locate(path, key) if positions is not None else None
        problems.append(Problem(path, message, *(loc or (None, None))))

    if type(manifest) is not dict:
        report("$", f"a manifest must be an object, got {type_name(manifest)}")
        return problems

    for name in manifest:
        if name not in TOP_LEVEL_FIELDS:
            report(_child("$", name), f"unknown field '{name}'{_suggest(name, TOP_LEVEL_FIELDS)}", key=True)

    if "version" not in manifest:
        report("$.version", "missing required field 'version'")
    elif manifest["version"] != "v1":
        report("$.version", f'version must be "v1", got {js_dumps(manifest["version"])}')

    metadata = manifest.get("metadata")
    if "metadata" not in manifest:
        report("$.metadata", "missing required field 'metadata' (with a 'name')")
    elif type(metadata) is not dict:
        report("$.metadata", f"expected an object, got {type_name(metadata)}")
    else:
        if "name" not in metadata:
            report("$.metadata.name", "missing required field 'name'")
        elif type(metadata["name"]) is not str or not metadata["name"]:
            report("$.metadata.name", f"expected a non-empty string, got {js_dumps(metadata['name'])}")
        if "description" in metadata and type(metadata["description"]) is not str:
            report("$.metadata.description", f"expected a string, got {type_name(metadata['description'])}")

    if "settings" in manifest:
        _check_settings(manifest["settings"], "$.settings", report, node_level=False)

    # -- nodes
    node_types: Dict[str, str] = {}  # id -> canonical type name (known types only)
    node_index: Dict[str, int] = {}
    nodes = manifest.get("nodes")
    if "nodes" not in manifest:
        report("$.nodes", "missing required field 'nodes'")
        nodes = []
    elif type(nodes) is not list:
        report("$.nodes", f"expected an array, got {type_name(nodes)}")
        nodes = []
    elif not nodes:
        report("$.nodes", "a pipeline needs at least one node")
    known_ids = set()
    for i, node in enumerate(nodes):
        path = _child("$.nodes", i)
        if type(node) is not dict:
            report(path, f"expected an object, got {type_name(node)}")
            continue
        for name in node:
            if name not in NODE_FIELDS:
                report(_child(path, name), f"unknown field '{name}'{_suggest(name, NODE_FIELDS)}", key=True)
        node_id = node.get("id")
        if "id" not in node:
            report(_child(path, "id"), "missing required field 'id'")
        elif type(node_id) is not str or not node_id:
            report(_child(path, "id"), f"expected a non-empty string, got {js_dumps(node_id)}")
            node_id = None
        elif node_id in node_index:
            report(_child(path, "id"), f"duplicate node id '{node_id}' (first at $.nodes[{node_index[node_id]}])")
            node_id = None
        else:
            node_index[node_id] = i
        if node_id is not None:
            known_ids.add(node_id)
        cls = None
        node_type = node.get("node_type")
        if "node_type" not in node:
            report(_child(path, "node_type"), "missing required field 'node_type'")
        elif type(node_type) is not str:
            report(_child(path, "node_type"), f"expected a string, got {type_name(node_type)}")
        elif node_type not in NODE_TYPES:
            report(
                _child(path, "node_type"),
                f"unknown node_type '{node_type}'{_suggest(node_type, NODE_TYPES)}",
            )
        else:
            cls = NODE_TYPES[node_type]
            if node_id is not None:
                node_types[node_id] = cls.type_name
        for flag in ("is_streaming", "is_output_node"):
            if flag in node and type(node[flag]) is not bool:
                report(_child(path, flag), f"expected a boolean, got {type_name(node[flag])}")
        if "settings" in node:
            _check_settings(node["settings"], _child(path, "settings"), report, node_level=True)
        if "params" in node:
            params = node["params"]
            if type(params) is not dict:
                report(_child(path, "params"), f"expected an object, got {type_name(params)}")
            elif cls is not None:
                cls.validate_params(params, _child(path, "params"), report)
                cls.validate_node(node, path, report, base_dir)
        elif cls is not None:
            cls.validate_params({}, _child(path, "params"), report)
            cls.validate_node(node, path, report, base_dir)

    # -- connections
    connections = manifest.get("connections", [])
    if type(connections) is not list:
        report("$.connections", f"expected an array, got {type_name(connections)}")
        connections = []
    edges: List[Tuple[str, str, int]] = []
    seen_edges: Dict[Tuple[str, str], int] = {}
    for j, conn in enumerate(connections):
        path = _child("$.connections", j)
        if type(conn) is not dict:
            report(path, f"expected an object, got {type_name(conn)}")
            continue
        for name in conn:
            if name not in CONNECTION_FIELDS:
                report(_child(path, name), f"unknown field '{name}'", key=True)
        ends = []
        for end in ("from", "to"):
            value = conn.get(end)
            if end not in conn:
                report(_child(path, end), f"missing required field '{end}'")
            elif type(value) is not str:
                report(_child(path, end), f"expected a node id (string), got {type_name(value)}")
            elif value not in known_ids:
                report(_child(path, end), f"no node has id '{value}'{_suggest(value, known_ids)}")
            else:
                ends.append(value)
                continue
            ends.append(None)
        src, dst = ends
        if src is not None and node_types.get(src) == "DataSink":
            report(_child(path, "from"), f"a DataSink takes no outgoing connections (from '{src}')")
        if dst is not None and node_types.get(dst) == "DataSource":
            report(_child(path, "to"), f"a DataSource takes no incoming connections (to '{dst}')")
        if src is None or dst is None:
            continue
        if (src, dst) in seen_edges:
            report(path, f"duplicate connection '{src}' -> '{dst}' (first at $.connections[{seen_edges[(src, dst)]}])")
            continue
        seen_edges[(src, dst)] = j
        edges.append((src, dst, j))

    # -- graph: cycles, reachability
    ordered_ids = sorted(known_ids, key=lambda n: node_index[n])
    successors: Dict[str, List[str]] = {n: [] for n in ordered_ids}
    for src, dst, _ in edges:
        successors[src].append(dst)
    for cycle in _find_cycles(ordered_ids, successors):
        first = seen_edges[(cycle[0], cycle[1])]
        report(_child("$.connections", first), "cycle: " + " -> ".join(f"'{n}'" for n in cycle))
    sources = [n for n in ordered_ids if node_types.get(n) == "DataSource"]
    if sources:
        reached = set(sources)
        stack = list(sources)
        while stack:
            for nxt in successors[stack.pop()]:
                if nxt not in reached:
                    reached.add(nxt)
                    stack.append(nxt)
        for n in ordered_ids:
            if n not in reached:
                report(_child("$.nodes", node_index[n]), f"node '{n}' is not reachable from any DataSource")
    return problems


def _find_cycles(order: List[str], successors: Dict[str, List[str]]) -> List[List[str]]:
    """One cycle (as a closed list of ids) per strongly connected component that has one (Tarjan)."""
    index: Dict[str, int] = {}
    low: Dict[str, int] = {}
    on_stack: set = set()
    stack: List[str] = []
    components: List[List[str]] = []
    counter = [0]

    def strongconnect(v: str) -> None:  # recursion depth is bounded by the node count of a manifest
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in successors[v]:
            if w not in index:
                strongconnect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1 or v in successors[v]:
                components.append(component)

    for v in order:
        if v not in index:
            strongconnect(v)
    position = {n: i for i, n in enumerate(order)}
    cycles = []
    for component in sorted(components, key=lambda c: min(position[n] for n in c)):
        members = set(component)
        start = min(component, key=lambda n: position[n])
        # Walk inside the component from its first node until we return to it (BFS for a shortest cycle).
        parents: Dict[str, str] = {}
        frontier = [start]
        found = None
        while frontier and found is None:
            nxt_frontier = []
            for v in frontier:
                for w in successors[v]:
                    if w == start:
                        found = v
                        break
                    if w in members and w not in parents:
                        parents[w] = v
                        nxt_frontier.append(w)
                if found is not None:
                    break
            frontier = nxt_frontier
        path = [start]
        v = found
        while v is not None and v != start:
            path.append(v)
            v = parents.get(v)
        cycle = [start] + list(reversed(path[1:])) + [start]
        cycles.append(cycle)
    return cycles

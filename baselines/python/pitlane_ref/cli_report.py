"""What the CLI commands share: the exit codes and the error reports they print (manifest problems, a node's
failure under policy ``fail``).
"""

from __future__ import annotations

from typing import Any, Dict

from .js_json import js_dumps
from .problems import ManifestError


EXIT_OK, EXIT_FAILED, EXIT_INVALID, EXIT_INTERRUPTED = 0, 1, 2, 130


def _print_problems(err: ManifestError, stream: Any) -> None:
    count = len(err.problems)
    print(
        f"error PL_ERR_MANIFEST_INVALID: {err.filename}: {count} problem{'s' if count != 1 else ''}",
        file=stream,
    )
    for problem in err.problems:
        print(problem.format(err.filename), file=stream)


def _format_failure(record: Dict[str, Any]) -> str:
    error = record["$error"]
    head = f"error PL_ERR_NODE_FAILED: node '{error['node']}' ({error['node_type']})"
    if error["item_index"] is None:
        text = f"{head} failed in flush: {error['message']}"
    else:
        text = f"{head} failed on item {error['item_index']}: {error['message']}\n{js_dumps(error['item'])}"
    if "traceback" in error:  # a Python node's
        text += "\n" + error["traceback"].rstrip("\n")
    return text

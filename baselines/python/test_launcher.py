"""Tests of the ways the reference executor is started: the launcher ``pitlane_ref.py`` (also under ``python3 -P``,
where the script's folder is not on ``sys.path``), ``python3 -m pitlane_ref``, and the package's lazy names."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "pitlane_ref.py")
MANIFEST = {
    "version": "v1",
    "metadata": {"name": "launcher"},
    "nodes": [
        {"id": "src", "node_type": "DataSource", "params": {"items": [1, 2]}},
        {"id": "add", "node_type": "Calculator", "params": {"operation": "add", "operand": 0.5}},
    ],
    "connections": [{"from": "src", "to": "add"}],
}


class LauncherTest(unittest.TestCase):
    def setUp(self) -> None:
        self.tmp = tempfile.TemporaryDirectory(prefix="pitlane_ref_launcher_")
        self.manifest = os.path.join(self.tmp.name, "m.json")
        with open(self.manifest, "w", encoding="utf-8") as f:
            json.dump(MANIFEST, f)

    def tearDown(self) -> None:
        self.tmp.cleanup()

    def python(self, *args: str, cwd: str) -> subprocess.CompletedProcess:
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONSAFEPATH")}
        return subprocess.run([sys.executable, *args], cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                              capture_output=True, timeout=60)

    def test_the_script_runs_from_any_folder(self) -> None:
        r = self.python(SCRIPT, "run", self.manifest, cwd=self.tmp.name)
        self.assertEqual((r.returncode, r.stdout, r.stderr), (0, b"1.5\n2.5\n", b""))

    @unittest.skipUnless(sys.version_info >= (3, 11), "python3 -P is Python 3.11+")
    def test_the_script_runs_without_its_folder_on_the_path(self) -> None:
        r = self.python("-P", SCRIPT, "run", self.manifest, cwd=self.tmp.name)
        self.assertEqual((r.returncode, r.stdout, r.stderr), (0, b"1.5\n2.5\n", b""))

    def test_python_m_runs_the_package(self) -> None:
        r = self.python("-m", "pitlane_ref", "validate", self.manifest, cwd=HERE)
        self.assertEqual((r.returncode, r.stdout), (0, b"ok\n"))

    def test_usage_errors_name_the_script(self) -> None:
        r = self.python(SCRIPT, cwd=self.tmp.name)
        self.assertEqual(r.returncode, 2)
        self.assertTrue(r.stderr.startswith(b"usage: pitlane_ref.py "), r.stderr)

    def test_importing_the_package_loads_only_what_is_used(self) -> None:
        code = (
            "import sys; sys.path.insert(0, sys.argv[1]); import pitlane_ref\n"
            "print('asyncio' in sys.modules, 'pitlane_ref.pipeline' in sys.modules)\n"
            "from pitlane_ref.cli import main; main(['validate', sys.argv[2]])\n"
            "print('asyncio' in sys.modules)\n"
            "print(pitlane_ref.js_dumps([1.0, 'a']), pitlane_ref.run_pipeline.__module__)\n"
        )
        r = self.python("-c", code, HERE, self.manifest, cwd=self.tmp.name)
        self.assertEqual(r.stdout.decode().splitlines(),
                         ["False False", "ok", "False", '[1,"a"] pitlane_ref.pipeline'], r.stderr)

    def test_every_exported_name_resolves(self) -> None:
        sys.path.insert(0, HERE)
        try:
            import pitlane_ref
        finally:
            sys.path.remove(HERE)
        for name in pitlane_ref.__all__:
            self.assertTrue(hasattr(pitlane_ref, name), name)
        with self.assertRaises(AttributeError):
            pitlane_ref.no_such_name  # noqa: B018


if __name__ == "__main__":
    unittest.main()

#!/usr/bin/env python3
"""Launcher of the CPython reference executor, the package ``pitlane_ref/`` beside this file (read its docstring):
``python3 pitlane_ref.py run|validate|bench ...``. The package's folder is put on ``sys.path`` when it is not
there already (``python3 -P`` and ``PYTHONSAFEPATH`` leave the script's folder out)."""

import os
import sys

_HERE = os.path.dirname(os.path.realpath(__file__))
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

from pitlane_ref.cli import main  # noqa: E402

sys.exit(main())

"""``python3 -m pitlane_ref`` (with baselines/python on the path): the same CLI as ``python3 pitlane_ref.py``."""

import sys

from .cli import main

sys.exit(main())

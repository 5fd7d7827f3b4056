#!/usr/bin/python3
"""Preprocessing cost of the Python ingest baseline, alone: the service's own `prepare_image` (decode with
DCT scaling, EXIF orientation, letterbox content, centre crop) on every JPEG/PNG/WebP under a folder, one image
after another on one thread. No inference, no index, no HTTP.

    /usr/bin/python3 baselines/python/ingest/prep_bench.py --dir D [--limit N] [--json]

Prints {"images": n, "cpu_ms_per_image": process CPU time / n, "wall_ms_median": m, "wall_ms_p90": p}; the
first 3 images are a warm-up and not counted. Images the service would refuse are skipped (and counted in
"skipped").
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from image_prep import ImageError, prepare_image  # noqa: E402

EXTENSIONS = {".jpg", ".jpeg", ".png", ".webp"}
WARM_UP = 3


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dir", required=True, help="folder searched recursively for .jpg/.jpeg/.png/.webp")
    p.add_argument("--limit", type=int, default=None, help="at most this many images (after sorting by path)")
    p.add_argument("--json", action="store_true", help="print only the JSON line")
    a = p.parse_args(argv)
    files = sorted(f for f in Path(a.dir).rglob("*") if f.is_file() and f.suffix.lower() in EXTENSIONS)
    if a.limit is not None:
        files = files[: a.limit]
    if len(files) <= WARM_UP:
        print(f"prep_bench: need more than {WARM_UP} images under {a.dir}, found {len(files)}", file=sys.stderr)
        return 1
    # Files are read before timing: the benchmark measures preprocessing, not the disk.
    blobs = [(str(f), f.read_bytes()) for f in files]
    for name, data in blobs[:WARM_UP]:
        try:
            prepare_image(data, name)
        except ImageError:
            pass
    walls: list[float] = []
    skipped = 0
    cpu0 = time.process_time()
    for name, data in blobs[WARM_UP:]:
        t0 = time.perf_counter()
        try:
            prepare_image(data, name)
        except ImageError as err:
            skipped += 1
            if not a.json:
                print(f"skipped {err} ({err.reason})", file=sys.stderr)
            continue
        walls.append((time.perf_counter() - t0) * 1000)
    cpu_ms = (time.process_time() - cpu0) * 1000
    n = len(walls)
    if n == 0:
        print("prep_bench: every measured image was refused", file=sys.stderr)
        return 1
    walls.sort()
    result = {
        "images": n,
        "cpu_ms_per_image": round(cpu_ms / n, 3),
        "wall_ms_median": round(statistics.median(walls), 3),
        "wall_ms_p90": round(walls[min(n - 1, int(0.9 * n))], 3),
    }
    if skipped:
        result["skipped"] = skipped
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

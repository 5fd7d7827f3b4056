"""The embeddings API as a Python team would serve it today: FastAPI + uvicorn + PyTorch (Debian's python3-torch on
OpenBLAS), the BERT encoder as torch modules whose weights are read from the same ONNX file pitlane serves, BERT
WordPiece tokenisation in Python, mean pooling and L2 normalisation, and dynamic batching across requests as
sentence-transformers servers do it. The code is in torch_embed/ beside this file.

    /usr/bin/python3 torch-server.py --port 8080 [--threads 2] [--max-batch 32] [--expect-blas openblas]

Debian: scripts/setup-test-deps.sh installs python3-torch, python3-onnx, python3-fastapi, python3-uvicorn and
libopenblas0-pthread.
"""

import os
import sys

from torch_embed.server import main

if __name__ == "__main__":
    code = main(sys.argv[1:])
    sys.stdout.flush()
    sys.stderr.flush()
    # Leave without waiting for the inference thread (it may still be importing torch when a signal stops us).
    os._exit(code)

"""KServe v2 / Triton gRPC from Python: stubs generated from the repository's proto/ (stubs.py), NumPy tensors to
and from raw and typed contents (tensors.py), and a test client of `pitlane serve models` (check_server.py)."""

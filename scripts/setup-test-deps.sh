#!/usr/bin/env bash
# What the tests and the default suite need from Debian, installed when missing (run by `npm test` and `npm start`
# through `pretest` and `prestart`, and by .ci/run):
#  - python3: the CPython reference executor (standard library only);
#  - python3-fastapi, python3-uvicorn: the Python contestant of examples/suites/echo.yaml;
#  - python3-multipart, python3-httpx, python3-pil, python3-numpy, python3-uvloop, python3-httptools: the Python
#    ingest baseline (baselines/python/ingest) of examples/suites/ingest.yaml and its tests;
#  - chromium: the HTML report is checked in a real headless browser (driven by playwright-core);
#  - darknet: real photos (dog.jpg, person.jpg, ...) for the image pipeline and ingest tests;
#  - python3-pocketsphinx, pocketsphinx-en-us: the PocketSphinxSTT node (speech recognition in Debian's Python, the
#    US-English acoustic model, language model and dictionary) and test/pocketsphinx.test.mjs;
#  - pocketsphinx-testdata: real recorded speech with its transcription (five LibriVox clips, 16 kHz) for the speech
#    tests and benchmarks;
#  - espeak-ng: synthesises more speech for the audio tests, and backs the TTS node;
#  - ffmpeg: decodes audio formats other than WAV for `pitlane run -i` (30 packages, ~60 MB, on a machine that has
#    libavcodec already);
#  - python3-grpcio, python3-protobuf, protobuf-compiler, protobuf-compiler-grpc: the KServe v2 gRPC clients of
#    the tests and the Python ingest baseline (Python stubs are generated from proto/ with protoc and
#    grpc_python_plugin, as a team would from the published .proto);
#  - python3-torch (1.13), python3-onnx, libopenblas0-pthread: the Python PyTorch contestant of
#    examples/suites/embeddings.yaml (embeddings/torch-server.py: FastAPI + uvicorn, weights read from the ONNX file).
#    Debian's torch calls whichever libblas.so.3 the alternatives system selects; OpenBLAS's pthread build outranks
#    the reference BLAS (~15x slower) once installed, and this script selects it if something else is selected;
#  - astronaut.png from python3-skimage (a real portrait, for the face detector): only that file is unpacked,
#    into test-data/, from the downloaded package; nothing is installed.
# Without root or apt-get it only says what is missing; the tests that need it then fail naming it.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v python3 >/dev/null 2>&1 || need+=(python3)
/usr/bin/python3 -c 'import fastapi, uvicorn' >/dev/null 2>&1 || need+=(python3-fastapi python3-uvicorn)
/usr/bin/python3 -c 'import multipart, httpx, PIL, numpy, uvloop, httptools' >/dev/null 2>&1 ||
  need+=(python3-multipart python3-httpx python3-pil python3-numpy python3-uvloop python3-httptools)
/usr/bin/python3 -c 'import pocketsphinx' >/dev/null 2>&1 || need+=(python3-pocketsphinx)
/usr/bin/python3 -c 'import grpc, google.protobuf' >/dev/null 2>&1 || need+=(python3-grpcio python3-protobuf)
# Found, not imported: importing torch takes a second.
/usr/bin/python3 -c 'import importlib.util as u, sys; sys.exit(not (u.find_spec("torch") and u.find_spec("onnx")))' \
  >/dev/null 2>&1 || need+=(python3-torch python3-onnx)
openblas=/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3
blas_link=libblas.so.3-x86_64-linux-gnu
[ -f "$openblas" ] || need+=(libopenblas0-pthread)
blas_selected() { [ "$(readlink -f /etc/alternatives/$blas_link 2>/dev/null)" = "$(readlink -f "$openblas")" ]; }
command -v protoc >/dev/null 2>&1 || need+=(protobuf-compiler)
command -v grpc_python_plugin >/dev/null 2>&1 || need+=(protobuf-compiler-grpc)
[ -f /usr/share/pocketsphinx/model/en-us/en-us.lm.bin ] || need+=(pocketsphinx-en-us)
[ -f /usr/share/pocketsphinx/test/data/librivox/transcription ] || need+=(pocketsphinx-testdata)
command -v espeak-ng >/dev/null 2>&1 || need+=(espeak-ng)
command -v ffmpeg >/dev/null 2>&1 || need+=(ffmpeg)
[ -x /usr/bin/chromium ] || need+=(chromium)
[ -f /usr/share/darknet/data/dog.jpg ] || need+=(darknet)
astronaut=test-data/astronaut.png
[ -f "$astronaut" ] && [ ${#need[@]} -eq 0 ] && blas_selected && exit 0

if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  blas_note=""
  blas_selected || blas_note=", OpenBLAS as libblas.so.3 (update-alternatives)"
  echo "setup-test-deps: missing ${need[*]:-} ${astronaut}${blas_note}; run this script as root on Debian to" \
    "install them" >&2
  exit 0
fi
updated=0
update() { if [ $updated = 0 ]; then apt-get update -qq; updated=1; fi; }
if [ ${#need[@]} -gt 0 ]; then
  echo "installing Debian packages: ${need[*]}"
  update
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
if [ -f "$openblas" ] && ! blas_selected; then
  echo "selecting OpenBLAS ($openblas) as libblas.so.3 (update-alternatives)"
  update-alternatives --quiet --set "$blas_link" "$openblas"
fi
if [ ! -f "$astronaut" ]; then
  echo "unpacking astronaut.png from Debian's python3-skimage into test-data/"
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  update
  (cd "$work" && apt-get download -qq python3-skimage 2>/dev/null)
  dpkg-deb --fsys-tarfile "$work"/python3-skimage_*.deb | tar -x -C "$work" ./usr/lib/python3/dist-packages/skimage/data/astronaut.png
  mkdir -p test-data
  cp "$work/usr/lib/python3/dist-packages/skimage/data/astronaut.png" "$astronaut"
fi

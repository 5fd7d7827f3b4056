"""Tests of the reference executor's audio (pitlane_ref.audio, wav, audio_input, audio_output): WAV decoding and
encoding, framing, the JSON form of frames, and that JSON pipelines never import numpy.

Run from the repository root: ``python3 -m unittest discover -s baselines/python``.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import struct
import subprocess
import sys
import tempfile
import unittest
import wave

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402

from pitlane_ref import js_dumps  # noqa: E402
from pitlane_ref.audio import AudioFrame, AudioInputError  # noqa: E402
from pitlane_ref.audio_input import AudioInput  # noqa: E402
from pitlane_ref.audio_output import FrameLatency  # noqa: E402
from pitlane_ref.wav import decode_wav, wav_header, wav_sample_bytes  # noqa: E402

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pitlane_ref.py")


def pcm_wav(width: int, channels: int, rate: int, data: bytes) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(data)
    return out.getvalue()


def frames_of(source: AudioInput) -> list:
    async def collect() -> list:
        return [f async for f in source.frames()]

    return asyncio.run(collect())


class WavDecoding(unittest.TestCase):
    def test_pcm_widths_scale_like_pitlane(self) -> None:
        ints16 = [0, 1, -1, 32767, -32768]
        got = decode_wav(pcm_wav(2, 1, 8000, struct.pack("<5h", *ints16)), "x.wav")
        self.assertEqual((got.sample_rate, got.channels, got.samples.dtype), (8000, 1, np.float32))
        self.assertEqual(got.samples.tolist(), [v / 32768 for v in ints16])
        got = decode_wav(pcm_wav(1, 1, 8000, bytes([0, 128, 255])), "x.wav")
        self.assertEqual(got.samples.tolist(), [-1.0, 0.0, 127 / 128])
        ints24 = [0, 1, -1, (1 << 23) - 1, -(1 << 23)]
        data = b"".join(v.to_bytes(3, "little", signed=True) for v in ints24)
        got = decode_wav(pcm_wav(3, 1, 8000, data), "x.wav")
        self.assertEqual(got.samples.tolist(), [v / (1 << 23) for v in ints24])
        ints32 = [0, 1 << 8, -(1 << 31), (1 << 31) - 1, 123456789]
        got = decode_wav(pcm_wav(4, 1, 8000, struct.pack("<5i", *ints32)), "x.wav")
        self.assertEqual(got.samples.tolist(), np.float32(np.array(ints32) / 2.0 ** 31).tolist())

    def test_stereo_is_interleaved_and_float_is_checked(self) -> None:
        got = decode_wav(pcm_wav(2, 2, 16000, struct.pack("<4h", 1, 2, 3, 4)), "s.wav")
        self.assertEqual(got.samples.tolist(), [v / 32768 for v in (1, 2, 3, 4)])
        header = bytearray(wav_header(16000, 1, "f32", 12))
        with self.assertRaisesRegex(AudioInputError, r"^f\.wav: sample 1 of channel 0 \(at 0\.000063 s\) is NaN"):
            decode_wav(bytes(header) + struct.pack("<3f", 0.5, float("nan"), 0), "f.wav")

    def test_bad_headers_are_named(self) -> None:
        good = pcm_wav(2, 1, 8000, bytes(100))
        cases = [
            (b"hello", r"not a WAV file: 5 bytes, shorter than a RIFF header"),
            (b"ID3\x03" + bytes(20), r'not a WAV file: it starts with "ID3\\u0003", not "RIFF…WAVE"'),
            (good[:60], r"truncated: the header announces 100 bytes of samples but the file holds 16"),
            (good[:22] + b"\0\0" + good[24:], r"the header says 0 channels"),
            (good[:24] + bytes(4) + good[28:], r"the header says a sample rate of 0 Hz"),
            (good[:20] + struct.pack("<H", 6) + good[22:], r"A-law WAV is decoded by pitlane but not by the reference"),
            (good[:36], r'no "data" chunk: the file is cut short'),
        ]
        for data, pattern in cases:
            with self.assertRaisesRegex(AudioInputError, "^bad.wav: " + pattern):
                decode_wav(data, "bad.wav")


class WavEncoding(unittest.TestCase):
    def test_s16_clips_and_rounds_like_javascript(self) -> None:
        samples = np.array([0, 0.5, -0.5, 1.5, -2, -1 / 65536, -3 / 65536], dtype=np.float32)
        got = struct.unpack("<7h", wav_sample_bytes(samples, "s16"))
        # -0.5 and -1.5 round up, as Math.round does (numpy's and Python's round would give -0 and -2)
        self.assertEqual(got, (0, 16384, -16384, 32767, -32768, 0, -1))

    def test_header_and_round_trip(self) -> None:
        samples = np.array([0.25, -0.75], dtype=np.float32)
        data = wav_header(44100, 2, "f32", 8) + wav_sample_bytes(samples, "f32")
        got = decode_wav(data, "rt.wav")
        self.assertEqual((got.sample_rate, got.channels, got.samples.tolist()), (44100, 2, [0.25, -0.75]))


class Framing(unittest.TestCase):
    def test_frames_timestamps_and_the_short_last_frame(self) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "a.wav")
            with open(path, "wb") as f:
                f.write(pcm_wav(2, 2, 44100, bytes(4 * 1000)))
            source = AudioInput("wav", path, frame_ms=7.3)
            source.open()
            frames = frames_of(source)
        self.assertEqual([f.frames for f in frames], [322, 322, 322, 34])  # round(44100 * 7.3 / 1000) = 322
        self.assertEqual([f.timestamp_us for f in frames], [0, 7302, 14603, 21905])
        self.assertTrue(all(f.arrival_ts_us is not None and f.channels == 2 for f in frames))

    def test_json_form_matches_pitlane_key_for_key(self) -> None:
        frame = AudioFrame(np.zeros(6, dtype=np.float32), 48000, 2, "mic", 1500, 1.0, {"vad": True})
        self.assertEqual(
            js_dumps(frame),
            '{"type":"audio","sample_rate":48000,"channels":2,"frames":3,"duration":0.0000625,'
            '"stream_id":"mic","timestamp_us":1500,"metadata":{"vad":true}}',
        )
        self.assertEqual(frame.to_json(True)["samples_f32le_base64"], "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
        derived = frame.derive(np.ones(2, dtype=np.float32), channels=1)
        self.assertEqual((derived.stream_id, derived.timestamp_us, derived.arrival_ts_us), ("mic", 1500, 1.0))

    def test_latency_summary_uses_pitlane_keys(self) -> None:
        latency = FrameLatency()
        self.assertIsNone(latency.summary())
        latency.values = [1000 * v for v in range(1, 101)]
        self.assertEqual(latency.summary(),
                         {"count": 100, "p50_us": 50.0, "p90_us": 90.0, "p99_us": 99.0, "max_us": 100.0})


class Startup(unittest.TestCase):
    def test_json_pipelines_do_not_import_numpy(self) -> None:
        code = (
            "import sys, io; sys.argv=['x']; sys.path.insert(0, %r)\n"
            "import pitlane_ref.cli as cli\n"
            "rc = cli.main(['run', %r, '--input', %r])\n"
            "sys.stderr.write('numpy' in sys.modules and 'NUMPY' or 'clean')\n"
        )
        with tempfile.TemporaryDirectory() as tmp:
            m = os.path.join(tmp, "m.json")
            with open(m, "w") as f:
                json.dump({"version": "v1", "metadata": {"name": "t"},
                           "nodes": [{"id": "p", "node_type": "PassThrough"}]}, f)
            lines = os.path.join(tmp, "in.jsonl")
            with open(lines, "w") as f:
                f.write("1\n2\n")
            r = subprocess.run([sys.executable, "-c", code % (os.path.dirname(SCRIPT), m, lines)],
                               capture_output=True, text=True)
        self.assertEqual(r.stdout, "1\n2\n")
        self.assertTrue(r.stderr.endswith("clean"), r.stderr)


if __name__ == "__main__":
    unittest.main()

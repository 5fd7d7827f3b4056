"""Tests of the reference executor's audio (pitlane_ref.audio, wav, audio_input, audio_output): WAV decoding and
encoding, framing, the JSON form of frames, and that JSON pipelines never import numpy.

Run from the repository root: ``python3 -m unittest discover -s baselines/python``.
"""

from __future__ import annotations

import asyncio
import importlib.util
import io
import json
import math
import os
import struct
import subprocess
import sys
import tempfile
import unittest
import wave
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402

from pitlane_ref import DROP, ItemError, js_dumps, normalize_manifest  # noqa: E402
from pitlane_ref.audio import AudioFrame, AudioInputError, js_round  # noqa: E402
from pitlane_ref.audio_input import AudioInput  # noqa: E402
from pitlane_ref.audio_nodes import (  # noqa: E402
    AudioBufferAccumulatorNode,
    AudioBufferNode,
    AudioChunkerNode,
    AudioTransformNode,
    FastResampleNode,
)
from pitlane_ref.audio_output import FrameLatency  # noqa: E402
from pitlane_ref.event_correlator import EventCorrelatorNode  # noqa: E402
from pitlane_ref.health_emitter import HealthEmitterNode  # noqa: E402
from pitlane_ref.health_nodes import (  # noqa: E402
    AudioLevelNode,
    ChannelBalanceNode,
    ClippingDetectorNode,
    SilenceDetectorNode,
)
from pitlane_ref.js_math import js_log10  # noqa: E402
from pitlane_ref.python_node import POCKETSPHINX_MODULE  # noqa: E402
from pitlane_ref.resample import StreamResampler  # noqa: E402
from pitlane_ref.text_nodes import TextCollectorNode, boundary_chars, extract_sentences  # noqa: E402
from pitlane_ref.vad_nodes import FastVADNode  # noqa: E402
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


def sine(amplitude: float, frames: int = 320, rate: int = 16000, freq: float = 1000) -> "np.ndarray":
    """amplitude * sin(2 pi freq t), clamped to [-1, 1] (1 kHz at 16 kHz: whole periods, a sample on each peak)."""
    t = np.arange(frames)
    return np.clip(amplitude * np.sin(2 * np.pi * freq * t / rate), -1, 1).astype(np.float32)


def node(cls: Any, **params: Any) -> Any:
    n = cls("n", {k: float(v) if type(v) is int else v for k, v in params.items()})
    n.initialize()
    return n


HALF_POWER_DB = 20 * math.log10(math.sqrt(0.5))


class EventCorrelation(unittest.TestCase):
    def test_alerts_close_in_stream_time_make_one_incident(self) -> None:
        corr = node(EventCorrelatorNode, correlation_window_ms=100, emit_raw_events=False)
        alert = {"_schema": "clipping_event", "is_clipping": True}
        out = [corr.process(dict(alert, timestamp_us=float(t))) for t in (0, 50_000, 90_000)]
        self.assertEqual(out, [DROP, DROP, DROP])
        (incident,) = [corr.process({"_schema": "clipping_event", "is_clipping": False, "timestamp_us": 300_000.0})]
        self.assertEqual((incident["event_count"], incident["duration_ms"], incident["severity"], incident["pattern"]),
                         (3, 90, "high", "audio_quality_degradation"))
        self.assertRegex(incident["incident_id"], r"^inc_[0-9a-f]{8}$")
        self.assertEqual(corr.process("text"), "text")
        self.assertEqual(list(corr.flush()), [])


class TextNodes(unittest.TestCase):
    def test_sentences_end_at_boundaries_and_markers(self) -> None:
        self.assertEqual(extract_sentences(" Hi. Ok?! no", (".", "?", "!"), 3), (["Hi.", "Ok?!"], " no"))
        self.assertEqual(boundary_chars("[.!?]+"), (".", "!", "?"))
        c = node(TextCollectorNode)
        self.assertIs(c.process("Hello "), DROP)
        self.assertEqual(list(c.process("world. and <|text_end|>")), ["Hello world.", " and ", "<|text_end|>"])
        self.assertEqual(c.process(7.0), 7.0)


class JsMath(unittest.TestCase):
    def test_log10_is_v8s_where_the_c_library_differs(self) -> None:
        # Math.log10 in Node 20 for these inputs; math.log10 (glibc) is one bit off on each.
        cases = [(0.04587625984135773, -1.338411996099267), (0.6111169752577267, -0.21387565252895854),
                 (0.14028190863842915, -0.852998333854844), (0.13399160085747894, -0.8729224241394733)]
        for x, v8 in cases:
            self.assertEqual(js_log10(x), v8)
            self.assertNotEqual(math.log10(x), v8)
        self.assertEqual([js_log10(v) for v in (1.0, 1000.0, 1e300, 0.0)], [0.0, 3.0, 300.0, -math.inf])
        self.assertEqual(js_log10(5e-324), -323.3062153431158)
        self.assertTrue(math.isnan(js_log10(-1.0)))


class HealthNodes(unittest.TestCase):
    """Expected values from the formulas (as pitlane's src/nodes/health tests): a sine of amplitude A over whole
    periods has RMS A/sqrt(2); with a sample on each peak, its peak is A."""

    def test_audio_level(self) -> None:
        level = node(AudioLevelNode)
        e = level.process(AudioFrame(np.zeros(320, np.float32), 16000, 1))
        self.assertEqual(js_dumps(e), '{"_schema":"audio_level_event","health":0,"is_low_volume":false,'
                                      '"is_silence":true,"peak_db":-120,"rms_db":-120,"stream_id":null,'
                                      '"timestamp_us":null}')
        e = level.process(AudioFrame(sine(0.1), 16000, 1, "a", 40000))
        rms = -20 + HALF_POWER_DB
        self.assertAlmostEqual(e["rms_db"], rms, places=4)
        self.assertAlmostEqual(e["peak_db"], -20, places=4)
        self.assertAlmostEqual(e["health"], (rms + 60) / 40, places=5)
        self.assertEqual((e["is_low_volume"], e["stream_id"], e["timestamp_us"]), (True, "a", 40000.0))
        self.assertEqual(level.process("not audio"), "not audio")

    def test_clipping_and_channel_balance(self) -> None:
        e = node(ClippingDetectorNode).process(AudioFrame(sine(4.0), 16000, 1))
        self.assertTrue(e["is_clipping"])
        self.assertGreater(e["saturation_ratio"], 50)
        self.assertEqual(e["health"], 0)
        e = node(ClippingDetectorNode).process(AudioFrame(sine(0.5), 16000, 1))
        self.assertAlmostEqual(e["crest_factor_db"], -HALF_POWER_DB, places=4)
        self.assertFalse(e["is_clipping"])
        stereo = np.zeros(640, np.float32)
        stereo[0::2] = sine(0.5)
        e = node(ChannelBalanceNode).process(AudioFrame(stereo, 16000, 2))
        self.assertEqual((e["dead_channel"], e["has_dead_channel"], e["health"], e["balance_ratio"]),
                         ("right", True, 0, None))
        self.assertEqual(node(ChannelBalanceNode).process(AudioFrame(sine(0.5), 16000, 1))["left_rms_db"], 0)

    def test_silence_detector_sustained_silence_and_dropouts(self) -> None:
        det = node(SilenceDetectorNode, sustained_silence_ms=100, dropout_count_threshold=2)
        events = []
        for i in range(12):  # 20 ms frames: sound, 6 silent, sound, 4 silent
            silent = 1 <= i <= 6 or i >= 8
            samples = np.zeros(320, np.float32) if silent else sine(0.5)
            events.append(det.process(AudioFrame(samples, 16000, 1, None, i * 20000)))
        self.assertEqual([e["silence_duration_ms"] for e in events[:8]], [0, 20, 40, 60, 80, 100, 120, 0])
        self.assertEqual([e["is_sustained_silence"] for e in events[4:7]], [False, True, True])
        self.assertAlmostEqual(events[2]["health"], 0.6)
        self.assertEqual(events[-1]["dropout_count"], 2)
        self.assertTrue(events[-1]["has_intermittent_dropouts"])

    def test_health_emitter_from_events(self) -> None:
        h = node(HealthEmitterNode)
        level = node(AudioLevelNode)
        first = h.process(level.process(AudioFrame(sine(0.5), 16000, 1)))
        self.assertEqual((first["alerts"], first["score"], first["type"]), ([], 1, "health"))
        self.assertRegex(first["ts"], r"^\d+000000$")
        self.assertIs(h.process(level.process(AudioFrame(sine(0.5), 16000, 1))), DROP)  # nothing changed
        quiet = h.process(level.process(AudioFrame(np.zeros(320, np.float32), 16000, 1, "s2")))
        self.assertEqual(list(quiet), ["alerts", "score", "stream_id", "ts", "type"])
        self.assertEqual((quiet["alerts"], quiet["score"], quiet["stream_id"]), (["SILENCE"], 0, "s2"))
        self.assertIs(h.process("text"), DROP)


ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VAD_FIXTURE = os.path.join(ROOT, "test", "fixtures", "vad", "fastvad-goforward.json")


def run_vad(vad: Any, frames: list) -> list:
    events = []
    for frame in frames:
        out = vad.process(frame)
        outputs = list(out)
        assert outputs[-1] is frame  # the frame itself goes on, after the events
        events += outputs[:-1]
    return events + list(vad.flush())


class FastVAD(unittest.TestCase):
    def test_bursts_of_tone_make_speech_segments_with_a_hangover(self) -> None:
        # 16 kHz: 0.3 s silence, 0.6 s tone, 0.3 s silence, 0.15 s tone (ends the input in speech).
        signal = np.concatenate([np.zeros(4800), sine(0.3, 9600), np.zeros(4800), sine(0.3, 2400)])
        frames = [AudioFrame(signal[i:i + 320], 16000, 1, None, i * 1e6 / 16000) for i in range(0, signal.size, 320)]
        events = [e for e in run_vad(node(FastVADNode), frames) if e["event"] != "frame"]
        self.assertEqual([(e["event"], e["timestamp_us"]) for e in events],
                         [("speech_start", 300000), ("speech_end", 900000), ("speech_start", 1200000),
                          ("speech_end", 1350000)])
        self.assertEqual(list(events[0])[:4], ["type", "event", "time", "timestamp_us"])
        self.assertEqual((events[-1]["samples"], events[-1]["rms"]), (0, 0))

    def test_rate_change_and_params(self) -> None:
        vad = node(FastVADNode)
        vad.process(AudioFrame(np.zeros(320, np.float32), 16000, 1))
        with self.assertRaisesRegex(ItemError, r"stream \(default\) changed sample rate from 16000 Hz to 8000 Hz"):
            vad.process(AudioFrame(np.zeros(320, np.float32), 8000, 1))
        problems: list = []
        FastVADNode.validate_params({"energy_threshold": 0.1, "energy_threshold_db": -30.0}, "$.nodes[0].params",
                                    lambda path, message, key=False: problems.append((path, message)))
        self.assertEqual(problems, [("$.nodes[0].params.energy_threshold_db",
                                     "give energy_threshold (linear) or energy_threshold_db, not both (they are one "
                                     "setting)")])

    @unittest.skipUnless(os.path.exists(VAD_FIXTURE), "needs test/fixtures/vad/fastvad-goforward.json (from the vad "
                         "branch)")
    def test_recorded_contract_of_pitlane_fastvad(self) -> None:
        with open(VAD_FIXTURE) as f:
            fixture = json.load(f)
        raw = np.fromfile(fixture["source"], dtype="<i2").astype(np.float32) / np.float32(32768)
        for case in fixture["cases"]:
            size = case["frame_samples"]
            frames = [AudioFrame(raw[i:i + size], 16000, 1, None, js_round(i * 1e6 / 16000))
                      for i in range(0, raw.size, size)]
            events = run_vad(node(FastVADNode, **case["params"]), frames)
            self.assertEqual(js_dumps([e for e in events if e["event"] != "frame"]),
                             js_dumps(normalize_manifest(case["transitions"])))
            self.assertEqual(sum(e["event"] == "frame" for e in events), case["frame_events"])


class ChunkingAndUtterances(unittest.TestCase):
    def test_chunker_carries_the_remainder_and_stamps_positions(self) -> None:
        chunker = node(AudioChunkerNode, chunk_size=300)
        signal = np.arange(1000, dtype=np.float32) / 1000
        chunks = []
        for i in range(0, 1000, 320):
            out = chunker.process(AudioFrame(signal[i:i + 320], 16000, 1, "s", 5000 + i * 62.5, 7.0))
            chunks += [] if out is DROP else [out] if type(out) is AudioFrame else list(out)
        self.assertEqual([c.frames for c in chunks], [300, 300, 300])
        self.assertEqual([c.timestamp_us for c in chunks], [5000, 23750, 42500])
        self.assertEqual(np.concatenate([c.samples for c in chunks]).tolist(), signal[:900].tolist())
        self.assertEqual((chunks[0].stream_id, chunks[0].arrival_ts_us), ("s", 7.0))
        self.assertEqual(list(chunker.flush()), [])  # the partial chunk is dropped
        with self.assertRaisesRegex(ItemError, r"^AudioChunkerNode takes audio frames, got string$"):
            chunker.process("text")
        buffer = node(AudioBufferNode, buffer_size_samples=300)
        out = buffer.process(AudioFrame(signal[:320], 16000, 1))
        self.assertEqual((out.frames, [c.frames for c in buffer.flush()]), (300, [20]))

    def test_accumulator_cuts_utterances_between_vad_events_with_pre_roll(self) -> None:
        acc = node(AudioBufferAccumulatorNode, min_utterance_duration_ms=50, pre_roll_ms=40)
        frame = lambda i, amp: AudioFrame(np.full(320, amp, np.float32), 16000, 1, None, i * 20000)  # noqa: E731
        outputs = []
        for i in range(10):
            if i == 4:
                outputs.append(acc.process({"type": "vad", "event": "speech_start"}))
            if i == 8:
                outputs.append(acc.process({"is_speech_end": True}))
            outputs.append(acc.process(frame(i, 0.5 if 4 <= i < 8 else 0.01)))
        utterances = [o for o in outputs if o is not DROP]
        self.assertEqual(len(utterances), 1)
        u = utterances[0]
        self.assertEqual((u.timestamp_us, u.frames), (40000, 6 * 320))  # 2 frames of pre-roll + 4 of speech
        self.assertEqual(u.metadata, {"utterance": {"start": 0.04, "end": 0.16}})
        self.assertIs(acc.process(42.0), DROP)


class Resampling(unittest.TestCase):
    def convert(self, x: Any, channels: int, src: int, dst: int, block: int, quality: str = "Medium") -> Any:
        r = StreamResampler(channels, src, dst, quality)
        parts = [r.push(x[i:i + block * channels]) for i in range(0, x.size, block * channels)]
        return np.concatenate(parts + [r.drain()])

    def test_a_sine_comes_out_at_the_new_rate_time_aligned_with_the_exact_length(self) -> None:
        for src, dst in ((48000, 16000), (16000, 48000), (44100, 16000), (22050, 16000)):
            x = sine(0.5, src, src)  # 1 s of 1 kHz
            y = self.convert(x, 1, src, dst, src // 50)
            self.assertEqual(y.size, dst)
            expected = 0.5 * np.sin(2 * np.pi * 1000 * np.arange(dst) / dst)
            self.assertLess(np.abs(y[100:-100] - expected[100:-100]).max(), 1e-3, (src, dst))

    def test_block_size_does_not_change_the_samples(self) -> None:
        x = (np.random.default_rng(1).standard_normal(2 * 9000) * 0.1).astype(np.float32)
        a = self.convert(x, 2, 44100, 16000, 441)
        b = self.convert(x, 2, 44100, 16000, 1000)
        self.assertEqual(a.size, 2 * round(9000 * 16000 / 44100))
        self.assertTrue(np.array_equal(a, b))

    def test_node_mixes_resamples_stamps_and_refuses_what_it_cannot_take(self) -> None:
        rs = node(FastResampleNode, target_rate=16000, channels=1)
        stereo = np.repeat(sine(0.5, 960, 48000), 2)
        first = rs.process(AudioFrame(stereo, 48000, 2, None, 1000, 3.0))
        self.assertEqual((first.sample_rate, first.channels, first.timestamp_us, first.arrival_ts_us),
                         (16000, 1, 1000, 3.0))
        second = rs.process(AudioFrame(stereo, 48000, 2, None, 21000))
        self.assertEqual(second.timestamp_us, 1000 + first.frames * 1e6 / 16000)
        tail = list(rs.flush())
        self.assertEqual(first.frames + second.frames + sum(t.frames for t in tail), 640)
        with self.assertRaisesRegex(ItemError, r"FastResampleNode expects every frame of a stream in the format of "
                                               r"its first frame \(48000 Hz, 2 channels\), got 16000 Hz, 1 channel"):
            rs.process(AudioFrame(sine(0.5), 16000, 1))
        strict = node(FastResampleNode, source_rate=16000, target_rate=8000)
        with self.assertRaisesRegex(ItemError, r"expects audio at 16000 Hz \(its source_rate\), got 48000 Hz"):
            strict.process(AudioFrame(stereo, 48000, 2))
        same = node(FastResampleNode, target_rate="auto")
        frame = AudioFrame(sine(0.5), 16000, 1)
        self.assertIs(same.process(frame), frame)
        loud = node(AudioTransformNode, output_sample_rate=16000, output_channels=2, gain_db=6)
        out = loud.process(frame)
        self.assertEqual(out.channels, 2)
        self.assertAlmostEqual(float(out.samples[2 * 4]), float(frame.samples[4]) * 10 ** (6 / 20), places=6)


def run_manifest(m: Any, frames: list) -> list:
    """Outputs of a manifest fed audio frames (through the executor, as ``run -i`` feeds them)."""
    from pitlane_ref.line_input import LineInput
    from pitlane_ref.pipeline import Pipeline

    class Frames(LineInput):
        is_audio = True

        async def frames(self) -> Any:
            for f in frames:
                yield f

    async def go() -> list:
        outputs: list = []
        result = await Pipeline(normalize_manifest(m), outputs.append, input=Frames()).run()
        assert result.ok, (result.failure, result.init_error)
        return outputs

    return asyncio.run(go())


class PythonNodesAndAudio(unittest.TestCase):
    CODE = (
        "from pitlane import AudioFrame\n"
        "class Node:\n"
        "    def process(self, frame):\n"
        "        assert isinstance(frame, AudioFrame) and not frame.samples.flags.writeable\n"
        "        if frame.channels == 2:\n"
        "            return (frame.samples.T * 0.5, frame.sample_rate)  # RemoteMedia's (channels, samples)\n"
        "        return frame.derive(frame.samples * 2, metadata={'seen': [frame.sample_rate, frame.frames,\n"
        "                            frame.timestamp_us, frame.duration, frame.start, type(frame.sample_rate).__name__]})\n"
    )

    def test_frames_cross_as_pitlanes_worker_gives_them(self) -> None:
        m = {"version": "v1", "metadata": {"name": "t"},
             "nodes": [{"id": "py", "node_type": "python", "params": {"code": self.CODE}}]}
        mono = AudioFrame(sine(0.25), 16000, 1, "s", 20000, 5.0)
        stereo = AudioFrame(np.repeat(sine(0.25), 2), 16000, 2, None, 40000, 6.0)
        out_mono, out_stereo = run_manifest(m, [mono, stereo])
        self.assertEqual(out_mono.metadata, {"seen": [16000, 320, 20000, 0.02, 0.02, "int"]})
        self.assertEqual((out_mono.stream_id, out_mono.timestamp_us, out_mono.arrival_ts_us), ("s", 20000, 5.0))
        self.assertTrue(np.array_equal(out_mono.samples, mono.samples * 2))
        self.assertEqual((out_stereo.channels, out_stereo.timestamp_us, out_stereo.arrival_ts_us), (2, None, 6.0))
        self.assertTrue(np.array_equal(out_stereo.samples, stereo.samples * np.float32(0.5)))

    @unittest.skipUnless(os.path.exists(POCKETSPHINX_MODULE) and importlib.util.find_spec("pocketsphinx"),
                         "needs pitlane's src/python/nodes/pocketsphinx_stt.py and the pocketsphinx module")
    def test_pocketsphinx_node_transcribes_an_utterance(self) -> None:
        with open("/usr/share/pocketsphinx/test/data/goforward.raw", "rb") as f:
            samples = np.frombuffer(f.read(), dtype="<i2").astype(np.float32) / np.float32(32768)
        m = {"version": "v1", "metadata": {"name": "t"}, "nodes": [{"id": "stt", "node_type": "PocketSphinxSTT"}]}
        (out,) = run_manifest(m, [AudioFrame(samples, 16000, 1, None, 0, 1.0)])
        self.assertEqual((out["text"], out["start"]), ("go forward ten meters", 0))


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

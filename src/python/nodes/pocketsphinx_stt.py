"""pocketsphinx_stt: speech recognition with CMU PocketSphinx, as a pitlane Python node (docs/audio.md).

The node type `PocketSphinxSTT` (src/nodes/pocketsphinx-stt.ts) runs this class on a CPython worker; a `python`
node may run it too (`module: <pitlane>/src/python/nodes/pocketsphinx_stt.py`, `class: PocketSphinxSTT`).

Each input item is one utterance: a 16 kHz mono AudioFrame (upstream nodes resample, chunk and cut utterances with
VAD). The node decodes it whole with PocketSphinx's US-English acoustic model, language model and dictionary, and
outputs RemoteMedia's transcription segment shape (a WhisperX segment): {"text", "start", "end"}, times in seconds
of the stream, from the frame's timestamp and duration ("stream_id" too when the frame has one). An utterance with
no words outputs nothing, as RemoteMedia's Whisper nodes drop empty transcripts.

PocketSphinx is Debian's python3-pocketsphinx (0.1.15: the SWIG `pocketsphinx.Decoder` API) with the model of
pocketsphinx-en-us; both live in Debian's Python (/usr/bin/python3). Samples are converted to 16-bit PCM, the
decoder's input, exactly (a frame read from 16-bit PCM gives back the very same integers), so its transcripts are
those of PocketSphinx run alone on the same audio.
"""

MODEL_DIR = "/usr/share/pocketsphinx/model/en-us"
DEFAULT_HMM = MODEL_DIR + "/en-us"
DEFAULT_LM = MODEL_DIR + "/en-us.lm.bin"
DEFAULT_DICT = MODEL_DIR + "/cmudict-en-us.dict"
SAMPLE_RATE = 16000


class PocketSphinxSTT:
    """16 kHz mono utterances in, {"text", "start", "end"} out (see the module docstring)."""

    def __init__(self, node_id="PocketSphinxSTT", hmm=None, lm=None, dict=None):  # noqa: A002 (PocketSphinx's name)
        self.node_id = node_id
        self.hmm = hmm or DEFAULT_HMM
        self.lm = lm or DEFAULT_LM
        self.dict = dict or DEFAULT_DICT
        self.decoder = None

    def initialize(self):
        import sys

        try:
            from pocketsphinx import Decoder
        except ImportError:
            raise ImportError(
                "PocketSphinxSTT (node %s) needs the pocketsphinx module, which %s cannot import: install Debian's "
                "python3-pocketsphinx and pocketsphinx-en-us, or name an interpreter that has it in the node's "
                "`python` param" % (self.node_id, sys.executable)
            ) from None
        config = Decoder.default_config()
        config.set_string("-hmm", self.hmm)
        config.set_string("-lm", self.lm)
        config.set_string("-dict", self.dict)
        config.set_string("-logfn", "/dev/null")  # PocketSphinx logs every utterance on stderr otherwise
        self.decoder = Decoder(config)

    def process(self, frame):
        rate = getattr(frame, "sample_rate", None)
        channels = getattr(frame, "channels", None)
        if rate is None or channels is None:
            raise TypeError(
                "PocketSphinxSTT (node %s) takes audio frames, got a %s" % (self.node_id, type(frame).__name__)
            )
        if rate != SAMPLE_RATE or channels != 1:
            raise ValueError(
                "PocketSphinxSTT (node %s) takes 16000 Hz mono audio, got %s Hz with %s channel(s): resample "
                "before it (e.g. FastResampleNode to 16000 Hz, 1 channel)" % (self.node_id, _number(rate), channels)
            )
        text = self.transcribe(_pcm16(frame.samples))
        if not text:
            return None
        start = frame.start
        out = {"text": text, "start": start, "end": start + frame.duration}
        if frame.stream_id is not None:
            out["stream_id"] = frame.stream_id
        return out

    def transcribe(self, pcm):
        """The hypothesis for one utterance of 16-bit little-endian PCM bytes ("" when there is none)."""
        decoder = self.decoder
        decoder.start_utt()
        decoder.process_raw(pcm, False, True)
        decoder.end_utt()
        hyp = decoder.hyp()
        return hyp.hypstr.strip() if hyp is not None else ""


def _number(x):
    return int(x) if float(x).is_integer() else x


def _pcm16(samples):
    """16-bit little-endian PCM of f32 samples in [-1, 1] (clipped): x * 32768, rounded, as 16-bit PCM readers
    divide by 32768."""
    if hasattr(samples, "dtype"):
        import numpy as np

        scaled = np.rint(np.asarray(samples, dtype=np.float64).reshape(-1) * 32768.0)
        return np.clip(scaled, -32768, 32767).astype("<i2").tobytes()
    import array
    import sys

    pcm = array.array("h", (max(-32768, min(32767, round(x * 32768.0))) for x in samples))
    if sys.byteorder != "little":
        pcm.byteswap()
    return pcm.tobytes()

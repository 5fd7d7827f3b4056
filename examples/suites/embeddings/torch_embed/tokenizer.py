"""BERT WordPiece tokenisation read from a Hugging Face tokenizer.json, in plain Python.

What a Python team gets from the `tokenizers` package, written here because that package is not in Debian: the
BertNormalizer (drop control characters, map whitespace to spaces, space out CJK ideographs, strip accents,
lowercase), the BertPreTokenizer (split on whitespace, each punctuation mark a word of its own), greedy
longest-match-first WordPiece with the `##` continuation prefix ([UNK] for a word that cannot be matched or is
longer than max_input_chars_per_word), [CLS] ... [SEP] from the post-processor, and truncation that keeps them.
The rules are those of the Rust crate (normalizers/bert.rs, pre_tokenizers/bert.rs, models/wordpiece).
Character classes come from Python's unicodedata (Unicode 14.0 in Python 3.11), pitlane's from Node's ICU (17.0):
a character assigned since 14.0 (the emoji U+1FAE8, say) is unassigned here, so dropped as "other", where
pitlane keeps it as [UNK]. Texts without such characters get the same ids (test/torch-embed.test.mjs).
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

# Unicode's White_Space property (PropList.txt): Python has no query for it, and str.isspace() also counts
# U+001C..U+001F, which BERT does not.
_WHITE_SPACE = frozenset(
    [0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x20, 0x85, 0xA0, 0x1680, *range(0x2000, 0x200B), 0x2028, 0x2029]
    + [0x202F, 0x205F, 0x3000]
)

_CJK_RANGES = (
    (0x4E00, 0x9FFF),
    (0x3400, 0x4DBF),
    (0x20000, 0x2A6DF),
    (0x2A700, 0x2B73F),
    (0x2B740, 0x2B81F),
    (0x2B820, 0x2CEAF),
    (0xF900, 0xFAFF),
    (0x2F800, 0x2FA1F),
)


class TokenizerFileError(ValueError):
    """The tokenizer.json cannot be read or describes something this tokenizer does not implement."""


def _is_cjk(cp: int) -> bool:
    return any(lo <= cp <= hi for lo, hi in _CJK_RANGES)


def _is_punctuation(ch: str) -> bool:
    """ASCII punctuation and symbols ($ + < = > ^ ` | ~ included), or any Unicode P* character."""
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return cp > 127 and unicodedata.category(ch).startswith("P")


@dataclass(frozen=True)
class NormalizerSettings:
    """The BertNormalizer of tokenizer.json."""

    clean_text: bool
    handle_chinese_chars: bool
    strip_accents: bool
    lowercase: bool


def normalize(text: str, settings: NormalizerSettings) -> str:
    """BertNormalizer: clean text, space around CJK ideographs, strip accents, lowercase (in that order)."""
    out: list[str] = []
    for ch in text:
        cp = ord(ch)
        if settings.clean_text:
            if cp == 0 or cp == 0xFFFD:
                continue
            if ch in "\t\n\r":
                out.append(" ")
                continue
            # Controls go before whitespace is mapped: U+000B, U+000C and U+0085 are both and are dropped.
            if unicodedata.category(ch).startswith("C"):
                continue
            if cp in _WHITE_SPACE:
                out.append(" ")
                continue
        if settings.handle_chinese_chars and _is_cjk(cp):
            out.append(f" {ch} ")
        else:
            out.append(ch)
    result = "".join(out)
    if settings.strip_accents:
        decomposed = unicodedata.normalize("NFD", result)
        result = "".join(c for c in decomposed if unicodedata.category(c) != "Mn")
    return result.lower() if settings.lowercase else result


def pre_tokenize(text: str) -> list[str]:
    """BertPreTokenizer: split on whitespace (dropped) and on punctuation (each mark its own word)."""
    words: list[str] = []
    current: list[str] = []
    for ch in text:
        # Rust's char::is_whitespace is the White_Space property.
        if ord(ch) in _WHITE_SPACE:
            kind = "space"
        elif _is_punctuation(ch):
            kind = "punctuation"
        else:
            current.append(ch)
            continue
        if current:
            words.append("".join(current))
            current = []
        if kind == "punctuation":
            words.append(ch)
    if current:
        words.append("".join(current))
    return words


@dataclass(frozen=True)
class Encoding:
    """One encoded text: token ids with [CLS] and [SEP]; the segment ids of a single sequence are all 0."""

    ids: list[int]


class WordPieceTokenizer:
    """A BERT WordPiece tokenizer. Build it with `WordPieceTokenizer.from_file`."""

    def __init__(
        self,
        vocab: dict[str, int],
        unk_token: str,
        prefix: str,
        max_input_chars_per_word: int,
        normalizer: NormalizerSettings | None,
        before: list[int],
        after: list[int],
        added_tokens: dict[str, int],
        pad_id: int,
    ) -> None:
        self.vocab = vocab
        self.unk_id = vocab[unk_token]
        self.prefix = prefix
        self.max_input_chars_per_word = max_input_chars_per_word
        self.normalizer = normalizer
        self.before = before
        self.after = after
        self.pad_id = pad_id
        # Added tokens ([MASK] ...) are matched verbatim in the raw text, longest first.
        self.added_tokens = sorted(added_tokens.items(), key=lambda item: -len(item[0]))
        self._word_cache: dict[str, list[int]] = {}

    @classmethod
    def from_file(cls, path: Path) -> WordPieceTokenizer:
        """Reads a tokenizer.json; a file of another kind is a TokenizerFileError naming the file and the part."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            raise TokenizerFileError(f"{path}: cannot read the tokenizer file: {err}") from err
        return cls.from_json(data, str(path))

    @classmethod
    def from_json(cls, data: Any, source: str) -> WordPieceTokenizer:
        def fail(message: str) -> TokenizerFileError:
            return TokenizerFileError(f"{source}: {message}")

        model = data.get("model") if isinstance(data, dict) else None
        if not isinstance(model, dict) or model.get("type") != "WordPiece":
            raise fail("model is not WordPiece (model.type); only BERT-style tokenizers are handled")
        vocab = dict(model.get("vocab") or {})
        unk = model.get("unk_token", "[UNK]")
        if unk not in vocab:
            raise fail(f"model.unk_token {unk} is not in model.vocab")
        added: dict[str, int] = {}
        for token in data.get("added_tokens") or []:
            added[token["content"]] = token["id"]
            vocab.setdefault(token["content"], token["id"])

        normalizer = None
        raw = data.get("normalizer")
        if raw is not None:
            if raw.get("type") != "BertNormalizer":
                raise fail(f"normalizer.type {raw.get('type')!r} is not supported (expected BertNormalizer)")
            lowercase = raw.get("lowercase") is not False
            strip = raw.get("strip_accents")
            normalizer = NormalizerSettings(
                clean_text=raw.get("clean_text") is not False,
                handle_chinese_chars=raw.get("handle_chinese_chars") is not False,
                # null (the usual value) follows `lowercase`, as BERT does.
                strip_accents=strip if isinstance(strip, bool) else lowercase,
                lowercase=lowercase,
            )
        pre = data.get("pre_tokenizer")
        if pre is not None and pre.get("type") != "BertPreTokenizer":
            raise fail(f"pre_tokenizer.type {pre.get('type')!r} is not supported (expected BertPreTokenizer)")
        before, after = cls._template(data.get("post_processor"), vocab, fail)
        padding = data.get("padding")
        pad_id = padding["pad_id"] if isinstance(padding, dict) else vocab.get("[PAD]", 0)
        return cls(
            vocab,
            unk,
            model.get("continuing_subword_prefix", "##"),
            model.get("max_input_chars_per_word", 100),
            normalizer,
            before,
            after,
            added,
            pad_id,
        )

    @staticmethod
    def _template(
        post: Any, vocab: dict[str, int], fail: Callable[[str], TokenizerFileError]
    ) -> tuple[list[int], list[int]]:
        """The ids placed before and after a single sequence by the post-processor."""
        if post is None or post.get("type") == "BertProcessing":
            cls_token = post["cls"][0] if post else "[CLS]"
            sep_token = post["sep"][0] if post else "[SEP]"
            return [vocab[cls_token]], [vocab[sep_token]]
        if post.get("type") != "TemplateProcessing":
            raise fail(f"post_processor.type {post.get('type')!r} is not supported")
        before: list[int] = []
        after: list[int] = []
        seen_sequence = False
        specials = post.get("special_tokens") or {}
        for piece in post["single"]:
            if "Sequence" in piece:
                seen_sequence = True
                continue
            name = piece["SpecialToken"]["id"]
            ids = specials[name]["ids"] if name in specials else [vocab[name]]
            (after if seen_sequence else before).extend(ids)
        return before, after

    def tokenize_to_ids(self, text: str) -> list[int]:
        """WordPiece ids of a text, without special tokens and without truncation."""
        out: list[int] = []
        for segment in self._split_added_tokens(text):
            if isinstance(segment, int):
                out.append(segment)
                continue
            normalized = normalize(segment, self.normalizer) if self.normalizer else segment
            for word in pre_tokenize(normalized):
                out.extend(self._word_ids(word))
        return out

    def encode(self, text: str, max_length: int) -> Encoding:
        """[CLS] tokens [SEP], the tokens cut on the right so that the whole is at most max_length."""
        room = max(0, max_length - len(self.before) - len(self.after))
        return Encoding(self.before + self.tokenize_to_ids(text)[:room] + self.after)

    def _split_added_tokens(self, text: str) -> list[str | int]:
        if not self.added_tokens or "[" not in text and "<" not in text:
            return [text]
        out: list[str | int] = []
        start = i = 0
        while i < len(text):
            hit = None
            if text[i] in "[<":
                hit = next((t for t in self.added_tokens if text.startswith(t[0], i)), None)
            if hit is None:
                i += 1
                continue
            if i > start:
                out.append(text[start:i])
            out.append(hit[1])
            i += len(hit[0])
            start = i
        if start < len(text):
            out.append(text[start:])
        return out

    def _word_ids(self, word: str) -> list[int]:
        """Greedy longest-match-first WordPiece; the whole word is [UNK] if any part has no match."""
        cached = self._word_cache.get(word)
        if cached is not None:
            return cached
        ids: list[int] = []
        if len(word) > self.max_input_chars_per_word:
            ids = [self.unk_id]
        else:
            start = 0
            while start < len(word):
                end = len(word)
                found = None
                while start < end:
                    piece = word[start:end] if start == 0 else self.prefix + word[start:end]
                    found = self.vocab.get(piece)
                    if found is not None:
                        break
                    end -= 1
                if found is None:
                    ids = [self.unk_id]
                    break
                ids.append(found)
                start = end
        if len(self._word_cache) >= 50_000:
            self._word_cache.clear()
        self._word_cache[word] = ids
        return ids

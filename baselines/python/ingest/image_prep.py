"""The image front end of the Python ingest baseline: one encoded photo (JPEG, PNG or WebP bytes) in, the two
pictures the vision models take out, decoding the file once. It mirrors pitlane's
src/inference/vision/image-prep.ts step for step, so that both contestants feed the models the same pixels:

- the format is sniffed from the magic bytes; anything but JPEG, PNG and WebP never reaches a decoder;
- the header is read first (Pillow opens lazily): a picture of more than `max_pixels` is refused before any
  pixel is decoded (decompression bombs);
- the letterbox geometry (Ultralytics: scale = min(S/w, S/h), content rounded half up, padding centred with
  round(d/2 - 0.1)) and the crop geometry (torchvision: shorter side to S, longer side truncated, centre crop
  rounded half to even) are pitlane's arithmetic, digit for digit;
- the file is decoded once, straight to the larger of the two resized pictures, and the other one is resized
  from it. JPEGs use libjpeg's DCT scaling (Pillow's `draft`, the equivalent of sharp's shrink-on-load) with
  the factor sharp picks, so neither picture is upscaled from below what it needs;
- EXIF orientation is applied, alpha is flattened onto white, ICC profiles are ignored (as in pitlane);
- resampling is Lanczos-3 with a reducing gap of 2, what sharp's default kernel and libvips' `vips_resize` do.

The detector gets only the letterbox's content (the SSD graph resizes its input itself); the padded square is
described by `pad_x`/`pad_y` but never materialised. All of it is plain CPU work that releases the GIL in
Pillow's decoder and resampler: callers run it on a thread pool.
"""
from __future__ import annotations

import io
import math
import time
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

# The size limit is ours (max_pixels, checked from the header); Pillow's own bomb check would refuse at a
# different number with a different message.
Image.MAX_IMAGE_PIXELS = None

LETTERBOX_SIZE = 640
CROP_SIZE = 256
PAD_VALUE = 114
RESAMPLE = Image.Resampling.LANCZOS
REDUCING_GAP = 2.0

_PIL_FORMAT = {"jpeg": "JPEG", "png": "PNG", "webp": "WEBP"}
_ORIENTATION_TAG = 0x0112


class ImageError(Exception):
    """One image that could not be prepared: its name, a stable reason and a message naming the image."""

    def __init__(self, name: str, reason: str, message: str) -> None:
        super().__init__(f"{name}: {message}")
        self.name = name
        self.reason = reason


@dataclass(frozen=True)
class LetterboxGeometry:
    scale: float
    content_width: int
    content_height: int
    pad_x: int
    pad_y: int


@dataclass(frozen=True)
class CropGeometry:
    resized_width: int
    resized_height: int
    left: int
    top: int


@dataclass
class PreparedImage:
    """One decoded photo, ready for the models."""

    name: str
    #: Upright size (after EXIF orientation): the frame detections are reported in.
    width: int
    height: int
    format: str
    orientation: int
    #: Size of the one decoded (shrunk) picture both outputs were made from.
    decoded_width: int
    decoded_height: int
    letterbox_size: int
    scale: float
    pad_x: int
    pad_y: int
    #: The letterbox's content, content_height x content_width x 3 RGB bytes (no padding).
    content: np.ndarray
    #: The centre crop, crop_size x crop_size x 3 RGB bytes.
    crop: np.ndarray
    #: The decoded picture (for box crops), when asked for.
    decoded: Image.Image | None
    decode_ms: float
    tensor_ms: float


def _round_half_up(x: float) -> int:
    """JavaScript's Math.round."""
    return math.floor(x + 0.5)


def letterbox_geometry(width: int, height: int, size: int = LETTERBOX_SIZE) -> LetterboxGeometry:
    """image-prep.ts `letterboxGeometry`: content rounded half up, the odd padding pixel at the bottom/right."""
    scale = min(size / width, size / height)
    content_width = max(1, min(size, _round_half_up(width * scale)))
    content_height = max(1, min(size, _round_half_up(height * scale)))
    pad_x = max(0, _round_half_up((size - content_width) / 2 - 0.1))
    pad_y = max(0, _round_half_up((size - content_height) / 2 - 0.1))
    return LetterboxGeometry(scale, content_width, content_height, pad_x, pad_y)


def crop_geometry(width: int, height: int, size: int = CROP_SIZE) -> CropGeometry:
    """image-prep.ts `cropGeometry`: torchvision Resize(size) (longer side truncated), CenterCrop(size)."""
    if width <= height:
        resized_width, resized_height = size, max(size, (size * height) // width)
    else:
        resized_width, resized_height = max(size, (size * width) // height), size
    # Python's round() is half-to-even, which is what image-prep.ts (and torchvision) use here.
    return CropGeometry(resized_width, resized_height,
                        round((resized_width - size) / 2), round((resized_height - size) / 2))


def sniff_format(name: str, data: bytes) -> str:
    """JPEG, PNG or WebP from the magic bytes; ImageError for anything else."""
    if len(data) == 0:
        raise ImageError(name, "empty", "is empty (0 bytes); expected a JPEG, PNG or WebP image")
    if data[:3] == b"\xff\xd8\xff":
        return "jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    other = _known_other_format(data)
    if other is not None:
        raise ImageError(name, "unsupported-format",
                         f"is {other}; only JPEG, PNG and WebP images are accepted")
    raise ImageError(name, "not-an-image", "is not an image (no JPEG, PNG or WebP signature)")


def _known_other_format(data: bytes) -> str | None:
    head = data[:6]
    if head in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return "TIFF"
    if head.startswith(b"BM"):
        return "BMP"
    if data[4:8] == b"ftyp":
        return "HEIF/AVIF (or another ISO media file)"
    if head.startswith(b"%PDF"):
        return "PDF"
    text = data[:256].decode("latin-1").lstrip().lower()
    if text.startswith("<svg") or (text.startswith("<?xml") and "<svg" in text):
        return "SVG"
    return None


def jpeg_shrink_on_load(stored_width: int, stored_height: int, target_width: int, target_height: int) -> int:
    """The DCT scaling factor sharp picks with fastShrinkOnLoad (sharp pipeline.cc), for a resize to target."""
    shrink = min(stored_width / target_width, stored_height / target_height)
    factor = 1
    for f in (8, 4, 2):
        if shrink >= f:
            factor = f
            break
    # sharp: "lower shrink-on-load for known libjpeg rounding errors".
    if factor > 1 and int(shrink) == factor:
        factor //= 2
    return factor


def _orientation(img: Image.Image) -> int:
    try:
        value = img.getexif().get(_ORIENTATION_TAG, 1)
    except Exception:  # a damaged EXIF block: show the picture as stored, as libvips does
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _to_rgb(img: Image.Image) -> Image.Image:
    """RGB, with any transparency flattened onto white."""
    if img.mode == "RGB":
        return img
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        # 16-bit greyscale: Pillow's convert clips instead of scaling.
        grey = np.asarray(img, dtype=np.float64) / 257.0
        return Image.fromarray(np.clip(grey + 0.5, 0, 255).astype(np.uint8), "L").convert("RGB")
    has_alpha = img.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        img.mode in ("P", "L", "RGB") and "transparency" in img.info)
    if has_alpha:
        rgba = img.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return img.convert("RGB")


def _resize(img: Image.Image, width: int, height: int) -> Image.Image:
    if img.size == (width, height):
        return img
    return img.resize((width, height), RESAMPLE, reducing_gap=REDUCING_GAP)


def prepare_image(data: bytes, name: str, *, letterbox_size: int = LETTERBOX_SIZE, crop_size: int = CROP_SIZE,
                  max_pixels: float = 50_000_000, keep_decoded: bool = False) -> PreparedImage:
    """Decodes a photo once and builds the letterbox content and the centre crop (see the module header).

    Raises ImageError (reason empty, not-an-image, unsupported-format, corrupt or too-many-pixels).
    """
    t0 = time.perf_counter()
    fmt = sniff_format(name, data)
    try:
        img = Image.open(io.BytesIO(data), formats=[_PIL_FORMAT[fmt]])
    except (UnidentifiedImageError, SyntaxError, OSError, ValueError) as err:
        raise ImageError(name, "corrupt",
                         f"starts like {fmt.upper()} but its header is not readable ({err})") from err
    try:
        stored_width, stored_height = img.size
        pixels = stored_width * stored_height
        if pixels > max_pixels:
            raise ImageError(
                name, "too-many-pixels",
                f"{stored_width}×{stored_height} is {_format_pixels(pixels)}, over the limit of "
                f"{_format_pixels(max_pixels)} (--max-megapixels); refused without decoding "
                "(possible decompression bomb)")
        if fmt == "png":
            # A PNG's eXIf chunk may follow the pixels, and PNG has no DCT scaling: decode, then read it.
            img.load()
        orientation = _orientation(img)
        rotated = orientation >= 5
        width, height = (stored_height, stored_width) if rotated else (stored_width, stored_height)

        box = letterbox_geometry(width, height, letterbox_size)
        crop = crop_geometry(width, height, crop_size)
        box_is_larger = (box.content_width * box.content_height
                         >= crop.resized_width * crop.resized_height)
        decode_width, decode_height = ((box.content_width, box.content_height) if box_is_larger
                                       else (crop.resized_width, crop.resized_height))

        if fmt == "jpeg":
            target = (decode_height, decode_width) if rotated else (decode_width, decode_height)
            factor = jpeg_shrink_on_load(stored_width, stored_height, *target)
            if factor > 1:
                # draft() picks the largest factor that keeps at least this size: exactly `factor` here.
                img.draft("RGB", (stored_width // factor, stored_height // factor))
        img.load()
        if orientation != 1:
            img = ImageOps.exif_transpose(img)
        decoded = _resize(_to_rgb(img), decode_width, decode_height)
    except ImageError:
        raise
    except (OSError, SyntaxError, ValueError, EOFError) as err:
        raise ImageError(
            name, "corrupt",
            f"is a corrupt or truncated {fmt.upper()} image ({err}); the file is damaged or incomplete") from err
    t1 = time.perf_counter()

    if box_is_larger:
        content = np.asarray(decoded)
        small = _resize(decoded, crop.resized_width, crop.resized_height)
        crop_pixels = np.asarray(small)[crop.top:crop.top + crop_size, crop.left:crop.left + crop_size]
    else:
        crop_pixels = np.asarray(decoded)[crop.top:crop.top + crop_size, crop.left:crop.left + crop_size]
        content = np.asarray(_resize(decoded, box.content_width, box.content_height))
    t2 = time.perf_counter()
    return PreparedImage(
        name=name, width=width, height=height, format=fmt, orientation=orientation,
        decoded_width=decoded.width, decoded_height=decoded.height,
        letterbox_size=letterbox_size, scale=box.scale, pad_x=box.pad_x, pad_y=box.pad_y,
        content=np.ascontiguousarray(content), crop=np.ascontiguousarray(crop_pixels),
        decoded=decoded if keep_decoded else None,
        decode_ms=(t1 - t0) * 1000, tensor_ms=(t2 - t1) * 1000)


def _format_pixels(pixels: float) -> str:
    return f"{pixels / 1e6:.1f} megapixels" if pixels >= 1e6 else f"{int(pixels)} pixels"

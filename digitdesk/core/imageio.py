"""Reading image files and bytes for recognition.

:func:`read_image` and :func:`decode_image` always return a uint8 **BGR** array ``(H, W, 3)``
(OpenCV's channel order), whatever the file holds: grayscale, palette, 1-bit, 16-bit, float,
CMYK or with an alpha channel (composited over white, so transparent backgrounds become paper).
EXIF orientation is applied and multi-frame files (GIF, TIFF) give their first frame. Every
failure raises :class:`~digitdesk.core.errors.ImageError` with a message that names the file.

Size: at most ``max_pixels`` pixels are decoded. A larger JPEG (a big scan) is decoded at 1/2,
1/4 or 1/8 of its width and height, the least reduction that fits, so it costs no more memory
than a ``max_pixels`` image; other formats can only be decoded at full size and are refused.
This limit replaces Pillow's decompression-bomb check, which would refuse such scans.
"""

from __future__ import annotations

import io
import os
import threading
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from digitdesk.core.errors import ImageError

if TYPE_CHECKING:  # Pillow is imported when a file is first decoded: the Draw tab's first reading needs none
    from PIL import Image

SUPPORTED_EXTENSIONS: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".gif")
DEFAULT_MAX_PIXELS = 40_000_000  # decoded pixels: about 160 MB as Pillow holds RGB
REDUCTIONS = (1, 2, 4, 8)  # the scale factors a JPEG can be decoded at (libjpeg's DCT scaling)
# A JPEG read at reduced size must hold at least this many bytes per megapixel it claims (0.008
# bits a pixel; scans and photos hold 0.1 to 3): less is a damaged file or a decompression bomb,
# whose missing data libjpeg would silently fill with grey.
MIN_BYTES_PER_MP = 1000

_ALPHA_MODES = {"LA", "La", "PA", "RGBA", "RGBa"}
_HIGH_DEPTH_MODES = {"I", "I;16", "I;16L", "I;16B", "I;16N", "F"}
_OPEN_LOCK = threading.Lock()  # serialises the switch of Pillow's global limit in _open


def read_image(path: str | os.PathLike, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Read an image file as uint8 BGR ``(H, W, 3)``; refuse images above ``max_pixels`` pixels."""
    name = str(path)
    p = Path(path)
    try:
        if not p.exists():
            raise ImageError(f"{name}: file not found")
        if p.is_dir():
            raise ImageError(f"{name}: is a folder, not an image file")
        if p.stat().st_size == 0:
            raise ImageError(f"{name}: the file is empty (0 bytes)")
    except OSError as exc:
        raise ImageError(f"{name}: cannot access the file ({exc.strerror or exc})") from None
    return _decode(p, name, max_pixels, p.stat().st_size)


def decode_image(data: bytes, name: str = "image", max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Decode an encoded image held in memory (clipboard, drag and drop) as uint8 BGR ``(H, W, 3)``."""
    data = bytes(data)
    if not data:
        raise ImageError(f"{name}: no image data (0 bytes)")
    return _decode(io.BytesIO(data), name, max_pixels, len(data))


def to_gray(image: np.ndarray) -> np.ndarray:
    """Convert a BGR, BGRA or grayscale array of any common dtype to uint8 grayscale ``(H, W)``."""
    try:
        image = np.asarray(image)
    except (ValueError, TypeError):  # ragged nested lists
        raise ImageError("cannot convert ragged rows of different lengths to an image") from None
    if image.dtype.kind not in "biuf":  # bool, integers, floats: complex, object, text are no pixels
        raise ImageError(f"cannot use pixels of type {image.dtype} as an image (expected numbers)")
    if image.ndim in (2, 3) and 0 in image.shape[:2]:
        raise ImageError(f"the image has no pixels (shape {image.shape})")
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim == 3 and image.shape[2] in (3, 4):
        image = _to_uint8(image)
        if image.shape[2] == 4:
            alpha = image[:, :, 3:4].astype(np.float32) / 255.0
            bgr = image[:, :, :3].astype(np.float32) * alpha + 255.0 * (1.0 - alpha)
            image = np.rint(bgr).astype(np.uint8)
        return cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_BGR2GRAY)
    if image.ndim == 2:
        return _to_uint8(image)
    raise ImageError(f"cannot convert an array of shape {image.shape} to a grayscale image")


def _to_uint8(a: np.ndarray) -> np.ndarray:
    if not a.dtype.isnative:  # big-endian data (IDX files, some TIFFs): the same pixels
        a = a.astype(a.dtype.newbyteorder("="))
    if a.dtype == np.uint8:
        return a
    if a.dtype == bool:
        return a.astype(np.uint8) * 255
    if a.dtype == np.uint16:
        return np.rint(a / 257.0).astype(np.uint8)
    if np.issubdtype(a.dtype, np.floating):
        finite = a[np.isfinite(a)]
        scale = 255.0 if finite.size and finite.min() >= 0 and finite.max() <= 1 else 1.0
        a = np.clip(np.nan_to_num(a.astype(np.float64), nan=0.0), 0.0, 255.0 / scale)  # clip first: no overflow
        return np.rint(a * scale).astype(np.uint8)
    return np.clip(a, 0, 255).astype(np.uint8)


def _open(source: Path | io.BytesIO) -> Image.Image:
    """``Image.open`` without Pillow's decompression-bomb limit (a process-wide setting, switched
    off only around this call): :func:`_decode` applies its own limit to the pixels it decodes."""
    from PIL import Image

    with _OPEN_LOCK:
        saved, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None
        try:
            return Image.open(source)
        finally:
            Image.MAX_IMAGE_PIXELS = saved


def _mp(pixels: float) -> str:
    return f"{pixels / 1e6:.3g} MP"


def _reduce_to_fit(im: Image.Image, name: str, max_pixels: int, nbytes: int) -> None:
    """Make ``im`` decode at most ``max_pixels`` pixels: a JPEG (of ``nbytes`` bytes) at the least
    reduction of :data:`REDUCTIONS` that fits; anything else that is too large raises ImageError."""
    width, height = im.size
    if width * height <= max_pixels:
        return
    fits = [f for f in REDUCTIONS if (-(-width // f)) * (-(-height // f)) <= max_pixels]
    if im.format in ("JPEG", "MPO") and fits:
        if nbytes < width * height / 1e6 * MIN_BYTES_PER_MP:
            raise ImageError(f"{name}: image claims to be {width}x{height} = {_mp(width * height)}, but the file "
                             f"holds only {nbytes:,} bytes, far too little for a picture that size "
                             "(a damaged file, or a decompression bomb)")
        im.draft(None, (width // fits[0], height // fits[0]))  # libjpeg decodes at 1/f directly
        if im.size[0] * im.size[1] <= max_pixels:
            return
    too_big = f"{name}: image is {width}x{height} = {_mp(width * height)}, above the {_mp(max_pixels)} limit"
    if im.format not in ("JPEG", "MPO"):
        raise ImageError(f"{too_big} (only JPEG images can be read at a reduced size: scale it down, "
                         "or save it as a JPEG)")
    if not fits:
        raise ImageError(f"{too_big}, even read at 1/{REDUCTIONS[-1]} of its width and height")
    raise ImageError(f"{too_big}, and this JPEG cannot be read at a reduced size: scale it down")


def _decode(source: Path | io.BytesIO, name: str, max_pixels: int, nbytes: int) -> np.ndarray:
    from PIL import Image, ImageOps, UnidentifiedImageError

    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            im = _open(source)
        except UnidentifiedImageError:
            raise ImageError(f"{name}: not an image, or an image format that cannot be read") from None
        except FileNotFoundError:
            raise ImageError(f"{name}: file not found") from None
        except PermissionError:
            raise ImageError(f"{name}: permission denied") from None
        except Exception as exc:  # corrupt headers surface as SyntaxError, ValueError, struct.error...
            raise ImageError(f"{name}: not a readable image ({type(exc).__name__}: {exc})") from None
        with im:
            width, height = im.size
            _reduce_to_fit(im, name, max_pixels, nbytes)
            if width == 0 or height == 0:
                raise ImageError(f"{name}: image has no pixels ({width}x{height})")
            try:
                im.load()  # a full decode, so truncated or corrupt data is detected here
            except (Image.DecompressionBombError, Image.DecompressionBombWarning):  # a frame or tile Pillow
                # checks while decoding, when its limit was lowered below ours
                raise ImageError(f"{name}: part of the image is too large to decode safely") from None
            except Exception as exc:  # OSError "image file is truncated", SyntaxError, ValueError...
                raise ImageError(f"{name}: the image is damaged or truncated ({exc})") from None
            try:
                im = ImageOps.exif_transpose(im)
            except Exception:  # a broken EXIF block: keep the pixels as stored
                pass
            return _to_bgr(im, name)


def _to_bgr(im: Image.Image, name: str) -> np.ndarray:
    mode = im.mode
    try:
        if mode in _HIGH_DEPTH_MODES:
            gray = _scale_to_uint8(np.asarray(im), mode)
        elif mode in ("L", "1"):
            gray = np.asarray(im if mode == "L" else im.convert("L"), dtype=np.uint8)
        elif mode in _ALPHA_MODES or (mode == "P" and "transparency" in im.info):
            rgba = np.asarray(im.convert("RGBA"), dtype=np.float32)
            alpha = rgba[:, :, 3:4] / 255.0
            rgb = np.rint(rgba[:, :, :3] * alpha + 255.0 * (1.0 - alpha)).astype(np.uint8)
            return np.ascontiguousarray(rgb[:, :, ::-1])
        else:  # RGB, P, CMYK, YCbCr, RGBX, ...
            rgb = np.asarray(im if mode == "RGB" else im.convert("RGB"), dtype=np.uint8)  # no copy of a big scan
            return cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    except (ValueError, OSError) as exc:
        raise ImageError(f"{name}: unsupported colour mode {mode!r} ({exc})") from None
    return cv2.cvtColor(np.ascontiguousarray(gray), cv2.COLOR_GRAY2BGR)


def _scale_to_uint8(a: np.ndarray, mode: str) -> np.ndarray:
    """Stretch 16-bit, 32-bit integer or float pixels to 0..255 by their actual range."""
    with np.errstate(invalid="ignore"):  # signalling NaNs in a damaged float file: NaNs, handled below
        a = a.astype(np.float64)
    finite = np.isfinite(a)
    if not finite.any():
        return np.zeros(a.shape, np.uint8)
    lo, hi = float(a[finite].min()), float(a[finite].max())
    a = np.where(finite, a, lo)
    if hi > lo:
        return np.rint((a - lo) * (255.0 / (hi - lo))).astype(np.uint8)
    # A uniform image: keep its level on the scale of its bit depth.
    full = 1.0 if mode == "F" and 0.0 <= lo <= 1.0 else 65535.0 if mode.startswith("I") else 255.0
    return np.full(a.shape, np.clip(np.rint(lo * 255.0 / full), 0, 255), np.uint8)

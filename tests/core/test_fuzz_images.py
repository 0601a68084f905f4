"""No Qt needed. Property-based tests of image decoding (digitdesk.core.imageio): arrays of every
dtype and shape into to_gray, real files of every format truncated and bit-flipped into
decode_image/read_image, giant-dimension headers. Each either gives the documented result or
raises ImageError with a message for a person, never anything else.

Case counts are in the test names: ``..._1500`` runs 1,500 hypothesis examples.
"""

from __future__ import annotations

import io
import struct
import tracemalloc
import zlib

import cv2
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from digitdesk.core.errors import DigitdeskError, ImageError
from digitdesk.core.imageio import DEFAULT_MAX_PIXELS, SUPPORTED_EXTENSIONS, decode_image, read_image, to_gray
from tests.core.fuzzing import any_arrays, assert_human, fuzz, image_like, outcome

pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")  # no overflow / empty-slice sloppiness either

FUZZ_MAX_PIXELS = 2_000_000  # mutated headers may claim big sizes; keep each decode cheap


# --------------------------------------------------------------------------- real encoded files


def _picture(h: int = 30, w: int = 24) -> np.ndarray:
    """A small RGB picture of a dark stroke on light, slightly noisy paper."""
    rgb = np.full((h, w, 3), 225, np.uint8)
    rgb += np.random.default_rng(0).integers(0, 20, rgb.shape, dtype=np.uint8)
    cv2.line(rgb, (4, 4), (w - 5, h - 6), (20, 30, 120), 3)
    cv2.circle(rgb, (w // 2, h // 2), min(h, w) // 4, (10, 10, 10), 2)
    return rgb


def _pil(image: Image.Image, fmt: str, **kwargs) -> bytes:
    buf = io.BytesIO()
    image.save(buf, fmt, **kwargs)
    return buf.getvalue()


def _cv(ext: str, array: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(ext, array)
    assert ok, ext
    return buf.tobytes()


def _corpus() -> dict[str, bytes]:
    """One real file per format and colour mode that imageio claims to read."""
    rgb = Image.fromarray(_picture())
    gray = rgb.convert("L")
    rgba = rgb.convert("RGBA")
    rgba.putalpha(Image.fromarray(np.tile(np.linspace(0, 255, 24).astype(np.uint8), (30, 1))))
    palette = rgb.convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    deep = (np.asarray(gray).astype(np.uint16) * 257)
    frames = [palette, palette.transpose(Image.Transpose.FLIP_LEFT_RIGHT)]
    return {
        "png-rgb": _pil(rgb, "PNG"),
        "png-gray": _pil(gray, "PNG"),
        "png-rgba": _pil(rgba, "PNG"),
        "png-la": _pil(rgba.convert("LA"), "PNG"),
        "png-palette-transparent": _pil(palette, "PNG", transparency=0),
        "png-1bit": _pil(gray.convert("1"), "PNG"),
        "png-16bit": _cv(".png", deep),
        "png-16bit-bgr": _cv(".png", np.dstack([deep, deep // 2, deep])),
        "png-interlaced": _pil(rgb, "PNG", interlace=1),
        "jpeg": _pil(rgb, "JPEG", quality=90),
        "jpeg-gray": _pil(gray, "JPEG"),
        "jpeg-progressive": _pil(rgb, "JPEG", progressive=True),
        "jpeg-cmyk": _pil(rgb.convert("CMYK"), "JPEG"),
        "bmp": _pil(rgb, "BMP"),
        "bmp-palette": _pil(palette, "BMP"),
        "bmp-1bit": _pil(gray.convert("1"), "BMP"),
        "tiff": _pil(rgb, "TIFF"),
        "tiff-lzw": _pil(rgb, "TIFF", compression="tiff_lzw"),
        "tiff-deflate-rgba": _pil(rgba, "TIFF", compression="tiff_adobe_deflate"),
        "tiff-float": _pil(Image.fromarray(np.asarray(gray, np.float32) / 255, "F"), "TIFF"),
        "tiff-16bit": _cv(".tiff", deep),
        "tiff-multiframe": _pil(frames[0], "TIFF", save_all=True, append_images=frames[1:]),
        "webp-lossy": _pil(rgb, "WEBP", quality=80),
        "webp-lossless-rgba": _pil(rgba, "WEBP", lossless=True),
        "gif": _pil(palette, "GIF"),
        "gif-animated-transparent": _pil(frames[0], "GIF", save_all=True, append_images=frames[1:], transparency=0),
        "pgm": _pil(gray, "PPM"),
        "ppm": _pil(rgb, "PPM"),
        "pgm-16bit": _cv(".pgm", deep),
    }


CORPUS = _corpus()
NAMES = sorted(CORPUS)


def test_corpus_files_decode_to_bgr():
    """Every unmutated corpus file is read, so the fuzzing below starts from valid files."""
    for name in NAMES:
        out = decode_image(CORPUS[name], name=name)
        assert out.dtype == np.uint8 and out.shape == (30, 24, 3), name
    assert {".png", ".jpg", ".bmp", ".tif", ".webp", ".gif"} <= set(SUPPORTED_EXTENSIONS)


def _assert_decoded_or_image_error(result, name: str, max_pixels: int) -> None:
    if isinstance(result, DigitdeskError):
        assert isinstance(result, ImageError), type(result)
        assert_human(result, name)
        return
    assert isinstance(result, np.ndarray) and result.dtype == np.uint8
    assert result.ndim == 3 and result.shape[2] == 3 and result.flags.c_contiguous
    assert 0 < result.shape[0] * result.shape[1] <= max_pixels


@st.composite
def mutated(draw) -> tuple[str, bytes]:
    """A corpus file truncated, bit-flipped, overwritten with random bytes, or several of these."""
    name = draw(st.sampled_from(NAMES))
    data = bytearray(CORPUS[name])
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["truncate", "flip", "flip", "overwrite", "header"]))
        if not data:
            break
        if kind == "truncate":
            data = data[: draw(st.integers(0, len(data) - 1))]
        elif kind in ("flip", "header"):  # "header": bit flips in the first 64 bytes, where sizes live
            top = min(len(data), 64) if kind == "header" else len(data)
            for _ in range(draw(st.integers(1, 8))):
                pos = draw(st.integers(0, top - 1))
                data[pos] ^= 1 << draw(st.integers(0, 7))
        else:
            pos = draw(st.integers(0, len(data) - 1))
            chunk = draw(st.binary(min_size=1, max_size=16))
            data[pos : pos + len(chunk)] = chunk
    return name, bytes(data)


@fuzz(2500, slow_data=True)
@given(mutated())
def test_mutated_files_decode_or_raise_image_error_2500(case):
    name, data = case
    result = outcome(decode_image, data, name=f"{name}.bin", max_pixels=FUZZ_MAX_PIXELS)
    _assert_decoded_or_image_error(result, f"{name}.bin", FUZZ_MAX_PIXELS)


@fuzz(300, slow_data=True)
@given(mutated())
def test_mutated_files_read_from_disk_300(tmp_path_factory, case):
    name, data = case
    path = tmp_path_factory.mktemp("fuzz") / f"{name}.img"
    path.write_bytes(data)
    result = outcome(read_image, path, max_pixels=FUZZ_MAX_PIXELS)
    _assert_decoded_or_image_error(result, str(path), FUZZ_MAX_PIXELS)


@fuzz(400)
@given(st.binary(max_size=300))
def test_random_bytes_400(data):
    result = outcome(decode_image, data, name="noise")
    if isinstance(result, np.ndarray):  # a few bytes can be a valid PGM/PPM/TGA...
        _assert_decoded_or_image_error(result, "noise", DEFAULT_MAX_PIXELS)
    else:
        _assert_decoded_or_image_error(result, "noise", DEFAULT_MAX_PIXELS)


def test_empty_data_and_empty_file(tmp_path):
    with pytest.raises(ImageError) as info:
        decode_image(b"", name="clip")
    assert_human(info.value, "clip")
    (tmp_path / "e.png").write_bytes(b"")
    with pytest.raises(ImageError) as info:
        read_image(tmp_path / "e.png")
    assert_human(info.value, "e.png", "empty")


# --------------------------------------------------------------------------- tiny and constant images


_LOSSLESS = {"PNG": {}, "BMP": {}, "TIFF": {}, "WEBP": {"lossless": True}, "PPM": {}, "GIF": {}}


@pytest.mark.parametrize("fmt", sorted(_LOSSLESS) + ["JPEG"])
@pytest.mark.parametrize("size", [(1, 1), (1, 200), (200, 1), (37, 53)])
@pytest.mark.parametrize("level", [0, 255, 128])
def test_constant_images_keep_their_level(fmt, size, level):
    """1x1, 1xN and constant images (all ink, all paper, mid grey) in every format come back exact
    (lossless formats) or close (JPEG)."""
    h, w = size
    data = _pil(Image.new("L", (w, h), level), fmt, **_LOSSLESS.get(fmt, {"quality": 95}))
    out = decode_image(data, name=fmt)
    assert out.shape == (h, w, 3) and out.dtype == np.uint8
    assert np.abs(out.astype(int) - level).max() <= (0 if fmt in _LOSSLESS else 3)
    np.testing.assert_array_equal(to_gray(out), out[:, :, 0])


# --------------------------------------------------------------------------- giant headers


def _png_with_size(width: int, height: int) -> bytes:
    data = bytearray(CORPUS["png-gray"])
    ihdr = 8 + 8  # signature, then length + "IHDR"
    data[ihdr : ihdr + 8] = struct.pack(">II", width, height)
    data[ihdr + 13 : ihdr + 17] = struct.pack(">I", zlib.crc32(bytes(data[ihdr - 4 : ihdr + 13])))
    return bytes(data)


def _bmp_with_size(width: int, height: int) -> bytes:
    data = bytearray(CORPUS["bmp"])
    data[18:26] = struct.pack("<ii", width, height)
    return bytes(data)


def _gif_with_size(width: int, height: int) -> bytes:
    data = bytearray(CORPUS["gif"])
    data[6:10] = struct.pack("<HH", width, height)  # logical screen
    desc = data.index(b"\x2c")  # image descriptor
    data[desc + 5 : desc + 9] = struct.pack("<HH", width, height)
    return bytes(data)


def _jpeg_with_size(width: int, height: int) -> bytes:
    data = bytearray(CORPUS["jpeg"])
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def _tiff_with_size(width: int, height: int) -> bytes:
    data = bytearray(CORPUS["tiff"])
    assert data[:2] == b"II"
    ifd = struct.unpack_from("<I", data, 4)[0]
    for i in range(struct.unpack_from("<H", data, ifd)[0]):
        entry = ifd + 2 + 12 * i
        tag = struct.unpack_from("<H", data, entry)[0]
        if tag in (256, 257):  # ImageWidth, ImageLength: as LONG
            struct.pack_into("<HHII", data, entry, tag, 4, 1, width if tag == 256 else height)
    return bytes(data)


def _pgm_with_size(width: int, height: int) -> bytes:
    return f"P5\n{width} {height}\n255\n".encode() + b"\x80" * 64


def _webp_with_size(width: int, height: int) -> bytes:
    data = bytearray(CORPUS["webp-lossless-rgba"])
    vp8l = data.index(b"VP8L") + 8  # chunk data: 0x2f, then 14-bit width-1, 14-bit height-1, ...
    bits = struct.unpack_from("<I", data, vp8l + 1)[0]
    bits = (bits & ~0x0FFFFFFF) | (min(width, 16384) - 1) | ((min(height, 16384) - 1) << 14)
    struct.pack_into("<I", data, vp8l + 1, bits)
    return bytes(data)


_GIANT = {
    "png": _png_with_size, "bmp": _bmp_with_size, "gif": _gif_with_size, "jpeg": _jpeg_with_size,
    "tiff": _tiff_with_size, "pgm": _pgm_with_size, "webp": _webp_with_size,
}


@pytest.mark.parametrize("fmt", sorted(_GIANT))
@pytest.mark.parametrize("size", [(16384, 16384), (65000, 65000), (1_000_000, 1), (9000, 5000)])
def test_giant_dimension_headers_are_refused_quickly(fmt, size):
    """A tiny file whose header claims a huge image (a decompression bomb) is refused from its
    header, before any pixel is allocated, with ImageError."""
    width, height = size
    if fmt in ("gif", "jpeg") and max(size) > 65535:
        width, height = min(width, 65535), max(min(height, 65535), 1000)
    data = _GIANT[fmt](width, height)
    tracemalloc.start()
    try:
        with pytest.raises(ImageError) as info:
            decode_image(data, name=f"bomb.{fmt}")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 32 * 2**20, f"{peak / 2**20:.0f} MB allocated before refusing"  # numpy's pixels are traced
    assert_human(info.value, f"bomb.{fmt}")


def test_giant_header_guard_can_fail():
    """The guard tested above is what refuses them: with a larger limit the same PGM header gets
    past it and fails later, on its missing pixel data."""
    with pytest.raises(ImageError, match="limit"):
        decode_image(_pgm_with_size(9000, 5000), name="g")
    with pytest.raises(ImageError, match="truncated"):
        decode_image(_pgm_with_size(9000, 5000), name="g", max_pixels=50_000_000)


# --------------------------------------------------------------------------- arrays into to_gray


def _check_gray(a: np.ndarray, result) -> None:
    if isinstance(result, DigitdeskError):
        assert isinstance(result, ImageError), type(result)
        return
    assert isinstance(result, np.ndarray) and result.dtype == np.uint8 and result.ndim == 2
    assert result.shape == a.shape[:2] and result.size > 0


@fuzz(2000, slow_data=True)
@given(any_arrays())
def test_to_gray_any_array_2000(a):
    """Any dtype (bool .. float16 with NaN/inf, complex, object) and any shape (0-d .. 4-d, zero-size,
    1xN, 0..5 channels): uint8 (H, W) of the input's height and width, or ImageError."""
    _check_gray(a, outcome(to_gray, a))


@fuzz(300, slow_data=True)
@given(image_like())
def test_to_gray_ignores_byte_order_and_memory_layout_300(a):
    """The same pixels give the same gray whether big- or little-endian, C- or Fortran-ordered, or a
    reversed view."""
    expected = outcome(to_gray, a)
    if isinstance(expected, DigitdeskError):
        return
    swapped = a.astype(a.dtype.newbyteorder(">" if a.dtype.byteorder in "=<|" else "<"))
    np.testing.assert_array_equal(to_gray(swapped), expected)
    np.testing.assert_array_equal(to_gray(np.asfortranarray(a)), expected)
    np.testing.assert_array_equal(to_gray(a[::-1, ::-1])[::-1, ::-1], expected)


def test_to_gray_documented_values_for_odd_dtypes():
    """Non-finite floats become paper/ink sensibly instead of garbage, and what cannot be an image
    is named in the error."""
    assert to_gray(np.array([[np.nan, np.inf, -np.inf, 0.5]], np.float32)).tolist() == [[0, 255, 0, 128]]
    assert to_gray(np.array([[1e300, -1e300]])).tolist() == [[255, 0]]
    assert to_gray(np.array([[70000, -5]], np.int64)).tolist() == [[255, 0]]
    for bad in (np.zeros((3, 3), np.complex64), np.array([["a", "b"]]), np.array([[None, 1]], dtype=object)):
        with pytest.raises(ImageError) as info:
            to_gray(bad)
        assert_human(info.value, "pixel")
    for empty in (np.zeros((0, 5), np.uint8), np.zeros((4, 0, 3), np.uint8), np.zeros((0, 0, 4), np.float32)):
        with pytest.raises(ImageError) as info:
            to_gray(empty)
        assert_human(info.value, "no pixels")

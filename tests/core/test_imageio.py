"""Tests for digitdesk.core.imageio: formats, colour modes, orientation and every kind of bad file."""

from __future__ import annotations

import io
import subprocess
import sys

import cv2
import numpy as np
import pytest
from PIL import Image, ImageFile

from digitdesk.core.errors import ImageError
from digitdesk.core.imageio import SUPPORTED_EXTENSIONS, decode_image, read_image, to_gray


def _rgb_blocks() -> np.ndarray:
    """A 24x32 RGB image of four flat colour blocks (survives JPEG well enough)."""
    rgb = np.zeros((24, 32, 3), np.uint8)
    rgb[:12, :16] = (255, 0, 0)
    rgb[:12, 16:] = (0, 255, 0)
    rgb[12:, :16] = (0, 0, 255)
    rgb[12:, 16:] = (250, 250, 250)
    return rgb


def _write_noise_jpeg(path, size=(64, 48)) -> None:
    rng = np.random.default_rng(1)
    Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)).save(path, quality=95)


# --------------------------------------------------------------------------- round trips


@pytest.mark.parametrize(
    "ext, save_kwargs, tolerance",
    [
        (".png", {}, 0),
        (".bmp", {}, 0),
        (".tif", {}, 0),
        (".tiff", {"compression": "tiff_lzw"}, 0),
        (".webp", {"lossless": True}, 0),
        (".jpg", {"quality": 95}, 12),
        (".jpeg", {"quality": 95}, 12),
    ],
)
def test_round_trip_returns_bgr_uint8(tmp_path, ext, save_kwargs, tolerance):
    rgb = _rgb_blocks()
    path = tmp_path / f"blocks{ext}"
    Image.fromarray(rgb).save(path, **save_kwargs)
    out = read_image(path)
    assert out.dtype == np.uint8 and out.shape == (24, 32, 3)
    expected_bgr = rgb[:, :, ::-1].astype(int)
    # compare away from block edges, where JPEG rings
    for y, x in [(5, 6), (5, 26), (18, 6), (18, 26)]:
        assert np.abs(out[y, x].astype(int) - expected_bgr[y, x]).max() <= tolerance, (ext, y, x, out[y, x])
    assert out[5, 6, 2] > 200 and out[5, 6, 0] < 50  # red comes back in channel 2 (BGR)


def test_decode_image_bytes_matches_read_image(tmp_path):
    path = tmp_path / "b.png"
    Image.fromarray(_rgb_blocks()).save(path)
    np.testing.assert_array_equal(decode_image(path.read_bytes(), name="clip"), read_image(path))
    np.testing.assert_array_equal(decode_image(bytearray(path.read_bytes())), read_image(path))


def test_grayscale_file_gives_three_equal_channels(tmp_path):
    gray = np.tile(np.arange(0, 250, 10, dtype=np.uint8), (7, 1))
    path = tmp_path / "g.png"
    Image.fromarray(gray, "L").save(path)
    out = read_image(path)
    assert out.shape == (7, 25, 3)
    for c in range(3):
        np.testing.assert_array_equal(out[:, :, c], gray)
    np.testing.assert_array_equal(to_gray(out), gray)


# --------------------------------------------------------------------------- colour modes


def test_rgba_transparency_becomes_white_paper(tmp_path):
    rgba = np.zeros((10, 10, 4), np.uint8)  # fully transparent black everywhere...
    rgba[3:7, 3:7] = (0, 0, 0, 255)  # ...except an opaque black square
    rgba[0, 0] = (0, 0, 0, 128)  # and one half-transparent black pixel
    path = tmp_path / "t.png"
    Image.fromarray(rgba, "RGBA").save(path)
    out = read_image(path)
    assert out.shape == (10, 10, 3)
    assert (out[9, 9] == 255).all(), "transparent background must become white, not black"
    assert (out[5, 5] == 0).all()
    assert 120 <= out[0, 0, 0] <= 135


def test_la_transparency_becomes_white(tmp_path):
    la = np.zeros((6, 6, 2), np.uint8)
    la[2:4, 2:4] = (0, 255)
    path = tmp_path / "la.png"
    Image.fromarray(la, "LA").save(path)
    out = read_image(path)
    assert (out[0, 0] == 255).all() and (out[2, 2] == 0).all()


def test_palette_image(tmp_path):
    im = Image.new("P", (8, 4), 0)
    im.putpalette([255, 255, 255, 200, 10, 20] + [0] * (256 * 3 - 6))
    im.paste(1, (0, 0, 4, 4))
    path = tmp_path / "p.png"
    im.save(path)
    out = read_image(path)
    assert out.shape == (4, 8, 3)
    assert tuple(out[0, 0]) == (20, 10, 200)  # BGR of palette entry 1
    assert tuple(out[0, 7]) == (255, 255, 255)


def test_palette_transparency_and_first_gif_frame(tmp_path):
    frame0 = Image.new("P", (6, 6), 0)
    frame0.putpalette([0, 0, 0, 255, 0, 0] + [0] * (256 * 3 - 6))
    frame0.paste(1, (0, 0, 3, 6))
    frame1 = Image.new("P", (6, 6), 1)
    frame1.putpalette([0, 0, 0, 255, 0, 0] + [0] * (256 * 3 - 6))
    path = tmp_path / "anim.gif"
    frame0.save(path, save_all=True, append_images=[frame1], transparency=0, duration=100, loop=0)
    out = read_image(path)
    assert tuple(out[0, 0]) == (0, 0, 255)  # red (first frame, left half)
    assert tuple(out[0, 5]) == (255, 255, 255)  # transparent index 0 -> white, not black


def test_16bit_png_is_scaled_by_its_range_not_clipped(tmp_path):
    a = np.full((20, 30), 1000, np.uint16)  # dark background
    a[5:15, 5:10] = 60000  # bright stroke
    a[5:15, 20:25] = 30500  # mid grey
    path = tmp_path / "deep.png"
    assert cv2.imwrite(str(path), a)
    out = read_image(path)
    assert out.dtype == np.uint8 and out.shape == (20, 30, 3)
    assert out[0, 0, 0] == 0  # dark stays dark
    assert out[10, 7, 0] == 255  # bright stays bright
    assert 120 <= out[10, 22, 0] <= 135  # mid stays mid

    low = np.zeros((4, 4), np.uint16)
    low[0, 0], low[1, 1] = 4000, 2000  # all values above 255: clipping would make both 255
    assert cv2.imwrite(str(tmp_path / "low.png"), low)
    out = read_image(tmp_path / "low.png")[:, :, 0]
    assert out[0, 0] == 255 and 120 <= out[1, 1] <= 135 and out[3, 3] == 0


def test_float_1bit_and_cmyk_modes(tmp_path):
    f = np.linspace(0.0, 1.0, 50, dtype=np.float32).reshape(5, 10)
    Image.fromarray(f, "F").save(tmp_path / "f.tif")
    out = read_image(tmp_path / "f.tif")[:, :, 0]
    assert out[0, 0] == 0 and out[-1, -1] == 255 and np.all(np.diff(out.ravel().astype(int)) >= 0)

    bits = Image.new("1", (8, 8), 0)
    bits.paste(1, (0, 0, 4, 8))
    bits.save(tmp_path / "b.tif")
    out = read_image(tmp_path / "b.tif")
    assert (out[0, 0] == 255).all() and (out[0, 7] == 0).all()

    Image.new("CMYK", (4, 4), (0, 255, 255, 0)).save(tmp_path / "c.jpg", quality=95)  # red in CMYK
    out = read_image(tmp_path / "c.jpg")
    assert out.shape == (4, 4, 3) and out[1, 1, 2] > 200 and out[1, 1, 0] < 60


@pytest.mark.parametrize("orientation", [6, 8])
def test_exif_orientation_is_applied(tmp_path, orientation):
    rgb = np.full((20, 40, 3), 255, np.uint8)  # 40 wide, 20 high
    rgb[:10, :10] = (255, 0, 0)  # red marker top-left
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / f"o{orientation}.jpg"
    Image.fromarray(rgb).save(path, exif=exif, quality=95)
    out = read_image(path)
    assert out.shape == (40, 20, 3), "the image must come back rotated to portrait"
    red = (out[:, :, 2] > 180) & (out[:, :, 1] < 80)
    ys, xs = np.nonzero(red)
    if orientation == 6:  # rotate 90 deg clockwise: top-left goes to top-right
        assert ys.mean() < 10 and xs.mean() > 10
    else:  # 8: rotate 90 deg counter-clockwise: top-left goes to bottom-left
        assert ys.mean() > 30 and xs.mean() < 10


# --------------------------------------------------------------------------- bad files


def _assert_image_error(path, *words, **kwargs):
    with pytest.raises(ImageError) as info:
        read_image(path, **kwargs)
    message = str(info.value)
    assert str(path) in message
    for word in words:
        assert word in message.lower(), message
    return message


def test_missing_file(tmp_path):
    _assert_image_error(tmp_path / "nope.png", "not found")


def test_folder_is_not_an_image(tmp_path):
    _assert_image_error(tmp_path, "folder")


def test_zero_byte_file(tmp_path):
    path = tmp_path / "empty.png"
    path.write_bytes(b"")
    _assert_image_error(path, "empty")


def test_text_file_named_png(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("this is not a picture\n" * 20)
    _assert_image_error(path, "not an image")


def test_truncated_png(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "cut.png"
    Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    _assert_image_error(path, "damaged or truncated")
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_truncated_jpeg(tmp_path):
    path = tmp_path / "cut.jpg"
    _write_noise_jpeg(path)
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * 0.6)])
    _assert_image_error(path, "damaged or truncated")


def test_huge_image_refused_by_max_pixels(tmp_path):
    path = tmp_path / "big.png"
    Image.new("L", (3000, 3000), 0).save(path)
    message = _assert_image_error(path, "3000x3000", "9 mp", "1 mp", max_pixels=1_000_000)
    assert "limit" in message
    assert read_image(path, max_pixels=10_000_000).shape == (3000, 3000, 3)
    jpeg = tmp_path / "big.jpg"
    Image.new("L", (3000, 3000), 0).save(jpeg)
    assert read_image(jpeg, max_pixels=1_000_000).shape == (750, 750, 3)  # a JPEG is read at 1/4 instead


def test_size_is_checked_before_decoding(tmp_path):
    # A truncated big image: if the size check came after decoding we would get "truncated".
    path = tmp_path / "bigcut.png"
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (1200, 1000), dtype=np.uint8), "L").save(path)
    path.write_bytes(path.read_bytes()[:5000])
    message = _assert_image_error(path, "1000x1200", max_pixels=1_000_000)
    assert "truncated" not in message


def test_pillows_bomb_limit_does_not_decide_ours_does(tmp_path, monkeypatch):
    """Pillow's decompression-bomb limit (which refused a 144 MP scan in Pillow's words) is not
    what refuses: digitdesk's own limit is, in its own words; Pillow's setting is left as it was."""
    path = tmp_path / "small.png"
    Image.new("L", (100, 100), 0).save(path)
    for pillow_limit in (3000, 6000):  # 10,000 px: above 2x the limit (Pillow's error), above it (warning)
        monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", pillow_limit)
        assert read_image(path).shape == (100, 100, 3)
        assert Image.MAX_IMAGE_PIXELS == pillow_limit
        message = _assert_image_error(path, "100x100", "limit", max_pixels=5000).replace(str(path), "")
        assert "bomb" not in message and "DOS" not in message


def _scan(width: int, height: int, lines: list[str]) -> np.ndarray:
    """A BGR page, off-white, with a line of dark digits per entry of ``lines``, drawn big."""
    page = np.full((height, width, 3), 244, np.uint8)
    scale = height / (40 * len(lines) * 2)  # Hershey digits are about 40 px tall at scale 1
    for i, text in enumerate(lines):
        y = round(height * (i + 0.75) / len(lines))
        cv2.putText(page, text, (width // 8, y), cv2.FONT_HERSHEY_SIMPLEX, scale, (35, 35, 35),
                    max(2, round(scale * 3.5)), cv2.LINE_AA)
    return page


@pytest.fixture(scope="module")
def big_scan(tmp_path_factory):
    """A real 12000x12000 (144 MP) colour JPEG scan of three lines of digits."""
    path = tmp_path_factory.mktemp("scan") / "scan_144mp.jpg"
    assert cv2.imwrite(str(path), _scan(12000, 12000, ["2071", "4385", "96"]), [cv2.IMWRITE_JPEG_QUALITY, 85])
    return path


def test_a_144_mp_jpeg_scan_is_read_at_reduced_size_and_its_digits_found(big_scan, recognizer):
    image = read_image(big_scan)
    assert image.shape == (6000, 6000, 3) and image.dtype == np.uint8  # 1/2: the least reduction under 40 MP
    assert image[10, 10].tolist() == pytest.approx([244, 244, 244], abs=3)  # paper stays paper
    assert recognizer.read(image).text.split() == ["2071", "4385", "96"]
    smaller = read_image(big_scan, max_pixels=5_000_000)  # 1/8 fits 5 MP (1/4 would be 9 MP)
    assert smaller.shape == (1500, 1500, 3)
    assert recognizer.read(smaller).text.split() == ["2071", "4385", "96"]


def test_reading_a_144_mp_jpeg_scan_keeps_memory_bounded(big_scan):
    """Its peak memory in a fresh process is far below what one full-size decode takes (12000x12000
    as Pillow's RGBX, 576 MB, then 432 MB of BGR pixels: about 2 GB measured)."""
    code = ("import resource, sys\nfrom digitdesk.core.imageio import read_image\n"
            "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\nimage = read_image(sys.argv[1])\n"
            "print(image.shape[0], image.shape[1], before, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)")
    out = subprocess.run([sys.executable, "-c", code, str(big_scan)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    h, w, before_kb, peak_kb = map(int, out.stdout.split())
    assert (h, w) == (6000, 6000)
    assert (peak_kb - before_kb) / 1024 < 800, f"reading took {(peak_kb - before_kb) / 1024:.0f} MB"


def test_a_reduced_jpeg_keeps_its_exif_orientation(tmp_path):
    rgb = np.full((2000, 4000, 3), 240, np.uint8)
    rgb[:400, :400] = (200, 20, 20)  # a red block top left, as stored
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    path = tmp_path / "rotated.jpg"
    Image.fromarray(rgb).save(path, quality=90, exif=exif)
    out = read_image(path, max_pixels=3_000_000)  # 8 MP: read at 1/2
    assert out.shape == (2000, 1000, 3)  # 1000 wide, 2000 tall: turned upright
    assert out[50, 950, 2] > 150 and out[50, 950, 0] < 80  # the red block is now top right


def test_too_large_even_reduced_and_non_jpeg_are_refused_in_our_words(tmp_path):
    png = tmp_path / "scan.png"
    assert cv2.imwrite(str(png), np.full((12000, 12000), 250, np.uint8))  # 144 MP, a few hundred KB
    message = _assert_image_error(png, "12000x12000", "144 mp", "40 mp limit", "only jpeg").replace(str(png), "")
    assert "bomb" not in message and "DOS" not in message
    jpeg = tmp_path / "big.jpg"
    Image.new("L", (4000, 3000), 250).save(jpeg, quality=90)
    _assert_image_error(jpeg, "4000x3000", "even read at 1/8", max_pixels=150_000)  # 1/8: 500x375 px


def test_a_tiny_jpeg_claiming_a_huge_size_is_refused(tmp_path):
    buf = io.BytesIO()
    Image.new("L", (64, 64), 128).save(buf, "JPEG")
    data = bytearray(buf.getvalue())
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = (12000).to_bytes(2, "big") * 2  # the header now says 12000x12000
    with pytest.raises(ImageError, match=r"claims to be 12000x12000 = 144 MP, but the file holds only .* bytes"):
        decode_image(bytes(data), name="tiny.jpg")


def test_decode_image_errors_name_the_source():
    with pytest.raises(ImageError, match="clipboard"):
        decode_image(b"", name="clipboard")
    with pytest.raises(ImageError, match="dropped.png.*not an image"):
        decode_image(b"no really, not an image at all", name="dropped.png")
    buf = io.BytesIO()
    Image.new("L", (2000, 1000)).save(buf, "PNG")
    with pytest.raises(ImageError, match=r"paste: image is 2000x1000 = 2 MP, above the 1 MP limit"):
        decode_image(buf.getvalue(), name="paste", max_pixels=1_000_000)


# --------------------------------------------------------------------------- helpers


def test_supported_extensions():
    assert isinstance(SUPPORTED_EXTENSIONS, tuple)
    for ext in (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"):
        assert ext in SUPPORTED_EXTENSIONS
    assert all(e.startswith(".") and e == e.lower() for e in SUPPORTED_EXTENSIONS)


def test_to_gray_conversions():
    bgr = np.zeros((2, 3, 3), np.uint8)
    bgr[0, 0] = (255, 0, 0)  # blue
    bgr[0, 1] = (0, 0, 255)  # red
    bgr[1, 2] = (255, 255, 255)
    gray = to_gray(bgr)
    assert gray.dtype == np.uint8 and gray.shape == (2, 3)
    assert gray[0, 0] == 29 and gray[0, 1] == 76 and gray[1, 2] == 255  # BT.601 weights, BGR order

    bgra = np.zeros((1, 2, 4), np.uint8)
    bgra[0, 1, 3] = 255  # pixel 0 transparent -> white, pixel 1 opaque black
    assert to_gray(bgra).tolist() == [[255, 0]]
    assert to_gray(np.array([[0.0, 1.0]], np.float32)).tolist() == [[0, 255]]
    assert to_gray(np.array([[0, 65535]], np.uint16)).tolist() == [[0, 255]]
    assert to_gray(np.array([[True, False]])).tolist() == [[255, 0]]
    assert to_gray(np.full((2, 2, 1), 7, np.uint8)).tolist() == [[7, 7], [7, 7]]
    with pytest.raises(ImageError):
        to_gray(np.zeros((2, 2, 5), np.uint8))

# Needs Qt (offscreen): opening real image files, errors in the window, stages, export, drop and paste.
from __future__ import annotations

import csv
import io
import json
import struct
import zlib

import cv2
import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QGuiApplication
from PySide6.QtWidgets import QApplication, QLabel

from conftest import number_image
from digitdesk.gui.widgets.qimage import array_to_qimage
from digitdesk.gui.settings import Settings


def image_text(window) -> str:
    return window.findChild(QLabel, "imageResultLabel").text()


def error_text(window) -> str:
    banner = window.findChild(QLabel, "imageErrorLabel")
    return banner.text() if not banner.isHidden() else ""


@pytest.mark.parametrize("ext", [".png", ".jpg", ".bmp", ".tiff", ".webp"])
def test_open_image_reads_the_number(window, qtbot, tmp_path, ext):
    path = tmp_path / f"number{ext}"
    assert cv2.imwrite(str(path), number_image("305"))
    window.open_image(path)
    assert window.tabs.currentWidget() is window.image_tab
    qtbot.waitUntil(lambda: image_text(window) == "305", timeout=8000)
    tab = window.image_tab
    assert tab.digit_list.topLevelItemCount() == 3
    assert [tab.digit_list.topLevelItem(i).text(1).rstrip("?") for i in range(3)] == ["3", "0", "5"]
    assert len(tab.view._boxes) == 3
    assert error_text(window) == ""
    assert str(path.resolve()) in Settings().recent_files()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png_header(width: int, height: int) -> bytes:
    """A small PNG file whose header claims width x height pixels (the pixel data is cut short)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(b"\0" * 1000))
            + _chunk(b"IEND", b""))


@pytest.mark.parametrize("case, content, words", [
    ("empty.png", b"", "empty"),
    ("garbage.jpg", b"this is not a picture at all" * 20, "not"),
    ("huge.png", _png_header(8000, 6000), "limit"),
    ("truncated.png", None, "damaged"),
    ("missing.png", "missing", "not found"),
])
def test_bad_files_show_a_message(window, qtbot, tmp_path, case, content, words):
    path = tmp_path / case
    if content is None:
        ok, data = cv2.imencode(".png", number_image("7"))
        path.write_bytes(data.tobytes()[: len(data) // 2])
    elif content != "missing":
        path.write_bytes(content)
    with qtbot.waitSignal(window.image_tab.loadFailed, timeout=5000):
        window.open_image(path)
    assert words in error_text(window).lower()
    assert case in error_text(window)
    # The window still works afterwards.
    good = tmp_path / "good.png"
    cv2.imwrite(str(good), number_image("305"))
    window.open_image(good)
    qtbot.waitUntil(lambda: image_text(window) == "305", timeout=8000)
    assert error_text(window) == ""


def test_pipeline_stages_and_zoom(window, qtbot, tmp_path):
    path = tmp_path / "n.png"
    cv2.imwrite(str(path), number_image("305"))
    window.open_image(path)
    qtbot.waitUntil(lambda: image_text(window) == "305", timeout=8000)
    tab = window.image_tab
    assert set(tab.reading().stages) >= {"gray", "ink", "binary", "components"}
    for i in range(tab.stage_combo.count()):
        tab.stage_combo.setCurrentIndex(i)
        assert not tab.view._pixmap_item.pixmap().isNull()
        assert len(tab.view._boxes) == 3
        assert tab.view._pixmap_item.sceneBoundingRect().width() == pytest.approx(tab._image.shape[1], rel=0.01)
    before = tab.view.zoom()
    tab.zoom_in_button.click()
    assert tab.view.zoom() == pytest.approx(before * 1.25)
    tab.fit_button.click()
    assert tab.view.zoom() == pytest.approx(before)
    tab.digit_list.setCurrentItem(tab.digit_list.topLevelItem(1))
    assert tab.view._boxes[1].pen().width() > tab.view._boxes[0].pen().width()


def test_export_json_and_csv(window, qtbot, tmp_path):
    path = tmp_path / "n.png"
    cv2.imwrite(str(path), number_image("305"))
    window.open_image(path)
    qtbot.waitUntil(lambda: image_text(window) == "305", timeout=8000)
    out = window.image_tab.export_results(tmp_path / "out.json")
    data = json.loads(out.read_text())
    assert data["text"] == "305" and data["source"] == "n.png"
    assert [d["digit"] for d in data["digits"]] == [3, 0, 5]
    assert all(len(d["box"]) == 4 and len(d["top"]) == 3 for d in data["digits"])
    rows = list(csv.DictReader(io.StringIO(window.image_tab.export_results(tmp_path / "out.csv").read_text())))
    assert [r["digit"] for r in rows] == ["3", "0", "5"]
    assert all(0 <= float(r["confidence"]) <= 1 for r in rows)


def test_drop_a_file_on_the_window(window, qtbot, tmp_path):
    path = tmp_path / "dropped.png"
    cv2.imwrite(str(path), number_image("305"))
    window.tabs.setCurrentIndex(0)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    enter = QDragEnterEvent(QPoint(200, 200), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window, enter)
    assert enter.isAccepted()
    drop = QDropEvent(QPointF(200, 200), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window, drop)
    assert window.tabs.currentWidget() is window.image_tab
    qtbot.waitUntil(lambda: image_text(window) == "305", timeout=8000)


def test_paste_an_image(window, qtbot):
    QGuiApplication.clipboard().setImage(array_to_qimage(number_image("305")))
    qtbot.keyClick(window, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    assert window.tabs.currentWidget() is window.image_tab
    qtbot.waitUntil(lambda: image_text(window) == "305", timeout=8000)
    QGuiApplication.clipboard().setText("no image here")
    window.image_tab.paste()
    assert "no image" in error_text(window).lower()

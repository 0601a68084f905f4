# Needs Qt (offscreen): the Models tab over the model store, and the Data tab's exploration.
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QPushButton

DATA, STATUS = 4, 6


def add_tiny(store, name: str, accuracy: float = 0.5):
    from digitdesk.core.models import build

    return store.add(build("tiny"), {"test_accuracy": accuracy, "data": "MNIST", "epochs": 1}, name)


def statuses(tab) -> dict[str, str]:
    return {tab.table.item(r, 0).text(): tab.table.item(r, STATUS).text() for r in range(tab.table.rowCount())}


def test_models_tab_lists_bundled_user_and_broken_models(window, qtbot):
    store, tab = window.store, window.models_tab
    mine = add_tiny(store, "my model", 0.9731)
    (store.folder / "garbage.keras").write_bytes(b"not a zip at all")
    window.tabs.setCurrentWidget(tab)
    tab.refresh()
    st = statuses(tab)
    assert len(st) == 3
    bundled = store.bundled().name
    assert "bundled, read-only" in st[bundled] and "active" in st[bundled]
    assert st["my model"] == ""
    assert st["garbage"].startswith("broken: ") and "not a Keras model file" in st["garbage"]
    row = tab.row_of(mine.id)
    assert [tab.table.item(row, c).text() for c in (1, 3, 4)] == ["tiny", "97.31%", "MNIST"]
    assert tab.table.item(row, 2).text() == f"{mine.parameters:,}"
    tab.select("garbage")
    assert not tab.active_button.isEnabled() and "Cannot be used" in tab.details.text()
    tab.select("bundled")
    assert not tab.delete_button.isEnabled() and not tab.rename_button.isEnabled()
    assert tab.delete("bundled") is False
    assert "cannot be deleted" in tab.banner.text() and store.bundled().path.exists()


def test_rename_make_active_and_delete(window, qtbot):
    store, tab = window.store, window.models_tab
    mine = add_tiny(store, "first name")
    window.tabs.setCurrentWidget(tab)
    tab.refresh()
    tab.table.item(tab.row_of(mine.id), 0).setText("second name")  # an edit in the table renames
    assert store.get(mine.id).name == "second name"
    assert tab.table.item(tab.row_of(mine.id), 0).text() == "second name"

    tab.select(mine.id)
    with qtbot.waitSignal(window.model.ready, timeout=60_000) as ready:
        qtbot.mouseClick(tab.findChild(QPushButton, "makeActiveButton"), Qt.MouseButton.LeftButton)
    assert ready.args[0].name == "second name"
    assert store.active().id == mine.id
    assert "active" in statuses(tab)["second name"]
    assert window.draw_tab._rec is ready.args[0] and window.webcam_tab._rec is ready.args[0]

    tab.select(mine.id)
    qtbot.mouseClick(tab.delete_button, Qt.MouseButton.LeftButton)
    box = tab._confirm
    assert isinstance(box, QMessageBox) and box.isVisible()  # asked without blocking
    with qtbot.waitSignal(window.model.ready, timeout=60_000) as ready:  # it was active: back to bundled
        qtbot.mouseClick(box.button(QMessageBox.StandardButton.Yes), Qt.MouseButton.LeftButton)
    assert not mine.path.exists() and tab.row_of(mine.id) == -1
    assert store.active().bundled and ready.args[0].path.resolve() == store.bundled_path.resolve()


def test_import_and_export(window, qtbot, tmp_path):
    from digitdesk.core.models import build
    from digitdesk.core.modelio import save_model

    src = tmp_path / "outside.keras"
    save_model(build("tiny"), src, {"name": "from outside"})
    tab = window.models_tab
    window.tabs.setCurrentWidget(tab)
    tab.import_file(src)
    qtbot.waitUntil(lambda: "from outside" in statuses(tab), timeout=30_000)
    bad = tmp_path / "bad.keras"
    bad.write_text("nope")
    tab.import_file(bad)
    qtbot.waitUntil(tab.banner.isVisible, timeout=30_000)
    assert "bad.keras" in tab.banner.text()
    info = next(m for m in tab.models if m.name == "from outside")
    out = tmp_path / "copy.keras"
    tab.export(info.id, out)
    qtbot.waitUntil(out.exists, timeout=30_000)


def test_app_starts_when_the_active_model_is_broken(qtbot):
    from digitdesk.core.modelstore import ModelStore
    from digitdesk.gui import create_main_window

    store = ModelStore()
    mine = add_tiny(store, "soon broken")
    store.set_active(mine.id)
    mine.path.write_bytes(b"corrupted")
    win = create_main_window()
    qtbot.addWidget(win)
    win.show()
    with qtbot.waitSignal(win.model.notice, timeout=90_000) as notice:
        qtbot.waitSignal(win.model.ready, timeout=90_000).wait()
    assert "soon broken" in notice.args[0] and "bundled" in notice.args[0]
    assert win.model.recognizer.path.resolve() == store.bundled_path.resolve()
    assert win.model_label.text().startswith("Model: ")
    assert "cannot be used" in win.statusBar().currentMessage()
    assert "broken" in statuses(win.models_tab)["soon broken"]
    win.close()


def test_data_tab_shows_a_source(window, qtbot, mnist):
    tab = window.data_tab
    with qtbot.waitSignal(tab.loaded, timeout=60_000):
        tab.load("mnist-test")
    expected = np.bincount(mnist.test.labels, minlength=10)
    assert tab.charts.bar_heights() == list(expected)
    assert "10,000 images" in tab.summary_label.text()
    assert tab.grid_image.pixmap() is not None and not tab.grid_image.pixmap().isNull()
    assert tab.gallery.count() == 120 and tab.page_label.text().startswith("Page 1 of 84")
    first = tab.gallery.item(0).text()
    assert first == f"{mnist.test.labels[0]}  #0"
    tab.show_page(1)
    assert tab.gallery.item(0).text() == f"{mnist.test.labels[120]}  #120"
    tab.digit_filter.setCurrentIndex(tab.digit_filter.findData(3))
    assert {tab.gallery.item(i).text()[0] for i in range(tab.gallery.count())} == {"3"}
    assert f"({expected[3]:,} images)" in tab.page_label.text()


def test_data_tab_my_samples_follow_corrections(window, qtbot, mnist):
    tab = window.data_tab
    for i in range(5):
        window.samples.add(mnist.train.images[i], int(mnist.train.labels[i]))
    window.tabs.setCurrentWidget(tab)  # showing it loads the default source first
    with qtbot.waitSignal(tab.loaded, timeout=60_000):
        tab.load("samples")
    assert tab.charts.bar_heights() == list(np.bincount(mnist.train.labels[:5], minlength=10))
    with qtbot.waitSignal(tab.loaded, timeout=60_000):  # a new sample reloads the shown samples
        window.samples.add(mnist.train.images[5], int(mnist.train.labels[5]))
    assert sum(tab.charts.bar_heights()) == 6 and "6 images" in tab.summary_label.text()


def test_data_tab_reports_a_bad_source(window, qtbot, tmp_path):
    bad = tmp_path / "train.csv"
    bad.write_text("not,a,kaggle,header\n1,2,3,4\n")
    tab = window.data_tab
    window.tabs.setCurrentWidget(tab)
    tab.load("csv", str(bad))
    qtbot.waitUntil(lambda: "Could not load the data" in tab.banner.text(), timeout=30_000)
    assert "train.csv" in tab.banner.text() and tab.path_edit.isVisible()


def test_model_given_with_dash_dash_model_is_shown_in_use(qtbot, tmp_path):
    """``digitdesk --model mine.keras``: the outside file is the active row, and Make active on
    the bundled model switches to it."""
    from digitdesk.core.models import build
    from digitdesk.core.modelio import save_model
    from digitdesk.gui import create_main_window
    from digitdesk.gui.tabs.models import OUTSIDE_ID

    path = tmp_path / "mine.keras"
    save_model(build("tiny"), path, {"name": "mine", "data": "MNIST", "test_accuracy": 0.5})
    win = create_main_window(model=path)
    qtbot.addWidget(win)
    win.show()
    with qtbot.waitSignal(win.model.ready, timeout=90_000):
        pass
    tab = win.models_tab
    win.tabs.setCurrentWidget(tab)
    st = statuses(tab)
    bundled = win.store.bundled().name
    assert tab.table.item(0, 0).text() == "mine"
    assert "active" in st["mine"] and "--model" in st["mine"]
    assert "active" not in st[bundled]
    assert not tab.session_note.isHidden() and "mine" in tab.session_note.text()
    tab.select(OUTSIDE_ID)
    assert tab.selected().name == "mine"
    assert not tab.active_button.isEnabled() and not tab.delete_button.isEnabled()
    tab.select("bundled")
    assert tab.active_button.isEnabled()
    with qtbot.waitSignal(win.model.ready, timeout=60_000) as ready:
        qtbot.mouseClick(tab.active_button, Qt.MouseButton.LeftButton)
    assert ready.args[0].path.resolve() == win.store.bundled_path.resolve()
    assert win.draw_tab._rec is ready.args[0]
    st = statuses(tab)
    assert "active" in st[bundled] and "mine" not in st and tab.session_note.isHidden()
    assert not tab.active_button.isEnabled()
    win.close()


def test_stored_model_given_with_dash_dash_model_is_marked(qtbot):
    from digitdesk.core.modelstore import ModelStore
    from digitdesk.gui import create_main_window

    mine = add_tiny(ModelStore(), "stored one")
    win = create_main_window(model=mine.path)
    qtbot.addWidget(win)
    win.show()
    with qtbot.waitSignal(win.model.ready, timeout=90_000):
        pass
    tab = win.models_tab
    st = statuses(tab)
    assert len(st) == 2  # no extra row: it is one of mine
    assert "active" in st["stored one"] and "active" not in st[win.store.bundled().name]
    assert win.store.bundled().name in tab.session_note.text()  # what the next plain start uses
    tab.select("bundled")
    assert tab.active_button.isEnabled()
    win.close()


def test_data_column_takes_the_spare_width(window, qtbot):
    from digitdesk.core.models import build

    data = "MNIST + 1,234 of my samples (augmented)"
    info = window.store.add(build("tiny"), {"test_accuracy": 0.5, "data": data}, "long data")
    tab = window.models_tab
    window.tabs.setCurrentWidget(tab)
    tab.refresh()
    table, header = tab.table, tab.table.horizontalHeader()
    qtbot.waitUntil(lambda: sum(header.sectionSize(c) for c in range(table.columnCount()))
                    == table.viewport().width(), timeout=3000)  # the spare width is given out
    assert header.sectionSize(DATA) >= table.fontMetrics().horizontalAdvance(data) + 8  # shown whole
    assert header.sectionSize(STATUS) == max(table.sizeHintForColumn(STATUS), header.sectionSizeHint(STATUS))
    assert table.item(tab.row_of(info.id), DATA).toolTip() == data  # the full text when elided


def test_a_broken_model_s_long_reason_does_not_squeeze_the_data_column(window, qtbot):
    from digitdesk.gui.tabs.models import STATUS_MAX

    window.store.folder.mkdir(parents=True, exist_ok=True)
    (window.store.folder / "garbage.keras").write_bytes(b"not a zip at all" * 10)
    tab = window.models_tab
    window.tabs.setCurrentWidget(tab)
    tab.refresh()
    header = tab.table.horizontalHeader()
    row = tab.row_of("garbage")
    assert tab.table.sizeHintForColumn(STATUS) > STATUS_MAX  # the reason is long...
    assert header.sectionSize(STATUS) <= STATUS_MAX  # ...but its column is capped
    assert "not a Keras model file" in tab.table.item(row, STATUS).toolTip()
    assert header.sectionSize(DATA) >= tab.table.fontMetrics().horizontalAdvance("MNIST training split (60,000)")

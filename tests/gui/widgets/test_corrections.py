# Needs Qt (offscreen): "this is a 4" on the Draw and Image tabs stores the 28x28 crop with its label.
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QToolButton

from conftest import draw_strokes, number_image
from digitdesk.core.strokes import number_strokes


def stored(label: int) -> list[np.ndarray]:
    from digitdesk.core.samples import SampleStore

    split = SampleStore().load()  # DIGITDESK_HOME is this test's own folder
    return [img for img, lab in zip(split.images, split.labels) if lab == label]


def test_draw_tab_card_correction(window, qtbot):
    tab = window.draw_tab
    with qtbot.waitSignal(tab.readingShown, timeout=5000):
        draw_strokes(tab.canvas, number_strokes("17", 60, 60, 200))
    qtbot.waitUntil(lambda: tab.result_label.text() == "17", timeout=5000)
    card = tab.cards[1]
    button = card.findChild(QToolButton, "correctButton")
    assert button.isVisible() and button.menu() is not None
    crop = tab._shown[0].digits[1].input28.copy()
    card.correct_menu.findChild(type(card.correct_menu.actions()[0]), "correctAs4").trigger()
    assert [np.array_equal(s, crop) for s in stored(4)] == [True]
    assert window.samples.counts()[4] == 1 and sum(window.samples.counts().values()) == 1
    assert button.text() == "Saved as 4 ✓"
    counter = window.train_tab.form.counts
    assert counter.count_labels[4].text() == "1" and counter.count_labels[7].text() == "0"
    assert "1 in all" in counter.total_label.text()
    assert "as a 4" in window.statusBar().currentMessage()
    tab.correct_digit(0, 1)  # the "1" card, confirmed as a 1
    assert len(stored(1)) == 1 and counter.count_labels[1].text() == "1"


def test_digit_keys_pick_in_the_card_menu(window, qtbot):
    """The menu's entries have the digits as mnemonics: typing 9 in the open menu picks "9"."""
    tab = window.draw_tab
    with qtbot.waitSignal(tab.readingShown, timeout=5000):
        draw_strokes(tab.canvas, number_strokes("7", 120, 40, 200))
    menu = tab.cards[0].correct_menu
    menu.popup(tab.cards[0].mapToGlobal(QPoint(10, 10)))
    qtbot.waitUntil(menu.isVisible)
    qtbot.keyClick(menu, Qt.Key.Key_9)
    qtbot.waitUntil(lambda: window.samples.counts()[9] == 1, timeout=2000)
    assert len(stored(9)) == 1


def test_image_tab_corrections_by_key_and_menu(window, qtbot):
    tab = window.image_tab
    window.tabs.setCurrentWidget(tab)
    with qtbot.waitSignal(tab.readingShown, timeout=10_000):
        tab.open_array(number_image("305"), "305.png")
    assert tab.correct_hint.isVisible()
    digits = tab.reading().digits
    tab.digit_list.setFocus()
    tab.digit_list.setCurrentItem(tab.digit_list.topLevelItem(2))
    qtbot.keyClick(tab.digit_list, Qt.Key.Key_6)  # "this 5 is a 6"
    assert [np.array_equal(s, digits[2].input28) for s in stored(6)] == [True]
    assert tab.digit_list.topLevelItem(2).text(4) == "saved as 6 ✓"
    rect = tab.digit_list.visualItemRect(tab.digit_list.topLevelItem(0))
    tab._corrector.open_menu(rect.center())  # what a right-click does
    menu = tab._corrector.menu
    qtbot.waitUntil(menu.isVisible)
    assert "(as read)" in menu.actions()[digits[0].digit].text()
    qtbot.keyClick(menu, Qt.Key.Key_8)
    qtbot.waitUntil(lambda: len(stored(8)) == 1, timeout=2000)
    assert window.samples.counts() == {**{d: 0 for d in range(10)}, 6: 1, 8: 1}
    assert window.train_tab.form.counts.text() == "0:0 1:0 2:0 3:0 4:0 5:0 6:1 7:0 8:1 9:0"

"""The main window: Draw, Image and Webcam tabs over one shared model; Train, Models and Data
tabs to make and choose models; menus and status bar.

The Train, Models and Data tabs are built when first shown or asked for (``window.train_tab``),
or once the app is idle after the model is ready: the window paints without importing them.

Longer than ~300 lines because it holds the menus, shortcuts, drag and drop, geometry fitted
to the screen and the wiring between tabs: the one place that knows every tab. Each tab
saves and restores its own settings."""

from __future__ import annotations

import html
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QByteArray, QEvent, QMargins, QObject, QRect, QSize, Qt, QTimer, Slot
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QGuiApplication, QIcon, QKeySequence
from PySide6.QtWidgets import QApplication, QLabel, QMainWindow, QMessageBox, QTabWidget, QWidget

import digitdesk
from digitdesk.core.errors import DigitdeskError
from digitdesk.core.modelstore import ModelInfo, ModelStore
from digitdesk.core.paths import resource_path
from digitdesk.gui.overrides import never_raises
from digitdesk.gui.widgets.corrections import SampleCollector
from digitdesk.gui.tabs.draw import DrawTab
from digitdesk.gui.tabs.image import ImageTab, image_path_from_mime
from digitdesk.gui.widgets.lazy_tabs import LazyTabs
from digitdesk.gui.workers.recognition import ModelHolder, model_summary
from digitdesk.gui.workers.threads import wait_detached
from digitdesk.gui.settings import Settings
from digitdesk.gui.tabs.webcam import WebcamTab

if TYPE_CHECKING:
    from digitdesk.core.recognizer import Recognizer
    from digitdesk.gui.tabs.data import DataTab
    from digitdesk.gui.tabs.models import ModelsTab
    from digitdesk.gui.tabs.train import TrainTab

log = logging.getLogger(__name__)
TAB_NAMES = ("Draw", "Image", "Webcam", "Train", "Models", "Data")
LAZY_TABS = ("train", "models", "data")  # the last three, built when first needed
FIRST_PAINT_WAIT_MS = 300
# The tabs not built yet are built this long after the model is first ready (the first reading is
# on screen by then), one per event-loop turn; None: only when shown or asked for.
BUILD_WHEN_IDLE_MS: int | None = 2000
BUILD_RETRY_MS = 300  # while a mouse button is held (a stroke being drawn), tried again this much later
DEFAULT_SIZE = QSize(1180, 780)
GUESSED_FRAME = QMargins(8, 32, 8, 8)  # a title bar and borders, until the window system tells


def app_icon() -> QIcon:
    """The application icon (SVG with PNG fallbacks)."""
    icon = QIcon()
    for name in ("icon.svg", "icon-256.png", "icon-64.png"):
        path = resource_path("resources", name)
        if path.exists():
            icon.addFile(str(path))
    return icon


def about_html(rec: "Recognizer | None") -> str:
    """The About box text: version, model and licences."""
    if rec is None:
        model = "no model loaded yet"
    else:
        acc = f", MNIST test accuracy {rec.accuracy:.2%}" if rec.accuracy is not None else ""
        model = f"{html.escape(rec.name)}{acc}<br><small>{html.escape(str(rec.path or ''))}</small>"
    return (
        f"<h3>digitdesk {digitdesk.__version__}</h3>"
        "<p>Recognizes handwritten digits drawn with the mouse, in photos and from a webcam.</p>"
        f"<p><b>Model:</b> {model}</p>"
        "<p><b>Licences</b><br>digitdesk: MIT<br>"
        "MNIST database (Yann LeCun, Corinna Cortes, Christopher J.C. Burges): CC BY-SA 3.0<br>"
        "Qt and Qt for Python (PySide6): LGPL v3<br>TensorFlow, Keras, OpenCV: Apache 2.0<br>"
        "NumPy, Matplotlib, Pillow, platformdirs: BSD-style / PSF-style licences</p>"
    )


def fit_inside(frame: QRect, area: QRect) -> QRect:
    """``frame`` shrunk to be no bigger than ``area`` and moved into it (unchanged if it fits)."""
    w, h = min(frame.width(), area.width()), min(frame.height(), area.height())
    x = min(max(frame.x(), area.x()), area.x() + area.width() - w)
    y = min(max(frame.y(), area.y()), area.y() + area.height() - h)
    return QRect(x, y, w, h)


class MainWindow(QMainWindow):
    """Three ways to read digits, one model; and the tabs that make and choose that model."""

    def __init__(self, model: str | os.PathLike | None = None, camera: str | None = None,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("mainWindow")
        self.setWindowTitle("digitdesk")
        self.setWindowIcon(app_icon())
        self.setAcceptDrops(True)
        self._model_path = model
        self._camera = camera
        self._closed = False
        self._load_pending = False
        self._fitted_size: QSize | None = None  # the size _restore_state chose, to refit on the first show
        self.settings = Settings()
        self.model = ModelHolder(self)
        self.model.ready.connect(self._on_model_ready)
        self.model.failed.connect(self._on_model_failed)
        self.model.loading.connect(lambda what: self._show_model_status("Loading model…"))
        self.model.notice.connect(self._on_model_notice)
        self.model.status.connect(lambda text: self._show_activity(text, 0))
        self.store = ModelStore()  # the per-user data folder (DIGITDESK_HOME overrides)
        self.samples = SampleCollector(parent=self)
        self.samples.failed.connect(lambda message: self._show_activity(message, 0))
        self._activating: ModelInfo | None = None  # a stored model being loaded to become active

        self.draw_tab = DrawTab()
        self.image_tab = ImageTab()
        self.webcam_tab = WebcamTab(camera)
        for tab in (self.draw_tab, self.image_tab):
            tab.set_collector(self.samples)
        self.tabs = QTabWidget()
        self.tabs.setObjectName("tabs")
        self.tabs.setDocumentMode(True)
        for tab, name in zip((self.draw_tab, self.image_tab, self.webcam_tab), TAB_NAMES):
            self.tabs.addTab(tab, name)
            tab.status.connect(self._show_activity)
        self.lazy_tabs = LazyTabs(self.tabs)
        for key, name, build in zip(LAZY_TABS, TAB_NAMES[3:],
                                    (self._build_train_tab, self._build_models_tab, self._build_data_tab)):
            self.lazy_tabs.add(key, name, build)
        self._idle_build_started = False
        self.setCentralWidget(self.tabs)
        self.tabs.currentChanged.connect(self._on_tab_changed)
        self.image_tab.fileOpened.connect(self._on_file_opened)
        self.webcam_tab.sendToImage.connect(self._send_to_image)
        self._last_tab = self.tabs.currentIndex()

        self.model_label = QLabel()
        self.model_label.setObjectName("modelStatusLabel")
        self.statusBar().addPermanentWidget(self.model_label)
        self._show_model_status("Loading model…")
        self._build_menus()
        self._restore_state()
        if camera is not None:
            self.webcam_tab.start_when_shown()  # --camera

    # The tabs built when first needed ---------------------------------------------------------

    @property
    def train_tab(self) -> "TrainTab":
        """The Train tab (built now if it was not yet)."""
        return self.lazy_tabs.get("train")

    @property
    def models_tab(self) -> "ModelsTab":
        """The Models tab (built now if it was not yet)."""
        return self.lazy_tabs.get("models")

    @property
    def data_tab(self) -> "DataTab":
        """The Data tab (built now if it was not yet)."""
        return self.lazy_tabs.get("data")

    def _built(self, key: str) -> QWidget | None:
        """The tab ``key`` of LAZY_TABS if it is built, else None (nothing is built by asking)."""
        return self.lazy_tabs.built_widgets().get(key)

    def _build_train_tab(self) -> "TrainTab":
        from digitdesk.gui.tabs.train import TrainTab

        tab = TrainTab(self.store, self.samples)
        tab.status.connect(self._show_activity)
        tab.modelSaved.connect(self._on_model_saved)
        tab.activateRequested.connect(self.activate_model)
        if self.model.recognizer is not None:
            tab.set_recognizer(self.model.recognizer)
        tab.restore_state(self.settings.group("train"))
        return tab

    def _build_models_tab(self) -> "ModelsTab":
        from digitdesk.gui.tabs.models import ModelsTab

        tab = ModelsTab(self.store)
        tab.status.connect(self._show_activity)
        tab.modelImported.connect(lambda info: self.model.make_twin(info.path))
        tab.activateRequested.connect(self.activate_model)
        if self.model.recognizer is not None:
            tab.set_in_use(self.model.recognizer)
        return tab

    def _build_data_tab(self) -> "DataTab":
        from digitdesk.gui.tabs.data import DataTab

        tab = DataTab(str(self.samples.store.root))
        tab.status.connect(self._show_activity)
        self.samples.changed.connect(lambda _counts: tab.refresh_if_samples())
        return tab

    def _on_model_saved(self, info: ModelInfo) -> None:
        """A model trained and saved on the Train tab: listed (if the Models tab is built: else
        it lists it when built) and given its LiteRT twin."""
        models = self._built("models")
        if models is not None:
            models.refresh()
        self.model.make_twin(info.path)

    def _build_tabs_when_idle(self) -> None:
        """Start building the tabs not built yet, BUILD_WHEN_IDLE_MS from now (once)."""
        if self._idle_build_started or BUILD_WHEN_IDLE_MS is None:
            return
        self._idle_build_started = True
        QTimer.singleShot(BUILD_WHEN_IDLE_MS, self._build_next_tab)

    def _build_next_tab(self) -> None:
        """Build one tab not built yet, then the next on a later event-loop turn, and last the
        Train tab's Runs and Search pages; not while a mouse button is held (a stroke on the
        canvas would stall). An error is logged (the status bar shows it) and the tab says why
        when shown, where it is tried again."""
        if self._closed:
            return
        if QApplication.mouseButtons() != Qt.MouseButton.NoButton:  # drawing or dragging: later
            QTimer.singleShot(BUILD_RETRY_MS, self._build_next_tab)
            return
        try:
            if not self.lazy_tabs.build_next():  # every tab is built: then the Train tab's pages
                self.train_tab.build_pages()
                return
        except Exception:
            log.exception("could not build a tab in the background")
            return
        QTimer.singleShot(0, self._build_next_tab)

    # Model ----------------------------------------------------------------------------

    def load_model(self, path: str | os.PathLike | None = None) -> None:
        """Load a model in the background (default: the one given at start, else the active one
        of my models, else the bundled one)."""
        self._load_pending = False
        path = path if path is not None else self._model_path
        if path is None:
            self.model.load_active(self.store)
        else:
            self.model.load(path)

    def activate_model(self, model_id: str) -> None:
        """Switch the Draw, Image and Webcam tabs to a stored model: it loads on the loader thread
        (the tabs keep reading with the current one meanwhile), is swapped in on this thread when
        ready, and is then remembered as the active model."""
        try:
            info = self.store.get(model_id)
        except DigitdeskError as exc:
            self._show_activity(str(exc), 0)
            return
        if info.broken:
            self._show_activity(f"{info.name} cannot be used: {info.broken}", 0)
            return
        self._activating = info
        self._show_activity(f"Loading “{info.name}”…", 0)
        self.model.load(info.path)

    def load_model_soon(self) -> None:
        """Load the model once the window has painted for the first time (importing TensorFlow
        holds the GIL for seconds and would slow the first paint), or after 300 ms at most."""
        self._load_pending = True
        app = QApplication.instance()
        app.installEventFilter(self)
        QTimer.singleShot(FIRST_PAINT_WAIT_MS, self._start_pending_load)

    def _start_pending_load(self) -> None:
        QApplication.instance().removeEventFilter(self)
        if self._load_pending and not self._closed:
            self.load_model()

    @never_raises(default=False)
    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        """Watch for the window's first paint while a model load is pending."""
        if (self._load_pending and event.type() == QEvent.Type.Paint and isinstance(obj, QWidget)
                and obj.window() is self):
            QTimer.singleShot(0, self._start_pending_load)
        return False

    def set_recognizer(self, rec: "Recognizer") -> None:
        """Use an already loaded model (tests, screenshots)."""
        self.model.set_recognizer(rec)

    @Slot(object)
    def _on_model_ready(self, rec: "Recognizer") -> None:
        for tab in (self.draw_tab, self.image_tab, self.webcam_tab, self._built("train")):
            if tab is not None:
                tab.set_recognizer(rec)
        self._show_model_status(model_summary(rec))
        self.model_label.setToolTip(str(rec.path or ""))
        info, self._activating = self._activating, None
        if info is not None and rec.path is not None and Path(rec.path).resolve() == info.path.resolve():
            try:
                self.store.set_active(info.id)
            except DigitdeskError as exc:
                self._show_activity(f"Using “{info.name}” now, but it could not be remembered: {exc}", 0)
            else:
                self._show_activity(f"Now using “{info.name}”")
        else:
            self._show_activity("Ready")
        models = self._built("models")
        if models is not None:
            models.set_in_use(rec)
        self._build_tabs_when_idle()

    @Slot(str)
    def _on_model_notice(self, message: str) -> None:
        self._show_activity(message, 0)
        self.model_label.setToolTip(message)

    @Slot(str)
    def _on_model_failed(self, message: str) -> None:
        info, self._activating = self._activating, None
        if self.model.recognizer is not None:  # a switch failed: the current model stays
            self._show_activity(f"Could not switch to “{info.name if info else 'the model'}”: {message}", 0)
            models = self._built("models")
            if models is not None:
                models.refresh()
            return
        self._show_model_status("No model")
        self.model_label.setToolTip(message)
        self.draw_tab.set_model_error(message)
        self._show_activity(message, 0)

    def _show_model_status(self, text: str) -> None:
        self.model_label.setText(text)

    @Slot(str)
    def _show_activity(self, text: str, timeout: int = 5000) -> None:
        self.statusBar().showMessage(text, timeout)

    # Public API -----------------------------------------------------------------------

    def open_image(self, path: str | os.PathLike) -> None:
        """Load an image into the Image tab as the Open dialog would, and show that tab."""
        self.tabs.setCurrentWidget(self.image_tab)
        self.image_tab.open_image(path)

    # Menus ------------------------------------------------------------------------------

    def _action(self, text: str, slot, shortcut=None, menu=None) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcuts(shortcut if isinstance(shortcut, list) else [QKeySequence(shortcut)])
        action.triggered.connect(slot)
        if menu is not None:
            menu.addAction(action)
        return action

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        self._action("&Open image…", self._open_dialog, QKeySequence.StandardKey.Open, file_menu)
        self._action("&Paste image", self._paste, QKeySequence.StandardKey.Paste, file_menu)
        self.recent_menu = file_menu.addMenu("Open &recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        self._action("&Export results…", self.image_tab.export_dialog, "Ctrl+E", file_menu)
        file_menu.addSeparator()
        self._action("&Quit", self.close, QKeySequence.StandardKey.Quit, file_menu)

        edit_menu = bar.addMenu("&Edit")
        for action in (self.draw_tab.undo_action, self.draw_tab.clear_action, self.draw_tab.eraser_action):
            edit_menu.addAction(action)

        view_menu = bar.addMenu("&View")
        for i, name in enumerate(TAB_NAMES):
            self._action(f"&{name}", lambda _=False, i=i: self.tabs.setCurrentIndex(i), f"Ctrl+{i + 1}", view_menu)
        view_menu.addSeparator()
        view = self.image_tab.view
        self._action("Zoom &in", lambda: view.zoom_by(1.25), QKeySequence.StandardKey.ZoomIn, view_menu)
        self._action("Zoom &out", lambda: view.zoom_by(0.8), QKeySequence.StandardKey.ZoomOut, view_menu)
        self._action("&Fit image", view.fit, "Ctrl+0", view_menu)

        cam_menu = bar.addMenu("&Webcam")
        self._action("&Start / stop", self._toggle_camera, "Ctrl+Space", cam_menu)
        self._action("&Freeze", self.webcam_tab.freeze_check.toggle, "Ctrl+F", cam_menu)
        self._action("Send to &Image tab", self.webcam_tab.send_to_image, "Ctrl+Shift+I", cam_menu)

        help_menu = bar.addMenu("&Help")
        self._action("&About digitdesk", self._about, None, help_menu)
        self._action("About &Qt", QApplication.aboutQt, None, help_menu)

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        files = self.settings.recent_files()
        for path in files:
            self._action(Path(path).name, lambda _=False, p=path: self.open_image(p), None, self.recent_menu).setToolTip(path)
        if not files:
            self.recent_menu.addAction("No recent files").setEnabled(False)
        else:
            self.recent_menu.addSeparator()
            self._action("Clear list", self.settings.clear_recent_files, None, self.recent_menu)

    def _open_dialog(self) -> None:
        self.tabs.setCurrentWidget(self.image_tab)
        self.image_tab.open_dialog()

    def _paste(self) -> None:
        self.tabs.setCurrentWidget(self.image_tab)
        self.image_tab.paste()

    def _toggle_camera(self) -> None:
        self.tabs.setCurrentWidget(self.webcam_tab)
        self.webcam_tab.toggle()

    def _about(self) -> None:
        QMessageBox.about(self, "About digitdesk", about_html(self.model.recognizer))

    # Events ----------------------------------------------------------------------------

    @Slot(int)
    def _on_tab_changed(self, index: int) -> None:
        """The camera runs only while its tab is shown."""
        self.statusBar().clearMessage()
        webcam = self.tabs.indexOf(self.webcam_tab)
        if self._last_tab == webcam and index != webcam:
            self.webcam_tab.suspend()
        elif index == webcam:
            self.webcam_tab.resume()
        self._last_tab = index

    @Slot(str)
    def _on_file_opened(self, path: str) -> None:
        self.settings.add_recent_file(path)
        self.settings.set_last_folder(Path(path).parent)

    @Slot(object, str)
    def _send_to_image(self, frame, name: str) -> None:
        self.tabs.setCurrentWidget(self.image_tab)
        self.image_tab.open_array(frame, name)

    @never_raises
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        """Accept image files and image data anywhere in the window."""
        mime = event.mimeData()
        if image_path_from_mime(mime) or mime.hasImage():
            event.acceptProposedAction()

    @never_raises
    def dropEvent(self, event: QDropEvent) -> None:
        """Open a dropped image in the Image tab."""
        self.tabs.setCurrentWidget(self.image_tab)
        if self.image_tab.open_mime(event.mimeData()):
            event.acceptProposedAction()

    @never_raises
    def showEvent(self, event) -> None:
        """Start a camera given with --camera if its tab is the current one."""
        super().showEvent(event)
        if self._fitted_size is not None:  # now the real frame is known (on most window systems)
            if self.size() == self._fitted_size:  # not resized by the caller since
                self.fit_to_screen()
            self._fitted_size = None
        if self.tabs.currentWidget() is self.webcam_tab:
            self.webcam_tab.resume()

    @never_raises
    def closeEvent(self, event: QCloseEvent) -> None:
        """Save the state and stop every worker thread before closing."""
        self.shutdown()
        super().closeEvent(event)

    def shutdown(self) -> None:
        """Stop the camera and all worker threads (idempotent)."""
        if self._closed:
            return
        self._closed = True
        built = self.lazy_tabs.built_widgets()  # a tab never built has nothing to stop
        if "train" in built:
            built["train"].session.abort()  # winds down while the rest stops
        try:
            self._save_state()
        except Exception:  # never block closing on settings
            log.exception("could not save the settings")
        if "train" in built:
            built["train"].shutdown()  # stops a run within one batch
        self.webcam_tab.shutdown()
        self.draw_tab.shutdown()
        self.image_tab.shutdown()
        for key in ("models", "data"):
            if key in built:
                built[key].shutdown()
        self.model.shutdown()
        wait_detached()  # work whose dialog closed without waiting for it (an ensemble)

    # Settings ---------------------------------------------------------------------------

    def _save_state(self) -> None:
        s = self.settings.group("window")
        s.set("geometry", self.saveGeometry())
        s.set("state", self.saveState())
        s.set("tab", self.tabs.currentIndex())
        for name, tab in self._tabs_with_state():
            tab.save_state(self.settings.group(name))
        if not self.settings.sync():
            log.warning("could not save the settings to %s (read-only folder or full disk?)",
                        self.settings.file_name)

    def fit_to_screen(self, move: bool = True) -> None:
        """Shrink the window, frame included, to its screen's available area, and move it inside
        (``move=False``: only shrink, the window system places a window that was never placed)."""
        screen = QGuiApplication.screenAt(self.geometry().center()) or self.screen()
        if screen is None:
            return
        inner, frame = self.geometry(), self.frameGeometry()
        margins = QMargins(inner.left() - frame.left(), inner.top() - frame.top(),
                           frame.right() - inner.right(), frame.bottom() - inner.bottom())
        if margins.isNull():  # no frame yet (not shown): guess one
            margins = GUESSED_FRAME
        fitted = fit_inside(inner.marginsAdded(margins), screen.availableGeometry()).marginsRemoved(margins)
        if fitted == inner:
            return
        if move:
            self.setGeometry(fitted)
        else:
            self.resize(fitted.size())

    def _tabs_with_state(self) -> list[tuple[str, QWidget]]:
        """The tabs that remember settings and are built, each in its own settings group (a tab
        not built keeps what it saved last time; the Train tab restores its own when built)."""
        tabs = [("draw", self.draw_tab), ("image", self.image_tab), ("webcam", self.webcam_tab)]
        train = self._built("train")
        return tabs + ([("train", train)] if train is not None else [])

    def _restore_state(self) -> None:
        s = self.settings.group("window")
        geometry = s.get("geometry", QByteArray())
        restored = bool(geometry) and self.restoreGeometry(geometry)
        if not restored:
            self.resize(DEFAULT_SIZE)
        self.fit_to_screen(move=restored)
        self._fitted_size = self.size()
        state = s.get("state", QByteArray())
        if state:
            self.restoreState(state)
        self.tabs.setCurrentIndex(min(max(0, s.get("tab", 0)), self.tabs.count() - 1))  # builds a lazy one
        self._last_tab = self.tabs.currentIndex()
        for name, tab in self._tabs_with_state():
            if name == "train":
                continue  # restored as it was built
            if tab is not self.webcam_tab or self._camera is None:  # --camera wins over the remembered source
                tab.restore_state(self.settings.group(name))

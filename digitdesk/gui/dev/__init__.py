"""Tools for developers: ``screenshots.py`` renders the README's screenshots
(``python -m digitdesk.gui.dev.screenshots``); ``demo.py`` writes numbers on the canvas with
programmatic strokes (also used by the self-test and the launch-to-first-prediction timing)
and makes a webcam-like demo video.
"""

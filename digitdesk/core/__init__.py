"""The Qt-free recognition engine: data, preprocessing, segmentation, models, training, inference,
and the experiments around them (kept runs, presets, ensembles, hyperparameter searches). The README's architecture section
lists every module."""

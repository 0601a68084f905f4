"""The Qt-free recognition engine: data, preprocessing, segmentation, models, training, inference,
and the experiments around them (kept runs, presets, ensembles). The README's architecture section
lists every module."""

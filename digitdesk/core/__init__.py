"""The Qt-free recognition engine: data, preprocessing, segmentation, models, training, inference."""

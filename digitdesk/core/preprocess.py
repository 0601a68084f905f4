"""MNIST framing of one digit."""

PREPROCESS_VERSION = 1

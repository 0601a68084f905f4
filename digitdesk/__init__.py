"""digitdesk: recognize handwritten digits drawn, photographed or held up to a webcam."""

__version__ = "0.1.0"

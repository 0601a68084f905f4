"""``python -m digitdesk.gui [--camera SOURCE] [--model FILE]`` opens the desktop app."""

import argparse
import sys

from digitdesk.gui.app import run

parser = argparse.ArgumentParser(prog="python -m digitdesk.gui", description="digitdesk desktop app")
parser.add_argument("--camera", help="camera index, video file or folder of images for the Webcam tab")
parser.add_argument("--model", help="a .keras model file (default: the bundled model)")
args = parser.parse_args()
sys.exit(run(camera=args.camera, model=args.model))

"""Data sets for training and evaluation; import every loader from here.

- ``mnist.py``: MNIST (IDX files, gzipped or not, a Keras ``mnist.npz``, the Keras cache or
  download) and the :class:`Split` / :class:`Dataset` every loader returns.
- ``files.py``: Kaggle Digit Recognizer CSVs, folders of digit images (one sub-folder per
  digit), the hold-out split, and ``--data SRC`` (:func:`load_source`), built on ``mnist.py``.
"""

from digitdesk.core.data.files import HOLDOUT_FRACTION, HOLDOUT_SEED, holdout_split, load_image_folder, load_kaggle_csv, load_source
from digitdesk.core.data.mnist import (ENV_VAR, IDX_NAMES, Dataset, Split, find_idx, keras_cache_path, load_mnist,
                                       load_mnist_at, load_mnist_idx, load_mnist_npz, read_idx)

__all__ = ["ENV_VAR", "HOLDOUT_FRACTION", "HOLDOUT_SEED", "IDX_NAMES", "Dataset", "Split", "find_idx", "holdout_split",
           "keras_cache_path", "load_image_folder", "load_kaggle_csv", "load_mnist", "load_mnist_at", "load_mnist_idx",
           "load_mnist_npz", "load_source", "read_idx"]

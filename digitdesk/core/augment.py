"""Batch augmentation in TensorFlow ops (runs inside ``tf.data``): rotation, scale, shift,
shear and stroke thickness, so MNIST-trained models read mouse strokes and other hands."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class AugmentParams:
    """Ranges of the random transforms; each sample draws its own values uniformly."""

    rotation: float = 12.0  # degrees, +-
    scale: float = 0.15  # relative, +-
    aspect: float = 0.10  # relative change of width vs height, +-
    shift: float = 2.5  # pixels, +-
    shear: float = 0.20  # shear factor, +-
    thicken: float = 0.35  # probability of a thicker stroke (blend towards a 3x3 dilation)
    thin: float = 0.20  # probability of a thinner stroke (blend towards a 2x2 erosion)

    def to_dict(self) -> dict:
        return asdict(self)


def augment_batch(images, params: AugmentParams = AugmentParams(), seed=None):
    """Randomly transform a float32 batch ``(B, 28, 28, 1)`` of 0..255 pixels.

    ``seed`` (a shape-[2] int tensor) makes the draw stateless: the same seed, the same result,
    however ``tf.data`` schedules its parallel calls.
    """
    import tensorflow as tf

    b = tf.shape(images)[0]
    if seed is None:
        seed = tf.random.uniform([2], 0, 2**31 - 1, dtype=tf.int64)
    seeds = tf.random.experimental.stateless_split(tf.cast(seed, tf.int64), 12)

    def draw(i, shape, lo=0.0, hi=1.0):
        return tf.random.stateless_uniform(shape, seeds[i], lo, hi)

    x = images
    # Stroke thickness: blend each image towards its grey-scale dilation or erosion.
    dil = tf.nn.max_pool2d(x, 3, 1, "SAME")
    ero = -tf.nn.max_pool2d(-x, 2, 1, "SAME")
    u = draw(0, [b, 1, 1, 1])
    amount = draw(1, [b, 1, 1, 1], 0.3, 1.0)
    thick = tf.cast(u < params.thicken, tf.float32) * amount
    thin = tf.cast((u >= params.thicken) & (u < params.thicken + params.thin), tf.float32) * amount
    x = x + thick * (dil - x) + thin * (ero - x)

    # One affine map per sample: output pixel -> input pixel, about the image centre.
    def uni(i, r):
        return draw(i, [b], -r, r)

    angle = uni(2, params.rotation * math.pi / 180.0)
    s = 1.0 + uni(3, params.scale)
    a = 1.0 + uni(4, params.aspect)
    sx, sy = s * a, s / a
    shear = uni(5, params.shear)
    tx, ty = uni(6, params.shift), uni(7, params.shift)
    cos, sin = tf.cos(angle), tf.sin(angle)
    # forward = R @ Shear @ Scale; we need its inverse for the projective transform.
    f00, f01 = cos * sx, (cos * shear - sin) * sy
    f10, f11 = sin * sx, (sin * shear + cos) * sy
    det = f00 * f11 - f01 * f10
    i00, i01, i10, i11 = f11 / det, -f01 / det, -f10 / det, f00 / det
    c = 13.5
    # input = inv @ (output - c - t) + c
    ox, oy = c + tx, c + ty
    a2 = c - (i00 * ox + i01 * oy)
    b2 = c - (i10 * ox + i11 * oy)
    zeros = tf.zeros_like(angle)
    transforms = tf.stack([i00, i01, a2, i10, i11, b2, zeros, zeros], axis=1)
    x = tf.raw_ops.ImageProjectiveTransformV3(
        images=x,
        transforms=transforms,
        output_shape=tf.constant([28, 28]),
        fill_value=0.0,
        interpolation="BILINEAR",
        fill_mode="CONSTANT",
    )
    return tf.clip_by_value(x, 0.0, 255.0)

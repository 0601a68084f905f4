"""Batch augmentation in TensorFlow ops (runs inside ``tf.data``): rotation, scale, shift,
shear and stroke thickness, so MNIST-trained models read mouse strokes and other hands; and,
off by default, the pens and paper of real pages: hollow (outlined) digits, a skipping pen's
gaps, a thick pen, a broad nib's hairlines and the gap a removed ruled line leaves. They all
transform MNIST digits; no other data is involved."""

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
    # Keras ImageDataGenerator's zoom_range: width and height each drawn its own factor z in
    # 1 +- zoom, the input sampled at z times the output's coordinates (0 = off; the notebooks).
    zoom: float = 0.0
    thicken: float = 0.35  # probability of a thicker stroke (blend towards a 3x3 dilation)
    thin: float = 0.20  # probability of a thinner stroke (blend towards a 2x2 erosion)
    # Pen and paper styles (one at most per digit, each with its probability; 0 = off):
    heavy: float = 0.0  # a much thicker, blurred stroke: small digits in a thick pen, blown up
    outline: float = 0.0  # a hollow digit: the outline of a thickened stroke
    breaks: float = 0.0  # gaps along the strokes: a pen that skips
    hairline: float = 0.0  # strokes thinned across one direction: a broad nib's hairlines
    gap_line: float = 0.0  # a band 1-2 px high erased across the digit: a ruled line removed

    def styles(self) -> float:
        """The share of digits given a pen and paper style."""
        return self.heavy + self.outline + self.breaks + self.hairline + self.gap_line

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
    if params.styles() > 0:
        x = _pen_styles(x, params, seeds[11])

    # One affine map per sample: output pixel -> input pixel, about the image centre.
    def uni(i, r):
        return draw(i, [b], -r, r)

    angle = uni(2, params.rotation * math.pi / 180.0)
    s = 1.0 + uni(3, params.scale)
    a = 1.0 + uni(4, params.aspect)
    sx, sy = s * a, s / a
    if params.zoom > 0:  # draws 8 and 9 (free until now), so that zoom 0 changes no other draw
        sx = sx / draw(8, [b], 1.0 - params.zoom, 1.0 + params.zoom)
        sy = sy / draw(9, [b], 1.0 - params.zoom, 1.0 + params.zoom)
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


def _pen_styles(x, params: AugmentParams, seed):
    """Give each digit of ``x`` at most one pen and paper style, drawn with its probability."""
    import tensorflow as tf

    b = tf.shape(x)[0]
    seeds = tf.random.experimental.stateless_split(tf.cast(seed, tf.int64), 8)

    def draw(i, shape, lo=0.0, hi=1.0):
        return tf.random.stateless_uniform(shape, seeds[i], lo, hi)

    u = draw(0, [b, 1, 1, 1])
    edges = [params.heavy, params.outline, params.breaks, params.hairline, params.gap_line]
    bounds = [sum(edges[:i]) for i in range(len(edges) + 1)]
    pick = [tf.cast((u >= lo) & (u < hi), tf.float32) for lo, hi in zip(bounds, bounds[1:])]

    def erode(img, kh, kw):
        return -tf.nn.max_pool2d(-img, [kh, kw], 1, "SAME")

    # A small digit in a thick pen reaches the model blown up from a few pixels: thick and soft.
    heavy = tf.image.resize(tf.image.resize(tf.nn.max_pool2d(x, 5, 1, "SAME"), [12, 12], antialias=True), [28, 28])
    thick = tf.nn.max_pool2d(x, 5, 1, "SAME")
    outline = tf.nn.relu(thick - erode(thick, 3, 3))
    # Gaps: six small disks at random places over the digit's middle; those on a stroke cut it.
    yy, xx = tf.meshgrid(tf.range(28, dtype=tf.float32), tf.range(28, dtype=tf.float32), indexing="ij")
    cy, cx = draw(1, [b, 1, 1, 6], 5.0, 23.0), draw(2, [b, 1, 1, 6], 5.0, 23.0)
    r = draw(3, [b, 1, 1, 6], 1.2, 2.2)
    hole = tf.reduce_any((yy[None, :, :, None] - cy) ** 2 + (xx[None, :, :, None] - cx) ** 2 < r * r,
                         axis=-1, keepdims=True)
    broken = x * (1.0 - tf.cast(hole, tf.float32))
    across = tf.cast(draw(4, [b, 1, 1, 1]) < 0.5, tf.float32)  # thin the strokes across x or across y
    hair = across * erode(x, 1, 3) + (1 - across) * erode(x, 3, 1)
    hair = x + draw(5, [b, 1, 1, 1], 0.6, 1.0) * (hair - x)
    row = draw(6, [b, 1, 1, 1], 5.0, 22.0)
    height = 1.0 + tf.floor(draw(7, [b, 1, 1, 1], 0.0, 2.0))
    band = tf.cast((yy[None, :, :, None] >= row) & (yy[None, :, :, None] < row + height), tf.float32)
    banded = x * (1.0 - band)
    plain = 1.0 - tf.add_n(pick)
    return plain * x + pick[0] * heavy + pick[1] * outline + pick[2] * broken + pick[3] * hair + pick[4] * banded

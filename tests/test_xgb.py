import numpy as np
import torch

from nnrepro.faces import xgb


def test_pixels_are_the_centre_crop_flattened():
    images = torch.arange(2 * 3 * 6 * 6, dtype=torch.int64).reshape(2, 3, 6, 6).to(torch.uint8)
    x = xgb.pixels(images, 2)
    assert x.shape == (2, 12)
    assert np.array_equal(x[0, :4], images[0, 0, 2:4, 2:4].flatten().numpy())
    assert xgb.pixels(images, 64).shape == (2, 108)  # a crop larger than the image is the whole image


def test_boosting_learns_a_pixel_rule_and_is_seeded():
    rng = np.random.default_rng(0)
    images = torch.from_numpy(rng.integers(0, 256, (80, 3, 8, 8), dtype=np.uint8))
    labels = (images[:, 0, 4, 4] > 127).long()
    first = xgb.predict(xgb.fit(images[:60], labels[:60], 8, 0, 1), images[60:], 8)
    again = xgb.predict(xgb.fit(images[:60], labels[:60], 8, 0, 1), images[60:], 8)
    assert np.array_equal(first, again)
    assert ((first > 0.5) == labels[60:].numpy()).mean() >= 0.9

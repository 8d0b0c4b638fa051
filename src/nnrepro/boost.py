"""The XGBoost baseline: default parameters on the flattened pixels of a centre crop."""

import numpy as np
import torch


def pixels(images: torch.Tensor, crop: int) -> np.ndarray:
    """uint8 [n, 3, S, S] -> [n, 3 * c * c] raw pixel values of the centre c x c crop, c = min(crop, S)."""
    side = images.shape[-1]
    c = min(crop, side)
    top = (side - c) // 2
    return images[:, :, top:top + c, top:top + c].reshape(len(images), -1).numpy()


ROUNDS = 100  # XGBClassifier's default n_estimators; everything else is xgboost's default too


def fit(images: torch.Tensor, labels: torch.Tensor, crop: int, seed: int, threads: int):
    """A booster trained with default parameters (the native API: scikit-learn is not a dependency)."""
    import xgboost

    config = {"objective": "binary:logistic", "seed": seed, "nthread": threads}
    train = xgboost.DMatrix(pixels(images, crop), label=labels.numpy(), nthread=threads)
    return xgboost.train(config, train, num_boost_round=ROUNDS)


def predict(model, images: torch.Tensor, crop: int) -> np.ndarray:
    """Probability of 'fake' (label 1) per image."""
    import xgboost

    return model.predict(xgboost.DMatrix(pixels(images, crop)))

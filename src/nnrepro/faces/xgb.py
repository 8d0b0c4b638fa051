"""The XGBoost baseline: default parameters on the flattened pixels of a centre crop."""

import logging
import time

import numpy as np

logger = logging.getLogger(__name__)

ROUNDS = 100  # XGBClassifier's default n_estimators; everything else is xgboost's default too


def pixels(images: np.ndarray, crop: int) -> np.ndarray:
    """uint8 [n, 3, S, S] -> [n, 3 * c * c] raw pixel values of the centre c x c crop, c = min(crop, S)."""
    side = images.shape[-1]
    c = min(crop, side)
    top = (side - c) // 2
    return np.ascontiguousarray(images[:, :, top : top + c, top : top + c]).reshape(len(images), -1)


def feature_count(images: np.ndarray, crop: int) -> int:
    return 3 * min(crop, images.shape[-1]) ** 2


def _progress(every: int = 10):
    """An xgboost callback printing the round and the elapsed seconds every `every` rounds."""
    import xgboost

    class Progress(xgboost.callback.TrainingCallback):
        def before_training(self, model):
            self.began = time.perf_counter()
            return model

        def after_iteration(self, model, epoch: int, evals_log) -> bool:
            if (epoch + 1) % every == 0:
                logger.info(f"xgboost: round {epoch + 1}/{ROUNDS} after {time.perf_counter() - self.began:.0f} s")
            return False

    return Progress()


def fit(images: np.ndarray, labels: np.ndarray, crop: int, seed: int, threads: int, device: str = "cpu"):
    """A booster trained with default parameters (the native API: scikit-learn is not a dependency)."""
    import xgboost

    config = {"objective": "binary:logistic", "seed": seed, "nthread": threads, "device": device}
    train = xgboost.DMatrix(pixels(images, crop), label=np.asarray(labels), nthread=threads)
    logger.info(f"xgboost: {ROUNDS} rounds on {len(labels)} images x {train.num_col()} pixels")
    return xgboost.train(config, train, num_boost_round=ROUNDS, callbacks=[_progress()])


def predict(model, images: np.ndarray, crop: int) -> np.ndarray:
    """Probability of 'fake' (label 1) per image."""
    import xgboost

    return model.predict(xgboost.DMatrix(pixels(images, crop)))

"""The faces study's training side: images, CNNs, XGBoost, per-image predictions."""

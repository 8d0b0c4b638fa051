"""A training run's schedule: lr, epochs and batch size from params, and the steps after which it is evaluated."""


def read(
    config, *, lr_key: str = "lr", epochs_key: str = "mlp.epochs", batch_key: str = "mlp.batch_size", **values
) -> dict:
    """Validated lr, epochs and batch_size, read from the given params keys unless passed in `values`."""
    keys = {"lr": lr_key, "epochs": epochs_key, "batch_size": batch_key}
    read = {"lr": config.positive, "epochs": config.integer, "batch_size": config.integer}
    return {name: values[name] if name in values else read[name](key) for name, key in keys.items()}


def eval_steps(steps_per_epoch: int, evals_per_epoch: int) -> set[int]:
    """The step counts within an epoch after which to evaluate, evenly spaced, the last one included."""
    k = max(1, min(evals_per_epoch, steps_per_epoch))
    return {round(steps_per_epoch * (j + 1) / k) for j in range(k)}

"""Stage probe_features: frozen ImageNet backbone features of every split, shared by all probe cells."""

import argparse
import time
from pathlib import Path

import torch

from nnrepro import cnn, device, faces, io, params
from nnrepro.errors import exit_on_user_error


@exit_on_user_error
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cache", type=Path, required=True, help="image cache, e.g. data/faces/cache.pt")
    parser.add_argument("--out", type=Path, required=True, help="features file, e.g. data/features/probe.pt")
    parser.add_argument("--timings", type=Path, required=True, help="wall-clock JSON")
    args = parser.parse_args()
    config = params.load()
    seed = params.integer(params.get(config, "seed"), "seed", 0)
    dev = device.setup(seed, params.get(config, "device"))
    settings = cnn.settings(params.get(config, "cnn"))
    start = time.perf_counter()
    features = cnn.probe_features(faces.load_cache(args.cache), settings, dev)
    with io.atomic_path(args.out) as tmp:
        torch.save(features, tmp)
    seconds = time.perf_counter() - start
    io.write_json(args.timings, {"wall_seconds": round(seconds, 2)})
    shape = tuple(features["train"]["inputs"].shape)
    print(f"probe_features: {settings['arch']} features {shape} for train, and val, test in {seconds:.1f} s")


if __name__ == "__main__":
    main()

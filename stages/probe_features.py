"""Stage probe_features: frozen ImageNet backbone features of every split, shared by all probe cells."""

import logging
from pathlib import Path

from nnrepro import io
from nnrepro.errors import exit_on_user_error
from nnrepro.faces import cnn, images
from nnrepro.runtime import stage

logger = logging.getLogger(__name__)


@exit_on_user_error
def main() -> None:
    parser = stage.parser(__doc__, "data", metrics=False)
    parser.add_argument("--out", type=Path, required=True, help="features file, e.g. data/features/probe.pt")
    args = parser.parse_args()
    ctx = stage.start()  # the frozen backbone draws nothing: no seed read
    settings = cnn.settings(ctx.params, "arch", "image_size", "weights_path")
    features = cnn.probe_features(images.load_cache(args.data), settings, ctx.device)
    io.save_torch(features, args.out)
    shape = tuple(features["train"]["inputs"].shape)
    stage.finish(ctx, args, None)
    logger.info(
        f"probe_features: {settings.arch} features {shape} for train, and validation, test in {ctx.seconds():.1f} s"
    )


if __name__ == "__main__":
    main()

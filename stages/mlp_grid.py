"""Stage mlp_grid (one matrix cell): the MLP at one depth and width, at `lr`."""

from nnrepro import europe, mlp, params, stage, train
from nnrepro.errors import exit_on_user_error


@exit_on_user_error
def main() -> None:
    parser = stage.parser(__doc__, "data", "live", "model")
    parser.add_argument("--depth", type=int, required=True, help="hidden layers")
    parser.add_argument("--width", type=int, required=True, help="units per hidden layer")
    args = parser.parse_args()
    run = stage.start(threads=1)
    arch = {"depth": params.integer(args.depth, "mlp_grid.depths"), "width": params.integer(args.width, "mlp_grid.widths"),
            "features": run.params.choice("mlp.features", mlp.FEATURES)}
    sched = train.schedule(run.params)
    splits = europe.load_splits(args.data, run.device)
    model, history = train.fit(arch, sched, splits, run.seed, f"mlp_grid d{args.depth}-w{args.width}",
                               europe.NUM_CLASSES)
    summary = train.save_run(model, arch, history, args.live, args.model)
    stage.finish(run, args, {"depth": args.depth, "width": args.width, **summary})


if __name__ == "__main__":
    main()

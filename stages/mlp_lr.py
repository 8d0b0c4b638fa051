"""Stage mlp_lr (one matrix cell): the default MLP at one learning rate, without or with BatchNorm."""

from nnrepro import params
from nnrepro.errors import exit_on_user_error
from nnrepro.europe import loop, mlp, points
from nnrepro.runtime import stage


@exit_on_user_error
def main() -> None:
    parser = stage.parser(__doc__, "data", "live", "model")
    parser.add_argument("--lr", type=float, required=True, help="Adam learning rate")
    parser.add_argument("--batchnorm", choices=["true", "false"], required=True)
    args = parser.parse_args()
    ctx = stage.start(threads=1)  # models this small lose more to intra-op threads than they gain
    arch = {**mlp.architecture(ctx.params), "batchnorm": args.batchnorm == "true"}
    sched = loop.schedule(ctx.params, lr=params.positive(args.lr, "mlp_lr.lrs"))
    splits = points.load_splits(args.data, ctx.device)
    label = f"mlp_lr lr={args.lr:g} batchnorm={args.batchnorm}"
    model, history = loop.fit(arch, sched, splits, ctx.seed, label, points.NUM_CLASSES)
    summary = loop.save_run(model, arch, history, args.live, args.model)
    stage.finish(ctx, args, {"lr": args.lr, "batchnorm": arch["batchnorm"], **summary})


if __name__ == "__main__":
    main()

"""Matrix products over a stack of K runs (a leading axis) that round each run's matrix exactly as torch.mm or
torch.addmm round it in a run of its own, batched into one torch.bmm/baddbmm wherever that rounds alike.

Rules measured with the MKL that torch's x86 wheels ship (one thread): its gemm rounds by where the output and
the left operand start modulo 16 bytes (at a single row, the right operand too), so a fresh tensor, which starts
on a 64-byte boundary, rounds like another fresh tensor but not like a misaligned view; and ATen's bmm loops
itself, rounding otherwise, below 400 multiply-adds per matrix. A product that cannot be batched so goes per run,
on 16-byte aligned copies of misaligned activations. Weights are taken as they lie: the caller places them as the
run alone has them.

Products under SMALL_BMM multiply-adds batch whenever the run alone computes them with ATen's own loop too, as
fastmlp's step of plain nets does (so that a stack at batch size 1 is one call per layer); autograd, which trains
BatchNorm nets, and evaluation call MKL (`small_loop=False`).
"""

import torch

SMALL_BMM = 400  # ATen's bmm calls the gemm from this many multiply-adds per matrix
ALIGN = 4  # floats in 16 bytes


def aligned(t: torch.Tensor) -> bool:
    """Whether every run's matrix of t (K, ...) starts on a 16-byte boundary, as a fresh tensor does."""
    return t.data_ptr() % (4 * ALIGN) == 0 and t.stride(0) % ALIGN == 0


def fresh(t: torch.Tensor) -> torch.Tensor:
    """t, or a copy of it that starts on a 16-byte boundary like a fresh tensor."""
    return t if t.data_ptr() % (4 * ALIGN) == 0 else t.clone()


def buffer(k: int, shape: tuple[int, ...], offset: int = 0, device=None) -> torch.Tensor:
    """An empty (K, *shape) whose K matrices each start `offset` floats past a 16-byte boundary."""
    size = shape[0] * shape[1]
    stride = -(-size // ALIGN) * ALIGN
    if stride == size and offset % ALIGN == 0:
        return torch.empty(k, *shape, device=device)
    base = torch.empty(k * stride + ALIGN, device=device)
    return base.as_strided((k, *shape), (stride, shape[1], 1), offset % ALIGN)


def small(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Whether ATen computes a @ b (matrices, or stacks of them) with its own loop rather than MKL."""
    return a.shape[-2] * a.shape[-1] * b.shape[-1] < SMALL_BMM


def baddbmm(bias: torch.Tensor, a: torch.Tensor, b: torch.Tensor, small_loop: bool = True) -> torch.Tensor:
    """bias (K, 1, n) + a (K, m, k) @ b (K, k, n), a activations and b weights, into a fresh tensor."""
    if small(a, b):
        batched = small_loop
    else:
        batched = a.shape[1] * b.shape[2] % ALIGN == 0 and aligned(a)
    if batched:
        return torch.baddbmm(bias, a, b)
    return torch.stack([torch.addmm(bias[k, 0], fresh(a[k]), b[k]) for k in range(len(a))])


def bmm(
    a: torch.Tensor, b: torch.Tensor, out: torch.Tensor | None = None, weights: bool = True, small_loop: bool = True
) -> torch.Tensor:
    """a (K, m, k) @ b (K, k, n) into `out` (default: a fresh buffer); b holds weights unless `weights` is False
    (then activations, placed like a). A non-contiguous `out` goes per run: bmm would write through a proxy."""
    out = buffer(len(a), (a.shape[1], b.shape[2]), device=a.device) if out is None else out
    if small(a, b):
        batched = small_loop
    else:
        batched = out.is_contiguous() and aligned(out) and aligned(a) and (weights or aligned(b))
    if batched or a.shape[2] == 1:  # a contraction of length 1 rounds alike anywhere
        return torch.bmm(a, b, out=out)
    for k in range(len(a)):
        torch.mm(fresh(a[k]), b[k] if weights else fresh(b[k]), out=out[k])
    return out

"""Data-parallel training through PyTorch's own engine: torchrun starts the processes, DistributedDataParallel
averages their gradients. One process (world size 1) is the plain path."""

import logging
import os
import subprocess
import sys
from dataclasses import dataclass

import torch

from nnrepro.errors import UserError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class World:
    rank: int = 0
    size: int = 1
    local_rank: int = 0
    local_size: int = 1

    @property
    def writes(self) -> bool:
        """Only rank 0 writes outputs."""
        return self.rank == 0


def from_launcher() -> World:
    """The torchrun environment of this process; World() when not started by torchrun."""
    if "WORLD_SIZE" not in os.environ:
        return World()
    env = {k: int(os.environ[k]) for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE")}
    return World(env["RANK"], env["WORLD_SIZE"], env["LOCAL_RANK"], env["LOCAL_WORLD_SIZE"])


def relaunch(nproc: int, label: str) -> bool:
    """Run this script again under torchrun with `nproc` processes on this machine, unless it already runs under a
    launcher or nproc is 1; True when it did (the caller then stops). A rank that fails stops them all."""
    if nproc == 1 or "WORLD_SIZE" in os.environ:
        return False
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        f"--nproc-per-node={nproc}",
        sys.argv[0],
        *sys.argv[1:],
    ]
    logger.info(f"{label}: {nproc} processes under torchrun")
    code = subprocess.run(command).returncode
    if code != 0:
        raise UserError(
            f"{label}: a process of the {nproc} under torchrun failed (exit status {code}), its error is "
            "above; outputs of earlier runs are unchanged"
        )
    return True


def join(world: World, device: torch.device) -> torch.device:
    """Join the process group (NCCL on CUDA, gloo on the CPU); this rank's device."""
    cuda = device.type == "cuda"
    if cuda and torch.cuda.device_count() < world.local_size:
        raise UserError(
            f"{world.local_size} processes per node but {torch.cuda.device_count()} CUDA GPUs: "
            "lower cnn.nproc_per_node (or torchrun's --nproc-per-node)"
        )
    torch.distributed.init_process_group("nccl" if cuda else "gloo")
    if cuda:
        torch.cuda.set_device(world.local_rank)
        return torch.device("cuda", world.local_rank)
    return torch.device("cpu")


def leave(world: World) -> None:
    if world.size > 1 and torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()


def wrap(net: torch.nn.Module, world: World, device: torch.device) -> torch.nn.Module:
    """DDP around `net`; BatchNorm synchronised across ranks on CUDA (PyTorch's SyncBatchNorm is GPU-only, so on
    the CPU each rank normalises with its own share's statistics)."""
    if world.size == 1:
        return net
    from torch.nn.parallel import DistributedDataParallel

    if device.type == "cuda":
        net = torch.nn.SyncBatchNorm.convert_sync_batchnorm(net)
        return DistributedDataParallel(net, device_ids=[device.index])
    return DistributedDataParallel(net)


def share(batch: torch.Tensor, world: World) -> tuple[torch.Tensor, float]:
    """This rank's rows of a global batch and the loss scale that makes DDP's gradient average equal the
    single-process mean over the whole batch (shares may differ by one row; an empty share weighs 0)."""
    mine = batch[world.rank :: world.size]
    if len(mine) == 0:
        return batch[:1], 0.0  # every rank must run forward and backward for DDP's all-reduce
    return mine, len(mine) * world.size / len(batch)


def total(value: torch.Tensor, world: World) -> torch.Tensor:
    """Sum of `value` over ranks."""
    if world.size > 1:
        torch.distributed.all_reduce(value)
    return value

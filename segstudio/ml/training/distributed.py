"""torchrun / DistributedDataParallel support.

Under ``torchrun --nproc_per_node=N`` the environment holds RANK, WORLD_SIZE
and LOCAL_RANK: ``setup()`` joins the process group (NCCL on CUDA, gloo on the
CPU), picks this process's device, and the trainer wraps the model in DDP,
shards batches with ``EpochSampler`` and lets rank 0 alone log and save.
Without torchrun everything is one process and these helpers are no-ops.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch.utils.data import DistributedSampler



@dataclass
class DistContext:
    rank: int = 0
    world: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")
    owns_group: bool = False

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world > 1


def pick_device(name: str = "auto", local_rank: int = 0) -> torch.device:
    """``segstudio.ml.devices.pick_device``; under torchrun "auto"/"cuda" mean this process's GPU."""
    from segstudio.ml.devices import pick_device as pick

    dev = pick(name)
    if dev.type == "cuda" and dev.index is None:
        dev = torch.device("cuda", local_rank % torch.cuda.device_count())
    return dev


def launched_by_torchrun() -> bool:
    return "RANK" in os.environ and "WORLD_SIZE" in os.environ and int(os.environ["WORLD_SIZE"]) > 1


def setup(device: str = "auto") -> DistContext:
    """Join the torchrun process group if there is one; otherwise a single-process context."""
    if not launched_by_torchrun():
        return DistContext(device=pick_device(device))
    rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    local_rank = int(os.environ.get("LOCAL_RANK", rank))
    dev = pick_device(device, local_rank)
    if dev.type == "cuda":
        torch.cuda.set_device(dev)
    owns = False
    if not dist.is_initialized():
        dist.init_process_group("nccl" if dev.type == "cuda" else "gloo")
        owns = True
    return DistContext(rank, world, local_rank, dev, owns)


def teardown(ctx: DistContext) -> None:
    if ctx.owns_group and dist.is_initialized():
        dist.destroy_process_group()


def comm_device(ctx: DistContext) -> torch.device:
    return ctx.device if ctx.device.type == "cuda" else torch.device("cpu")


def all_sum(ctx: DistContext, values: list[float]) -> list[float]:
    """Element-wise sum over processes (identity with one process)."""
    if not ctx.distributed:
        return list(values)
    t = torch.tensor(values, dtype=torch.float64, device=comm_device(ctx))
    dist.all_reduce(t)
    return t.cpu().tolist()


def any_true(ctx: DistContext, flag: bool) -> bool:
    return all_sum(ctx, [1.0 if flag else 0.0])[0] > 0


def barrier(ctx: DistContext) -> None:
    if ctx.distributed:
        dist.barrier()


class EpochSampler(DistributedSampler):
    """A DistributedSampler (one replica without torchrun) that can start mid-epoch.

    ``set_epoch(epoch, skip)`` reshuffles deterministically for ``epoch`` and
    drops the first ``skip`` samples of this replica's share, so a resumed run
    continues with the batches it had not seen.
    """

    def __init__(self, dataset, ctx: DistContext, shuffle: bool = True, seed: int = 0, drop_last: bool = True):
        super().__init__(dataset, num_replicas=ctx.world, rank=ctx.rank, shuffle=shuffle, seed=seed,
                         drop_last=drop_last and len(dataset) >= ctx.world)
        self.skip = 0

    def set_epoch(self, epoch: int, skip: int = 0) -> None:
        super().set_epoch(epoch)
        self.skip = max(0, int(skip))

    def __iter__(self):
        return iter(list(super().__iter__())[self.skip:])

    def __len__(self) -> int:
        return max(0, super().__len__() - self.skip)

    def full_length(self) -> int:
        return super().__len__()

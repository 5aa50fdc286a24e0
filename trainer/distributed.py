"""The distributed set-up of a run (torchrun's RANK / WORLD_SIZE / LOCAL_RANK): which rank this
process is, its device, the process group and the DistributedDataParallel wrapper. One process
(world size 1) needs none of it, and every function here is then a no-op."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from artify_stream.errors import ConfigError, EngineError
from artify_stream.devices import resolve_device


@dataclass(frozen=True)
class Distributed:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @classmethod
    def from_env(cls) -> Distributed:
        world = int(os.environ.get("WORLD_SIZE", "1"))
        return cls(int(os.environ.get("RANK", "0")), world, int(os.environ.get("LOCAL_RANK", "0")))


def training_device(requested: str | None, dist: Distributed) -> torch.device:
    """The runtime's device rule (`resolve_device`), then this rank's GPU when several processes train."""
    try:
        device = torch.device(resolve_device(requested))
    except EngineError as exc:
        raise ConfigError(str(exc)) from None
    if device.type == "cuda":
        device = torch.device("cuda", dist.local_rank if dist.world_size > 1 else (device.index or 0))
        torch.cuda.set_device(device)
    return device


def start_process_group(dist: Distributed, device: torch.device) -> None:
    if dist.world_size > 1 and not torch.distributed.is_initialized():
        torch.distributed.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")


def wait_for_every_rank(dist: Distributed) -> None:
    """A barrier: no rank leaves while another still writes the run's files."""
    if dist.world_size > 1 and torch.distributed.is_initialized():
        torch.distributed.barrier()


def end_process_group(dist: Distributed) -> None:
    if dist.world_size > 1 and torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()


def leave(dist: Distributed, code: int = 0) -> None:
    """End a worker of a multi-process run, once its files are written and closed; one process returns.

    torch 2.14 keeps the gloo group referenced from C++ after destroy_process_group (a DDP
    wrapper is enough: its threads gloo_tcp_loop and two pt_gloo_runloop are still running when
    the interpreter exits). The C++ runtime then destroys them at exit while they run, and some
    finished runs ended in SIGABRT (`terminate called without an active exception`), losing the
    exit code. A worker whose work is done and flushed leaves without that teardown."""
    if dist.world_size == 1:
        return
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def data_parallel_wrapper(dist: Distributed, device: torch.device) -> Callable[[nn.Module], nn.Module]:
    """What a trained network is wrapped in: DistributedDataParallel across ranks, else nothing."""
    if dist.world_size == 1:
        return lambda module: module
    from torch.nn.parallel import DistributedDataParallel as DDP

    ids = [device.index] if device.type == "cuda" else None
    return lambda module: DDP(module, device_ids=ids, broadcast_buffers=False)

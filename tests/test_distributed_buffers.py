"""Keeping replicas together: batch-norm buffers synced once per step (no in-forward broadcast under DDP, since
cuDNN keeps them for backward), and the explicit gradient averaging of the models that do not use DDP."""
import os
import socket

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn

from util import distributed


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _worker(rank, port, results):
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    dist.init_process_group('gloo', rank=rank, world_size=2)
    try:
        torch.manual_seed(0)
        net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4))
        opt = type('Opt', (), {'norm': 'batch', 'device': torch.device('cpu')})()
        wrapped = distributed.wrap_network(net, opt)
        assert wrapped.broadcast_buffers is False
        # each rank's own statistics (as after forwards on different shards)
        net[1].running_mean.fill_(float(rank + 1))
        net[1].num_batches_tracked.fill_(10 * (rank + 1))
        # two forwards before one backward, as pix2pix's D: allowed, and no buffer is rewritten in between
        x = torch.randn(2, 3, 8, 8)
        loss = wrapped(x).mean() + wrapped(x + 1).mean()
        loss.backward()
        plain = nn.BatchNorm1d(2)  # a network synchronised without DDP (liss, omnigan) gets rank 0's buffers too
        plain.running_var.fill_(float(rank + 5))
        distributed.sync_buffers([wrapped, plain, nn.Linear(1, 1)])
        # gradients averaged over the ranks without DDP
        param = nn.Parameter(torch.zeros(3))
        param.grad = torch.full((3,), float(rank))
        distributed.average_gradients(torch.optim.SGD([param], lr=0.1))
        results[rank] = (net[1].running_mean.tolist(), int(net[1].num_batches_tracked), plain.running_var.tolist(),
                         param.grad.tolist())
    finally:
        dist.destroy_process_group()


def test_sync_buffers_takes_rank_0_statistics():
    results = mp.Manager().dict()
    mp.spawn(_worker, args=(_free_port(), results), nprocs=2, join=True)
    assert results[0] == results[1]
    assert results[0][1] == 12  # rank 0's 10 plus its two forwards (rank 1's would be 22)
    assert results[0][2] == [5.0, 5.0] and results[0][3] == [0.5, 0.5, 0.5]


def test_sync_buffers_is_a_no_op_without_a_process_group():
    net = nn.BatchNorm2d(2)
    net.running_mean.fill_(3.0)
    distributed.sync_buffers([net])
    assert net.running_mean.tolist() == [3.0, 3.0]

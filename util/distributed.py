"""Multi-process training on PyTorch's own distributed engine.

Any launcher that sets RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and MASTER_PORT works: torchrun, SLURM
(srun + torchrun), Kubernetes' PyTorchJob. options/base_options.py reads the ranks into opt.rank,
opt.local_rank and opt.world_size; :func:`init` creates the process group (NCCL on CUDA, gloo on CPU).

GAN models update several networks in turn (D, then G through a frozen D). :class:`ReplicatedNetwork`
keeps DistributedDataParallel correct and cheap for that pattern: while all of a network's parameters are
frozen (``set_requires_grad(net, False)``) or gradients are disabled, calling it runs the plain module, so
the frozen network neither arms its gradient reducer nor broadcasts its buffers; gradients still flow
through it to the network being trained.
"""
import datetime
import hashlib
import itertools
import os
import sys

import torch
import torch.distributed as dist
import torch.nn as nn

from util import util
from util.errors import OptionError


class ReplicaMismatchError(RuntimeError):
    """The parameters of a network differ between processes: the replicas stopped training together."""


def is_distributed():
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def get_rank():
    return dist.get_rank() if is_distributed() else 0


def get_world_size():
    return dist.get_world_size() if is_distributed() else 1


def is_main():
    """True in the process that writes logs, pages and checkpoints (rank 0, or the only process)."""
    return get_rank() == 0


def backend_for(device):
    return 'nccl' if device.type == 'cuda' else 'gloo'


def init(opt):
    """Create the process group when the launcher started several processes; returns True when distributed.
    A group that the calling program created already (several trainings in one torchrun job) is used as it is.

    Every rank then takes rank 0's ``opt.seed``: without --seed each process drew its own at random, and ranks
    with different seeds initialise different networks (DDP copies rank 0's weights only into the networks it
    wraps, not into untrained copies such as an EMA generator) and shard the data with different permutations.
    A rank waits at most 30 minutes for a lost peer before failing (long enough for a slow checkpoint).
    """
    if getattr(opt, 'world_size', 1) <= 1:
        return False
    if not dist.is_initialized():
        _create_group(opt)
    opt.seed = broadcast_object(opt.seed)
    return True


_created_group = False  # whether init created the process group (cleanup destroys only that one)


def _create_group(opt):
    global _created_group
    missing = [v for v in ('MASTER_ADDR', 'MASTER_PORT') if v not in os.environ]
    if missing:
        raise OptionError(f"WORLD_SIZE={opt.world_size} but {' and '.join(missing)} not set: start training with "
                          f"torchrun (e.g. torchrun --nproc_per_node=2 train.py ...) or set them in the launcher")
    if getattr(opt, 'norm', None) == 'syncbatch' and opt.device.type != 'cuda':
        raise OptionError('--norm syncbatch needs CUDA GPUs (SyncBatchNorm has no CPU kernel); use --norm batch on CPU')
    backend = backend_for(opt.device)
    kwargs = {'device_id': opt.device} if backend == 'nccl' else {}
    timeout = datetime.timedelta(minutes=30)
    restart = os.environ.get('TORCHELASTIC_RESTART_COUNT')
    if restart is not None and os.environ.get('TORCHELASTIC_USE_AGENT_STORE') == 'True':
        # torchrun keeps one store for every restart of the group (torch 2.x): the new group would read the killed
        # group's entries (a rank's old address: 'Gloo connectFullMesh failed ... Connection refused'), so each
        # restart gets its own key space
        store = dist.PrefixStore(f'zoo_restart_{restart}/', dist.TCPStore(
            os.environ['MASTER_ADDR'], int(os.environ['MASTER_PORT']), is_master=False, timeout=timeout))
        dist.init_process_group(backend, store=store, rank=opt.rank, world_size=opt.world_size, timeout=timeout,
                                **kwargs)
    else:
        dist.init_process_group(backend, init_method='env://', rank=opt.rank, world_size=opt.world_size,
                                timeout=timeout, **kwargs)
    _created_group = True


def broadcast_object(obj):
    """Rank 0's ``obj`` (any picklable value) on every rank; ``obj`` itself when not distributed."""
    if not is_distributed():
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def barrier():
    if is_distributed():
        dist.barrier()


def cleanup(wait_for_peers=True):
    """Destroy the process group that :func:`init` created (end of training), so that the launcher sees a clean
    exit; a group created by the calling program stays.

    After a normal run a barrier first lets every rank finish its last collective and rank 0 its writes: a
    rank that tears gloo down while a peer still talks to it can abort ('terminate called without an active
    exception'). After an error there is no barrier, since the other ranks may never reach it.
    """
    global _created_group
    if dist.is_available() and dist.is_initialized():
        if wait_for_peers:
            dist.barrier()
        if _created_group:
            dist.destroy_process_group()
            _created_group = False


def rank_seed(seed, rank):
    """A seed for ``rank`` derived from the run's seed: ranks draw different dropout masks and noise."""
    digest = hashlib.sha256(f'{int(seed)}:{int(rank)}'.encode()).digest()
    return int.from_bytes(digest[:4], 'little') % (2 ** 31)


def seed_rank(seed, rank):
    """Give this process its own random streams (after the networks were initialised identically)."""
    util.seed_everything(rank_seed(seed, rank))


# ---------------------------------------------------------------------------------------------- wrapping

class ReplicatedNetwork(nn.parallel.DistributedDataParallel):
    """DistributedDataParallel that steps aside while its network is frozen or gradients are off.

    A frozen discriminator evaluated for the generator loss then costs no collective and leaves its reducer
    untouched (no unused-parameter errors, no gradient sync), and inference needs no peers. Whole-network
    freezing is the supported pattern; freezing only part of a trained network needs
    ``find_unused_parameters``. Attributes the wrapper lacks are looked up on the wrapped network.
    """

    def forward(self, *args, **kwargs):
        if not torch.is_grad_enabled() or not any(p.requires_grad for p in self.module.parameters()):
            return self.module(*args, **kwargs)
        return super().forward(*args, **kwargs)

    def __getattr__(self, name):
        try:
            return super().__getattr__(name)
        except AttributeError:
            return getattr(self.module, name)


def convert_sync_batchnorm(net):
    """Replace BatchNorm layers by SyncBatchNorm (same parameter objects, so optimizers stay valid)."""
    return nn.SyncBatchNorm.convert_sync_batchnorm(net)


def wrap_network(net, opt):
    """DDP-wrap one trained network (after converting its batch norms for --norm syncbatch)."""
    if getattr(opt, 'norm', None) == 'syncbatch':
        net = convert_sync_batchnorm(net)
    device_ids = [opt.device.index] if opt.device.type == 'cuda' else None
    # gradient_as_bucket_view keeps gradients in the communication buckets (no copy).
    wrapped = ReplicatedNetwork(net, device_ids=device_ids, gradient_as_bucket_view=True)
    # No buffer broadcast inside forward: it rewrites the batch-norm statistics in place, and cuDNN's batch norm
    # keeps them for its backward, so a network run twice before one backward (pix2pix's D on real, then fake)
    # fails on the GPU. sync_buffers does the same once per training step instead. (An attribute, not the
    # constructor keyword, because that keyword was renamed between torch releases.)
    wrapped.broadcast_buffers = False
    return wrapped


def _collective_in_place(tensors, collective):
    """Run ``collective`` on one flat copy of ``tensors`` per dtype and device, then write the results back: one
    call for the dozens of small tensors of a network instead of one each."""
    groups = {}
    for t in tensors:
        groups.setdefault((t.dtype, t.device), []).append(t)
    for group in groups.values():
        flat = torch.cat([t.reshape(-1) for t in group])
        collective(flat)
        offset = 0
        for t in group:
            t.copy_(flat[offset:offset + t.numel()].view_as(t))
            offset += t.numel()


def sync_buffers(networks):
    """Make every rank's buffers (batch-norm statistics) those of rank 0, before the step's first forward."""
    if is_distributed():
        with torch.no_grad():
            _collective_in_place([b for net in networks for b in unwrap(net).buffers()],
                                 lambda flat: dist.broadcast(flat, 0))


def broadcast_from_rank0(modules):
    """Give every rank rank 0's parameters and buffers: how models that synchronise without DDP start."""
    if is_distributed():
        with torch.no_grad():
            _collective_in_place([t.data for m in modules for t in itertools.chain(m.parameters(), m.buffers())],
                                 lambda flat: dist.broadcast(flat, 0))


def average_gradients(optimizer):
    """Average the gradients of an optimizer's parameters over the ranks (models that do not use DDP call this
    before each optimizer step, so that the replicas stay identical)."""
    if not is_distributed():
        return
    grads = [p.grad for group in optimizer.param_groups for p in group['params'] if p.grad is not None]
    world = get_world_size()

    def mean(flat):
        dist.all_reduce(flat)
        flat /= world

    _collective_in_place(grads, mean)


def unwrap(net):
    """The plain module under DistributedDataParallel / torch.compile wrappers (whose keys we save)."""
    while True:
        if isinstance(net, nn.parallel.DistributedDataParallel) or isinstance(net, nn.DataParallel):
            net = net.module
        elif hasattr(net, '_orig_mod'):
            net = net._orig_mod
        else:
            return net


def is_trained(net):
    return any(p.requires_grad for p in net.parameters())


# ---------------------------------------------------------------------------------------------- state

def parameter_digest(named_networks):
    """SHA-256 over the parameters (not buffers: batch-norm statistics are per rank) of the given networks."""
    h = hashlib.sha256()
    for name, net in named_networks:
        for key, p in unwrap(net).named_parameters():
            h.update(f'{name}.{key}'.encode())
            h.update(p.detach().to('cpu', torch.float32).contiguous().numpy().tobytes())
    return h.hexdigest()


def all_gather_objects(obj):
    if not is_distributed():
        return [obj]
    out = [None] * dist.get_world_size()
    dist.all_gather_object(out, obj)
    return out


def gather_rank_states(rank_state):
    """Collect every rank's resume state on rank 0 (a list indexed by rank; None on other ranks).

    Every rank first compares the parameter digests and raises :class:`ReplicaMismatchError` together if
    they differ, since a checkpoint of diverged replicas could not be resumed faithfully.
    """
    if not is_distributed():
        return [rank_state]
    digests = all_gather_objects(rank_state.get('param_digest'))
    if len(set(digests)) > 1:
        raise ReplicaMismatchError('the trained networks differ between ranks (parameter digests '
                                   + ', '.join(f'rank {r}: {d[:12]}' for r, d in enumerate(digests))
                                   + '): a network was probably called outside its DDP wrapper while training, or one that DDP '
                                   'does not wrap (e.g. an EMA copy) started differently on each rank')
    out = [None] * dist.get_world_size() if dist.get_rank() == 0 else None
    dist.gather_object(rank_state, out, dst=0)
    return out


def select_rank_state(state):
    """This rank's saved {'rng', 'pools'} from a training state, and whether the resume is exact.

    A state saved by N processes resumes exactly with N processes. With another count every rank gets the
    pools of rank (r mod N) and ranks beyond N get fresh random streams (rng None): training continues
    correctly but is no longer bit-identical to an uninterrupted run.
    """
    saved = state.get('ranks') or [{'rng': state['rng'], 'pools': state['pools']}]
    rank, world = get_rank(), get_world_size()
    if len(saved) == world:
        return saved[rank], True
    entry = dict(saved[rank % len(saved)])
    if rank >= len(saved):
        entry['rng'] = None
    return entry, False


def reduce_mean(values, device):
    """Average a dict of floats over ranks (for the printed losses); unchanged when not distributed."""
    if not is_distributed() or not values:
        return values
    keys = list(values)
    t = torch.tensor([float(values[k]) for k in keys], dtype=torch.float64, device=device)
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    t /= dist.get_world_size()
    return dict(zip(keys, t.tolist()))


def reduce_max(values, device):
    """Element-wise maximum of a list of floats over ranks (e.g. the slowest rank's data time)."""
    if not is_distributed():
        return list(values)
    t = torch.tensor([float(v) for v in values], dtype=torch.float64, device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return t.tolist()


class StopAgreement:
    """Makes every rank stop at the same iteration when one of them received SIGINT/SIGTERM.

    The local signal number (0: none) is all-reduced (max) asynchronously after each step and read one step
    later, so no rank waits for it: all ranks stop together, one iteration after the first one saw the signal,
    and agree on the signal (hence on the exit status). Any other count works the same way: the ranks agree on
    the largest (train.py's --save_latest_minutes posts the save intervals each clock has passed).
    """

    def __init__(self, device):
        self.device = device
        self.pending = None

    def update(self, local_signum):
        """The agreed signal number to stop on (0: go on): the largest value the ranks posted one step earlier."""
        if not is_distributed():
            return int(local_signum)
        agreed = 0
        if self.pending is not None:
            work, tensor = self.pending
            work.wait()
            agreed = int(tensor.item())
        tensor = torch.tensor([int(local_signum)], dtype=torch.int32, device=self.device)
        self.pending = (dist.all_reduce(tensor, op=dist.ReduceOp.MAX, async_op=True), tensor)
        return agreed

    def finish(self):
        """Wait for the last flag (before saving or leaving, so no collective is left half done)."""
        if self.pending is not None:
            self.pending[0].wait()
            self.pending = None


def warn(message):
    if is_main():
        print(f'warning: {message}', file=sys.stderr)

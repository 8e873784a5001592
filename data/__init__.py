"""Dataset modes: every ``data/<name>_dataset.py`` defines ``<Name>Dataset(BaseDataset)``, selected by
--dataset_mode <name>, and :func:`create_dataset` wraps it in a resumable, shardable data loader.

:func:`create_dataset` (the training/test split) and :func:`create_eval_dataset` (a held-out split scored
during training) are the only places that build loaders; train.py hands the held-out one to whoever needs it.
"""
import copy
import itertools
import os
import sys

import torch.utils.data
from torch.utils.data.distributed import DistributedSampler

from util.registry import Registry
from util.stop_signals import ignore_in_worker


def _base_dataset():
    from data.base_dataset import BaseDataset
    return BaseDataset


DATASETS = Registry('data', 'dataset', _base_dataset, 'dataset mode')


def register_dataset(name, cls):
    """Register a dataset class defined outside this repository (see ZOO_PLUGINS in the README)."""
    return DATASETS.register(name, cls)


def dataset_names():
    return DATASETS.names()


def find_dataset_using_name(dataset_name):
    return DATASETS.get(dataset_name)


def get_option_setter(dataset_name):
    return find_dataset_using_name(dataset_name).modify_commandline_options


def create_dataset(opt):
    """Build the dataset mode named by opt.dataset_mode and its loader.

    >>> dataset = create_dataset(opt)
    >>> dataset.set_epoch(1)
    >>> for batch in dataset: ...
    """
    return DataLoader(opt)


def create_eval_dataset(opt, phase, n, test_preprocess=True):
    """A loader over at most ``n`` items of the held-out split ``phase`` (e.g. val), built from ``opt``.

    Items come in a fixed order, unflipped, loaded in the main process, and every process sees all of them
    (the loader is not sharded), so evaluations agree across ranks and repeat from epoch to epoch.
    ``test_preprocess`` (default) sizes images like test.py: --preprocess crop becomes resize_and_crop and
    --load_size the --crop_size, so no random crop offsets; with False the training preprocessing applies,
    with the fixed crop positions of epoch 0 (what LiSS's validation uses).
    """
    eval_opt = copy.copy(opt)
    eval_opt.phase = phase
    eval_opt.serial_batches, eval_opt.no_flip, eval_opt.num_threads = True, True, 0
    eval_opt.max_dataset_size = n
    eval_opt.world_size, eval_opt.rank = 1, 0
    if test_preprocess:
        eval_opt.preprocess = 'resize_and_crop' if opt.preprocess == 'crop' else opt.preprocess
        eval_opt.load_size = opt.crop_size
    dataset = create_dataset(eval_opt)
    dataset.set_epoch(0)
    return dataset


class EpochIndexedDataset(torch.utils.data.Dataset):
    """Receives (epoch, index) from the sampler so that workers know the epoch for their augmentation seed,
    and optionally replaces unreadable images by the next readable item."""

    def __init__(self, dataset, skip_bad_images):
        self.dataset = dataset
        self.skip_bad_images = skip_bad_images

    def __len__(self):
        return len(self.dataset)

    def __getitem__(self, epoch_index):
        from data.base_dataset import BadImageError
        epoch, index = epoch_index
        self.dataset.epoch = epoch
        last_error = None
        for attempt in range(len(self.dataset)):
            try:
                return self.dataset[(index + attempt) % len(self.dataset)]
            except BadImageError as exc:
                if not self.skip_bad_images:
                    raise
                last_error = exc
                print(f'warning: skipped bad image: {exc}', file=sys.stderr)
        raise BadImageError(f'every image of the dataset is unreadable (last error: {last_error})')


class ResumableSampler(DistributedSampler):
    """A DistributedSampler (also for one process) that yields (epoch, index) and can start mid-epoch.

    The order of an epoch depends only on (seed, epoch), so a resumed run sees the same batches as an
    uninterrupted one after skipping the ones already consumed.
    """

    def __init__(self, dataset, num_replicas, rank, shuffle, seed):
        super().__init__(dataset, num_replicas=num_replicas, rank=rank, shuffle=shuffle, seed=seed)
        self.start_index = 0

    def set_epoch(self, epoch, start_index=0):
        super().set_epoch(epoch)
        self.start_index = start_index

    def __iter__(self):
        indices = itertools.islice(super().__iter__(), self.start_index, None)
        return ((self.epoch, i) for i in indices)

    def __len__(self):
        return self.num_samples - self.start_index


def collate(items):
    """torch's default collation; images of different sizes in one batch are an OptionError that says why."""
    try:
        return torch.utils.data.default_collate(items)
    except RuntimeError as exc:
        if 'equal size' not in str(exc) and 'stack expects' not in str(exc):
            raise
        sizes = []
        for item in items:
            tensors = [v for v in (item.values() if isinstance(item, dict) else [item]) if torch.is_tensor(v)]
            paths = [v for k, v in item.items() if k.endswith('paths')] if isinstance(item, dict) else []
            if tensors:
                size = 'x'.join(str(n) for n in tensors[0].shape[-2:][::-1])
                sizes.append(f"{os.path.basename(str(paths[0])) if paths else 'item'} {size}")
        from util.errors import OptionError
        raise OptionError(f"images of different sizes cannot share a batch ({', '.join(sizes)}): --preprocess none "
                          f"keeps each image's size, so use --batch_size 1, or resize them (e.g. --preprocess "
                          f"resize_and_crop)") from None


class DataLoader:
    """Wraps a dataset mode in a torch DataLoader with a resumable (and distributed) sampler."""

    def __init__(self, opt):
        self.opt = opt
        dataset_class = find_dataset_using_name(opt.dataset_mode)
        self.dataset = dataset_class(opt)
        if getattr(opt, 'rank', 0) == 0:
            print(f'dataset [{type(self.dataset).__name__}] was created ({len(self.dataset)} items)')
        self.sampler = ResumableSampler(self.dataset, num_replicas=getattr(opt, 'world_size', 1),
                                        rank=getattr(opt, 'rank', 0), shuffle=not opt.serial_batches,
                                        seed=int(opt.seed))
        # --drop_last (models that define it): an epoch ends before a last batch smaller than --batch_size
        self.drop_last = bool(getattr(opt, 'drop_last', False)) and opt.isTrain
        if self.drop_last and self.sampler.num_samples < opt.batch_size:
            from util.errors import OptionError
            raise OptionError(f'--batch_size {opt.batch_size} is more than the {self.sampler.num_samples} images of the '
                              f'dataset (per process): with --drop_last an epoch would have no batch; lower '
                              f'--batch_size or pass --no_drop_last')
        workers = min(int(opt.num_threads), os.cpu_count() or 1)
        self.dataloader = torch.utils.data.DataLoader(
            EpochIndexedDataset(self.dataset, getattr(opt, 'skip_bad_images', False)), drop_last=self.drop_last,
            batch_size=opt.batch_size, sampler=self.sampler, num_workers=workers, collate_fn=collate,
            persistent_workers=workers > 0, pin_memory=opt.device.type == 'cuda',
            worker_init_fn=ignore_in_worker,  # a SIGTERM to the process group must not kill them first
            generator=torch.Generator().manual_seed(int(opt.seed)))  # keeps the global RNG untouched (exact resume)

    def load_data(self):
        return self

    def set_epoch(self, epoch, start_batch=0, start_sample=None):
        """Select the epoch's order and skip the first ``start_batch`` batches, or ``start_sample`` images (when
        resuming mid-epoch, possibly with another --batch_size)."""
        if start_sample is None:
            start_sample = start_batch * self.opt.batch_size
        self.sampler.set_epoch(epoch, start_sample)
        self.start_batch = -(-start_sample // self.opt.batch_size)  # batches of the epoch already done

    def batches_per_epoch(self):
        """Batches in an epoch: the whole dataset, or --max_batches_per_epoch (models that define it) if fewer.

        That option counts generator turns (as in Ganzo), each of which reads --d_iters batches where the model has
        a critic count."""
        full = (self.sampler.num_samples + (0 if self.drop_last else self.opt.batch_size - 1)) // self.opt.batch_size
        limit = getattr(self.opt, 'max_batches_per_epoch', None)
        return full if limit is None else min(full, int(limit) * int(getattr(self.opt, 'd_iters', None) or 1))

    def __len__(self):
        """Number of items this process sees per epoch."""
        return min(self.sampler.num_samples, self.opt.max_dataset_size)

    def __iter__(self):
        if getattr(self.opt, 'max_batches_per_epoch', None) is None:
            yield from self.dataloader
        else:
            yield from itertools.islice(self.dataloader, max(0, self.batches_per_epoch() - getattr(self, 'start_batch', 0)))

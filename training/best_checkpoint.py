"""Keep the best networks of a run by a criterion (Ganzo's ``evaluation-criterion``), for every model:

    --save_best loss:G        the epoch's mean of the model's loss G (lower is better)
    --save_best metric:fid    a --eval_freq metric, in the direction it was registered with (fid: lower is
                              better, psnr: higher; metrics/registry.py)

Whenever the criterion improves at the end of an epoch, the networks are saved as best_net_<name>.pth and
best.json records the criterion, its value and the epoch. A resumed run reads best.json, so it only replaces
the best networks with better ones; resumed from a checkpoint older than the recorded best, it first removes
that best (it belongs to the abandoned continuation, like the loss history after the resume point).

Building a BestCheckpoint checks --save_best and writes nothing; the Trainer does so before the run is accepted.
"""
import json
import math
import os

from metrics.registry import higher_is_better
from util import util
from util.errors import OptionError

LABEL = 'best'


def add_options(parser):
    parser.add_argument('--save_best', type=str, default='none',
                        help='keep best_net_*.pth (+ best.json) when a criterion improves at the end of an epoch: '
                             'none, loss:NAME (epoch mean of a model loss, e.g. loss:G; lower is better) or '
                             'metric:NAME (a --eval_freq metric, e.g. metric:fid lower / metric:isc higher is better)')
    return parser


def parse_criterion(spec):
    """'none' -> None; 'loss:G' -> ('loss', 'G'); 'metric:fid' -> ('metric', 'fid'); else OptionError."""
    spec = (spec or 'none').strip()
    if spec == 'none':
        return None
    kind, _, name = spec.partition(':')
    if kind not in ('loss', 'metric') or not name:
        raise OptionError(f"--save_best '{spec}': use none, loss:NAME (e.g. loss:G) or metric:NAME (e.g. metric:fid)")
    return kind, name


class BestCheckpoint:
    """Called by the Trainer after every step (losses) and at the end of every epoch (decides and saves)."""

    def __init__(self, opt, model):
        self.opt = opt
        self.model = model
        self.criterion = parse_criterion(getattr(opt, 'save_best', 'none'))
        self.path = os.path.join(opt.checkpoints_dir, opt.name, f'{LABEL}.json')
        self.is_main = getattr(opt, 'rank', 0) == 0
        self.best = None
        self._sum, self._count = 0.0, 0
        if self.criterion is None:
            return
        kind, name = self.criterion
        if kind == 'loss' and name not in model.loss_names:
            raise OptionError(f"--save_best loss:{name}: --model {opt.model} has the losses "
                             f"{', '.join(model.loss_names) or 'none'}")
        if kind == 'metric':
            wanted = [m.strip() for m in str(getattr(opt, 'eval_metrics', '')).split(',')]
            if getattr(opt, 'eval_freq', 0) <= 0 or name not in wanted:
                raise OptionError(f'--save_best metric:{name} needs --eval_freq N and {name} in --eval_metrics')
        self.higher_is_better = kind == 'metric' and bool(higher_is_better(name))

    def _record(self):
        if not os.path.isfile(self.path):
            return None
        with open(self.path) as f:
            return json.load(f)

    def read_record(self):
        """A resumed run beats the best recorded in best.json (under the same criterion)."""
        saved = self._record() if self.criterion is not None else None
        if saved and saved.get('criterion') == ':'.join(self.criterion):
            self.best = saved.get('value')

    def forget_after(self, total_iters):
        """Resuming at ``total_iters`` images: a best recorded later (best.json and the best networks, whatever
        the criterion) comes from the abandoned continuation and is removed. Returns whether it was."""
        saved = self._record()
        if not saved or int(saved.get('total_iters', 0)) <= total_iters:
            return False
        for path in self.model.network_files(LABEL) + [self.path]:
            if os.path.isfile(path):
                os.remove(path)
        print(f"best.json recorded epoch {saved.get('epoch')}, after the resumed checkpoint: removed it and the "
              f"{LABEL}_net_*.pth of that abandoned continuation")
        return True

    def after_step(self):
        """Accumulate the tracked loss of the iteration that just ran."""
        if self.criterion is None or self.criterion[0] != 'loss':
            return
        value = getattr(self.model, 'loss_' + self.criterion[1], None)
        if value is not None:
            self._sum += float(value.detach() if hasattr(value, 'detach') else value)
            self._count += 1

    def end_of_epoch(self, epoch, total_iters, metrics=None):
        """Compare the epoch's value with the best so far; save the networks when it improves. Returns the value
        (None when the criterion was not measured this epoch)."""
        if self.criterion is None:
            return None
        kind, name = self.criterion
        if kind == 'loss':
            value = self._sum / self._count if self._count else None
            self._sum, self._count = 0.0, 0
        else:
            value = (metrics or {}).get(name)
        if value is None or not math.isfinite(float(value)):
            return None
        value = float(value)
        better = self.best is None or (value > self.best if self.higher_is_better else value < self.best)
        if better:
            self.best = value
            if self.is_main:
                self.model.save_networks(LABEL)
                record = {'criterion': f'{kind}:{name}', 'value': value, 'epoch': int(epoch),
                          'total_iters': int(total_iters), 'higher_is_better': self.higher_is_better}
                util.atomic_write_text(self.path, json.dumps(record, indent=2) + '\n')
                print(f'new best {kind}:{name} = {value:.6g} at epoch {epoch}: saved {LABEL}_net_*.pth')
        return value

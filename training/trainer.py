"""The training loop behind train.py (:class:`Trainer`): epochs of batches, periodic logging and checkpoints,
held-out evaluation, best networks, stop signals and exact resume.

Every check that can refuse a run comes before the first write (:meth:`Trainer.check_run`); the run-folder checks
live in training/run_folder.py, the schedule state of a resume in models/resume.py.
"""
import sys
import time

from tqdm import tqdm

from data import create_dataset, create_eval_dataset
from models import create_model, resume
from models.base_model import BaseModel
from util import distributed
from util.stop_signals import StopRequest, signal_name
from util.util import seed_everything
from visualizers import Visualizer
from .best_checkpoint import BestCheckpoint
from .periodic_eval import PeriodicEvaluator
from .plateau import PlateauMetric
from . import run_folder


class Trainer:
    """The training loop: epochs of batches, periodic logging and checkpoints, exact resume."""

    stopped_by = 0  # the signal number every rank agreed to stop on (0: none)

    def __init__(self, opt, write_run_files=None):
        """Everything that can refuse the run is checked first (:meth:`check_run`); ``write_run_files`` is then the
        first write of the run (train.py saves the options and the command there), so a refused run leaves its
        folder byte-identical, or absent for a new run."""
        self.opt = opt
        label, resume_state, saved_schedule = self.check_run()
        self.is_main = getattr(opt, 'rank', 0) == 0
        if write_run_files is not None:
            write_run_files()
        # ---- from here on the run is accepted and writes
        if self.is_main:  # the loss plot, snapshots, held-out scores and best networks restart at the resumed point
            run_folder.cut_history(self.model.save_dir, int(resume_state['total_iters']) if resume_state else 0,
                               int(resume_state['epoch']) if resume_state else 1)
            if resume_state is not None:
                self.best.forget_after(int(resume_state['total_iters']))
        if distributed.is_distributed():
            distributed.seed_rank(opt.seed, opt.rank)  # then each rank draws its own dropout masks and noise
        self.stop_agreement = distributed.StopAgreement(opt.device)
        # --save_latest_minutes: every rank posts how many intervals its clock has passed; the largest decides
        self.save_agreement = distributed.StopAgreement(opt.device)
        self.clock_start, self.saved_intervals = time.time(), 0
        self.visualizer = Visualizer(opt)
        self.best.read_record()  # a resumed run only replaces the best networks with better ones
        self.visualizer.set_aggregated_loss_names(self.model.aggregated_loss_names())
        self.epoch, self.epoch_batch, self.total_iters = opt.epoch_count, 0, 0
        self.epoch_samples = 0  # images of the current epoch this process has consumed (the resume position)
        if opt.continue_train:
            self.epoch, _, self.total_iters = self.model.load_training_state(label, state=resume_state)
            # resume at the image position: with another --batch_size the epoch still sees every image once
            self.epoch_samples = min(resume.epoch_samples(resume_state, saved_schedule), self.samples_per_epoch())
            self.epoch_batch = -(-self.epoch_samples // opt.batch_size)
            lr = self.model.optimizers[0].param_groups[0]['lr'] if self.model.optimizers else opt.lr
            self.log(f'resumed from {label}: epoch {self.epoch}, batch {self.epoch_batch} of the epoch '
                     f'(image {self.epoch_samples}), {self.total_iters} images seen; learning rate {lr:.7f}')
            changes = resume.describe_changes(saved_schedule, opt, resume_state, self.dataset.batches_per_epoch())
            if changes:
                self.log(changes)
        self.plateau = PlateauMetric(opt, self.evaluator)
        if self.plateau.enabled:
            self.log(self.plateau.describe())
        self.last_epoch = opt.n_epochs + opt.n_epochs_decay
        self.images_per_step = opt.batch_size * getattr(opt, 'world_size', 1)
        self.log(f'effective batch size {self.images_per_step} ({opt.world_size} process(es) x --batch_size '
                 f'{opt.batch_size}, {distributed.backend_for(opt.device) if opt.world_size > 1 else "no"} '
                 f'process group), learning rate {opt.lr:g} (not scaled with the number of processes)')

    def check_run(self):
        """Every check that can refuse the run, writing nothing: the run folder (an existing run needs
        --continue_train or --overwrite), the state to resume (readable, same networks, an optimizer its state
        fits, epochs left), the data (e.g. class labels within --n_classes), --eval_freq's metrics, split and
        weights, --save_best. Builds the dataset, the model and the held-out loaders on the way (they write
        nothing). Returns (checkpoint label, training state, its saved schedule); the last two None for a new run.
        """
        opt = self.opt
        if opt.auto_resume:  # resume when the run folder holds a training state, else start it
            run_folder.choose_auto_resume(opt)
        run_folder.check_existing_run(opt)
        label = BaseModel.checkpoint_label(opt)
        resume_state = saved_schedule = None
        if opt.continue_train:  # readable, same architecture, epochs left under the current options
            resume_state, saved_schedule = run_folder.preflight(opt, label)
        distributed.init(opt)  # process group under torchrun (NCCL on GPU, gloo on CPU); no-op otherwise
        seed_everything(opt.seed)  # same seed everywhere: every rank initialises identical networks
        self.dataset = create_dataset(opt)
        self.model = create_model(opt)
        self.model.setup(opt)
        self.model.check_training_data(self.dataset.dataset)
        if resume_state is not None:
            self.model.check_architecture(resume_state['architecture'], self.model.training_state_path(label))
            resume.check_optimizers(self.model, resume_state, saved_schedule)
        eval_spec = self.model.eval_dataset_spec()  # a held-out split the model scores itself (LiSS), or None
        if eval_spec is not None:
            self.model.set_eval_dataset(create_eval_dataset(opt, **eval_spec))
        self.evaluator = PeriodicEvaluator(opt, self.model)  # --eval_freq (off by default)
        if self.evaluator.enabled:
            self.evaluator.set_dataset(create_eval_dataset(opt, self.evaluator.phase, opt.eval_num))
        self.best = BestCheckpoint(opt, self.model)  # --save_best (off by default)
        return label, resume_state, saved_schedule

    def samples_per_epoch(self):
        return self.dataset.sampler.num_samples

    def log(self, message):
        if self.is_main:
            tqdm.write(message)

    def save(self, labels):
        """Save networks and the training state under each label: rank 0 writes, every rank contributes its
        own RNG and pool state (collective)."""
        self.stop_agreement.finish()
        self.save_agreement.finish()
        for label in labels:
            if self.is_main:
                self.model.save_networks(label)
            self.model.save_training_state(label, self.epoch, self.epoch_batch, self.total_iters,
                                           epoch_samples=self.epoch_samples)

    def run(self):
        """True when the schedule is done; False when a stop signal ended it (``self.stopped_by``, state saved)."""
        with StopRequest() as stop:
            while self.epoch <= self.model.final_epoch(self.epoch, self.last_epoch):
                if not self.run_epoch(stop):
                    self.save(['latest'])
                    if self.is_main:
                        print(f'stopped by {signal_name(self.stopped_by)}: training state saved as latest (epoch '
                              f'{self.epoch}, {self.total_iters} images seen); resume with the same command plus '
                              f'--continue_train', file=sys.stderr)
                    return False
        self.save(['latest'])
        self.log(f'training finished after {self.epoch - 1} epochs; checkpoints are in {self.model.save_dir}')
        return True

    def run_epoch(self, stop):
        """Train the rest of the current epoch; False when a stop was requested."""
        opt, model = self.opt, self.model
        self.dataset.set_epoch(self.epoch, start_sample=self.epoch_samples)
        self.visualizer.reset()
        epoch_start = time.time()
        bar = tqdm(total=self.dataset.batches_per_epoch(), initial=self.epoch_batch,
                   desc=f'epoch {self.epoch}/{model.final_epoch(self.epoch, self.last_epoch)}', unit='it', leave=False,
                   disable=not (self.is_main and sys.stderr.isatty()))
        data_sum = comp_sum = 0.0
        t_data_start = time.time()
        for data in self.dataset:
            t_data = time.time() - t_data_start
            t_start = time.time()
            model.set_input(data)
            model.train_step()
            self.plateau.add_losses(model)
            self.best.after_step()
            self.epoch_batch += 1
            self.epoch_samples = min(self.epoch_samples + opt.batch_size, self.samples_per_epoch())
            self.total_iters += self.images_per_step
            t_comp = time.time() - t_start
            data_sum, comp_sum = data_sum + t_data, comp_sum + t_comp
            bar.update(1)
            self.after_step(t_comp, t_data)
            self.stopped_by = self.stop_agreement.update(stop.signum)  # all ranks stop at the same iteration
            if self.stopped_by:
                bar.close()
                return False
            t_data_start = time.time()
        bar.close()
        model.end_of_epoch(self.epoch, self.visualizer)  # validation and schedule hooks (no-op by default)
        eval_metrics = self.evaluator(self.epoch, self.visualizer)  # held-out metrics every --eval_freq epochs
        self.best.end_of_epoch(self.epoch, self.total_iters, eval_metrics)  # best_net_*.pth when --save_best improves
        model.metric = self.plateau.epoch_value(eval_metrics)  # what --lr_policy plateau steps on (None: no step)
        if model.metric is not None and distributed.is_distributed():  # every rank steps on the same value
            model.metric = distributed.reduce_mean({'metric': model.metric}, opt.device)['metric']
        model.update_learning_rate()
        last = model.final_epoch(self.epoch + 1, self.last_epoch)  # a model's schedule may extend training (LiSS)
        self.log(f'end of epoch {self.epoch} / {last} \t time taken: {time.time() - epoch_start:.1f} s')
        self.report_epoch_times(data_sum, comp_sum)
        self.epoch += 1
        self.epoch_batch = self.epoch_samples = 0
        if (self.epoch - 1) % opt.save_epoch_freq == 0:
            self.log(f'saving the model at the end of epoch {self.epoch - 1}, iters {self.total_iters}')
            self.save(['latest', str(self.epoch - 1)])
        return True

    def report_epoch_times(self, data_s, comp_s):
        """Log the epoch's time spent waiting for data vs computing (slowest rank), so a loading bottleneck shows."""
        data_s, comp_s = distributed.reduce_max([data_s, comp_s], self.opt.device)
        share = data_s / max(data_s + comp_s, 1e-9)
        hint = ': data loading is the bottleneck, raise --num_threads or use faster storage' if share > 0.2 else ''
        self.visualizer.log_message(f'(epoch: {self.epoch}) data time {data_s:.2f} s, compute time {comp_s:.2f} s, '
                                    f'{100 * share:.0f}% of the epoch waiting for data{hint}')

    def after_step(self, t_comp, t_data):
        """Periodic display, loss printing and latest-state saving, triggered by images seen."""
        opt, model = self.opt, self.model
        total, step = self.total_iters, self.images_per_step
        crossed = lambda freq: freq > 0 and total // freq != (total - step) // freq
        if crossed(opt.display_freq):
            model.compute_visuals()
            save_result = crossed(opt.update_html_freq)
            self.visualizer.display_current_results(model.get_current_visuals(), self.epoch, save_result, total)
        if crossed(opt.print_freq):
            losses = distributed.reduce_mean(model.get_current_losses(), opt.device)  # averaged over ranks
            self.visualizer.print_current_losses(self.epoch, self.epoch_batch * self.images_per_step, losses,
                                                 t_comp / opt.batch_size, t_data / opt.batch_size)
            self.visualizer.plot_current_losses(self.epoch, self.epoch_batch / max(1, self.dataset.batches_per_epoch()),
                                                losses, total_iters=total)
        model.after_train_step(self.epoch, total, step, self.visualizer)  # e.g. held-out metrics driving a schedule
        if crossed(opt.save_latest_freq):
            labels = ['latest'] + ([f'iter_{total}'] if opt.save_by_iter else [])
            self.log(f'saving the latest model (epoch {self.epoch}, total_iters {total})')
            self.save(labels)
        elif opt.save_latest_minutes > 0:
            intervals = int((time.time() - self.clock_start) / (60 * opt.save_latest_minutes))
            agreed = self.save_agreement.update(intervals)  # the ranks' largest count, posted one step ago
            if agreed > self.saved_intervals:
                self.saved_intervals = agreed
                self.log(f'saving the latest model (--save_latest_minutes; epoch {self.epoch}, total_iters {total})')
                self.save(['latest'])

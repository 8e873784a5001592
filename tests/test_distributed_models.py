"""Every model of the zoo under torchrun (gloo, 2 processes, CPU) with its periodic work switched on: the replicas
end identical, and a 2-process resume from the epoch-1 checkpoint ends bit-identical to the uninterrupted run.

A new model is covered by adding an entry to MODELS. The uninterrupted run gives no --seed: each process then
draws its own and the ranks must agree on rank 0's (the cause of BlobGAN's diverging EMA generator).
"""
import json
import shutil

import pytest
import torch
import yaml

from conftest import needs_gloo, torchrun
from tiny_runs import RUNS, make_data

pytestmark = needs_gloo

NO_SEED = ['--num_threads', '0', '--display_id', '0', '--gpu_ids', '-1', '--no_html', '--print_freq', '2',
           '--display_freq', '100', '--n_epochs', '1', '--n_epochs_decay', '1', '--save_epoch_freq', '1']
# held-out scores each epoch, the best checkpoint kept (l1 alone: the cheapest metric to import)
EVAL = ['--eval_freq', '1', '--eval_phase', 'test', '--eval_num', '2', '--eval_metrics', 'l1', '--save_best', 'metric:l1']


def preset(run, *extra):
    kind, args = RUNS[run]
    return kind, args + list(extra)


# model -> (dataset kind of tests/tiny_runs.py, options with the model's periodic work)
MODELS = {
    'pix2pix': preset('p2p', *EVAL),
    'cycle_gan': preset('cyc', '--pool_size', '2', '--save_best', 'loss:cycle_A'),
    'colorization': preset('color'),
    'perceptual': preset('p2p', '--model', 'perceptual', '--vgg_weights', 'random'),
    'adversarial_losses': preset('p2p', '--model', 'adversarial_losses', '--gan_mode', 'w', '--clip_weights',
                                 '0.01', '--save_best', 'loss:G_GAN'),
    'stochastic': preset('stoch'),
    # rotation passes at the first held-out score, depth at the next (epoch 2), then translation with distillation
    'liss': preset('liss', '--auxiliary_tasks', 'rotation,depth', '--task_schedule', 'liss', '--schedule_freq', '2',
                   '--rotation_acc_threshold', '-1', '--depth_loss_threshold', '100', '--max_epochs', '3',
                   '--pool_size', '2'),
    # representation phase for one step, then translation (19 classes: the synthetic labels go up to 10)
    'omnigan': preset('omni', '--omni_n_classes', '19', '--repr_steps', '1', '--omni_val_freq', '0'),
    # 4 images, 2 ranks x batch 1: 2 steps per epoch, R1 in every 2nd, the EMA after each, blob features jittered
    'blobgan': preset('blob', '--d_reg_every', '2', '--fixed_noise', '--display_freq', '2', '--feature_jitter_xy',
                      '0.04'),
    # 8 images: 4 critic steps per epoch, the generator's turn after the 5th (in epoch 2), weights clipped
    'gan': preset('gan', '--gan_mode', 'wgan', '--d_iters', '5', '--batch_size', '1'),
}


def check_blobgan(run, state):
    """2 optimizer steps per epoch; the replicas' digest is that of the saved G, D and G_ema; the EMA is its own."""
    from models.blobgan import BlobDiscriminator, BlobGenerator
    from util.distributed import parameter_digest
    assert state['extra']['steps'] == 4
    cfg = dict(size=32, size_in=8, n_blobs=3, hidden_dim=16, n_mlp=3, noise_dim=8, style_dim=8, feature_dim=8,
               c_model=2, jitter_xy=0.04)
    nets = []
    for name, net in [('G', BlobGenerator(**cfg)), ('D', BlobDiscriminator(32, 1.0, 2)),
                      ('G_ema', BlobGenerator(**cfg))]:
        net.load_state_dict(torch.load(run / f'latest_net_{name}.pth', weights_only=True))
        nets.append((name, net))
    assert state['ranks'][0]['param_digest'] == parameter_digest(nets)
    g, ema = (dict(net.named_parameters()) for _, net in (nets[0], nets[2]))
    assert any(not torch.equal(g[k], ema[k]) for k in g if k.endswith('weight'))


# model -> its own checks of the uninterrupted run (run folder, latest_train_state.pth)
MODEL_CHECKS = {'blobgan': check_blobgan}


def selected_models(request):
    """The models of MODELS whose test this session runs (``-k blobgan`` trains blobgan only)."""
    return sorted({item.callspec.params['model'] for item in request.session.items
                   if item.originalname == 'test_model_trains_and_resumes_under_torchrun'})


def run_jobs(tmp, name, jobs):
    """Run train.py jobs [(args, done file)] in one torchrun launch (tests/torchrun_jobs.py); its output."""
    path = tmp / f'{name}.json'
    path.write_text(json.dumps([{'args': [str(a) for a in args], 'done': str(done)} for args, done in jobs]))
    proc = torchrun([path], script='tests/torchrun_jobs.py', check=False)
    return proc.stdout[-3000:] + proc.stderr[-3000:]


@pytest.fixture(scope='module')
def runs(request, tmp_path_factory):
    """Every selected model trained for 2 epochs by 2 processes (one launch for all), then each run resumed from its
    epoch-1 state in a copy of its folder (a second launch: fresh processes, with the seed the ranks agreed on)."""
    tmp = tmp_path_factory.mktemp('ddp_models')
    models = selected_models(request)
    common = {m: MODELS[m][1] + NO_SEED + ['--dataroot', make_data(str(tmp), MODELS[m][0]), '--name', m]
              for m in models}
    full_log = run_jobs(tmp, 'full', [(common[m] + ['--checkpoints_dir', tmp / 'full'], tmp / f'{m}.full')
                                      for m in models])
    resume_jobs = []
    for m in models:
        run, resumed = tmp / 'full' / m, tmp / 'resumed' / m
        if not (tmp / f'{m}.full').exists():
            continue
        resumed.mkdir(parents=True)
        for f in run.iterdir():
            if f.name.startswith('1_') or f.name.endswith('_opt.yaml'):
                shutil.copy(f, resumed / f.name)
        seed = yaml.safe_load((run / 'train_opt.yaml').read_text())['seed']
        resume_jobs.append((common[m] + ['--checkpoints_dir', resumed.parent, '--seed', seed, '--continue_train',
                                         '--epoch', '1'], tmp / f'{m}.resumed'))
    resume_log = run_jobs(tmp, 'resumed', resume_jobs) if resume_jobs else ''
    return {'tmp': tmp, 'full_log': full_log, 'resume_log': resume_log}


@pytest.mark.parametrize('model', sorted(MODELS))
def test_model_trains_and_resumes_under_torchrun(model, runs):
    tmp = runs['tmp']
    assert (tmp / f'{model}.full').exists(), runs['full_log']
    run = tmp / 'full' / model
    state = torch.load(run / 'latest_train_state.pth', weights_only=True)
    digests = [r['param_digest'] for r in state['ranks']]
    assert len(digests) == 2 and digests[0] == digests[1]
    nets = sorted(p.name[len('latest_'):] for p in run.glob('latest_net_*.pth'))
    assert nets and sorted(p.name[len('1_'):] for p in run.glob('1_net_*.pth')) == nets
    MODEL_CHECKS.get(model, lambda *args: None)(run, state)

    assert (tmp / f'{model}.resumed').exists(), runs['resume_log']
    resumed = tmp / 'resumed' / model
    assert torch.load(resumed / 'latest_train_state.pth', weights_only=True)['total_iters'] == state['total_iters']
    for net in nets:
        ref = torch.load(run / f'latest_{net}', weights_only=True)
        got = torch.load(resumed / f'latest_{net}', weights_only=True)
        assert ref.keys() == got.keys()
        for key in ref:
            assert torch.equal(ref[key], got[key]), f'{net}: {key} differs after the distributed resume'

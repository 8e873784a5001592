"""The --gan_mode table (models/networks/objectives.py) drives the option's choices, GANLoss's criteria, the
--lambda_gp and --model gan defaults, and the one-line refusal of an objective a model does not take."""
import os
import subprocess
import sys

import pytest
import torch

import models
from conftest import ROOT
from models import networks
from models.networks import objectives
from options.train_options import TrainOptions
from util.errors import OptionError


def parse(tmp_path, root, *args):
    return TrainOptions(['--dataroot', root, '--checkpoints_dir', str(tmp_path), '--name', 'o',
                         *[str(a) for a in args]]).parse(save=False)


def gan_mode_choices(tmp_path, root, model):
    options = TrainOptions(['--dataroot', root, '--checkpoints_dir', str(tmp_path), '--model', model])
    options.gather_options()
    return next(a.choices for a in options.parser._actions if a.dest == 'gan_mode')


@pytest.mark.parametrize('objective', list(objectives.OBJECTIVES.values()), ids=lambda o: o.name)
def test_every_name_and_alias_resolves_to_its_criterion(objective):
    for spelling in (objective.name, *objective.aliases):
        assert objectives.lookup(spelling) is objective
        assert networks.GANLoss(spelling).gan_mode == objective.criterion


def test_the_table_gives_the_choices_and_defaults_of_both_families(tmp_path, paired_root):
    assert gan_mode_choices(tmp_path, paired_root, 'pix2pix') == objectives.spellings()
    assert set(objectives.spellings()) == {'vanilla', 'original', 'lsgan', 'ls', 'wgangp', 'w', 'hinge', 'wgan'}
    assert gan_mode_choices(tmp_path, paired_root, 'gan') == ['vanilla', 'lsgan', 'wgangp', 'hinge', 'wgan']
    assert objectives.defaults_help('lr') == '0.0001 for wgangp, 5e-05 for wgan, 0.0002 otherwise'
    assert objectives.defaults_help('lambda_gp', objectives.IMAGE_TO_IMAGE) == '0 for w, 10 otherwise'
    with pytest.raises(ValueError, match="unknown --gan_mode 'nope'; choose one of vanilla, lsgan"):
        networks.GANLoss('nope')
    with pytest.raises(ValueError, match='already an objective'):
        objectives.register_objective(objectives.Objective('ls', 'lsgan', 'a second least squares'))


def test_a_registered_objective_is_a_choice_with_its_loss_and_defaults(tmp_path, paired_root, monkeypatch):
    monkeypatch.setattr(objectives, 'OBJECTIVES', dict(objectives.OBJECTIVES))  # the table as it was, afterwards
    objectives.register_objective(objectives.Objective(
        'test_ls', 'lsgan', 'least squares under another name', aliases=('tls',), lambda_gp=3.0,
        optimizer=objectives.OptimizerDefaults(optimizer='sgd', lr=1e-3, d_iters=2)))
    assert 'test_ls' in gan_mode_choices(tmp_path, paired_root, 'pix2pix')
    assert 'tls' not in gan_mode_choices(tmp_path, paired_root, 'gan')  # gan takes canonical names only
    opt = parse(tmp_path, paired_root, '--model', 'pix2pix', '--gan_mode', 'tls')
    assert opt.lambda_gp == 3.0
    loss = networks.GANLoss(opt.gan_mode)
    assert torch.isclose(loss(torch.zeros(1, 1, 2, 2), True), torch.tensor(1.0))  # (0 - 1)^2: least squares
    opt = parse(tmp_path, paired_root, '--model', 'gan', '--gan_mode', 'test_ls')
    assert (opt.optimizer, opt.lr, opt.d_iters, opt.beta1) == ('sgd', 1e-3, 2, 0.5)


def test_pix2pix_refuses_wgan_in_one_line_before_writing(tmp_path, paired_root):
    ck = tmp_path / 'ck'
    out = subprocess.run([sys.executable, 'train.py', '--model', 'pix2pix', '--gan_mode', 'wgan', '--dataroot',
                          paired_root, '--checkpoints_dir', str(ck), '--name', 'refused'],
                         cwd=ROOT, capture_output=True, text=True, timeout=120,
                         env=dict(os.environ, CUDA_VISIBLE_DEVICES=''))
    assert out.returncode == 2
    assert out.stderr.splitlines() == ['error: --gan_mode wgan is only taken by --model gan; --model pix2pix takes '
                                       'vanilla, lsgan, wgangp, hinge, w, original, ls']
    assert not (ck / 'refused').exists()


@pytest.mark.parametrize('model', [m for m in models.model_names() if m not in ('gan', 'test')])
def test_every_image_to_image_model_refuses_wgan_while_parsing(tmp_path, paired_root, model):
    # a model's own check_options hook must extend BaseModel's, which holds this check
    with pytest.raises(OptionError, match=f'^--gan_mode wgan is only taken by --model gan; --model {model} takes'):
        parse(tmp_path, paired_root, '--model', model, '--gan_mode', 'wgan')

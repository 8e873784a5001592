"""BlobGAN workflow scripts on tiny generated models: FID, encoder training, inversion, counterfactuals."""
import os
import sys

import pytest
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, 'scripts'))

import compute_fid  # noqa: E402
import counterfactuals as cf_script  # noqa: E402
import invert as invert_script  # noqa: E402
import pretrain_encoder  # noqa: E402
import setup_fid  # noqa: E402
import train_encoder  # noqa: E402

from models.blobgan import BlobGenerator  # noqa: E402
from models.blobgan.counterfactual import (DecisionWrapper, counterfactuals, load_decision_model,  # noqa: E402
                                           save_decision_model)
from models.blobgan.inversion import invert  # noqa: E402
from models.blobgan.io import load_encoder, save_generator  # noqa: E402
from models.blobgan.perceptual import VGGPerceptualLoss, make_random_vgg_weights  # noqa: E402

TINY = dict(size=32, size_in=8, n_blobs=3, noise_dim=8, hidden_dim=16, n_mlp=3, feature_dim=8, spatial_dim=8,
            channel_max=16, channel_base=128)


@pytest.fixture(scope='module')
def generator_file(tmp_path_factory):
    torch.manual_seed(0)
    path = str(tmp_path_factory.mktemp('gen') / 'tiny_blobgan_G_ema.ckpt')
    save_generator(path, BlobGenerator(**TINY))
    return path


@pytest.fixture(scope='module')
def tiny_generator():
    torch.manual_seed(0)
    return BlobGenerator(**TINY).eval()


@pytest.fixture(scope='module')
def decision_file(tmp_path_factory):
    import torchvision
    torch.manual_seed(1)
    path = str(tmp_path_factory.mktemp('dec') / 'decision.pth')
    save_decision_model(path, torchvision.models.resnet18(num_classes=2), 'resnet18', 2)
    return path


def test_setup_fid_and_compute_fid_with_generated_inception(tmp_path, images_root, generator_file):
    from metrics.weights import make_random_inception_weights
    weights = make_random_inception_weights(str(tmp_path / 'inception.pth'))
    stats = str(tmp_path / 'stats')
    out = setup_fid.main(['--path', images_root, '--name', 'Tiny_Scenes', '--n_imgs', '4', '--shuffle', '-bs', '4',
                          '--device', 'cpu', '--generator', generator_file, '--inception_weights', weights,
                          '--stats_dir', stats])
    assert out['num_images'] == 4
    assert any(f.startswith('tiny_scenes') for f in os.listdir(stats))  # lowercased name
    res = compute_fid.main([generator_file, '--num_gen', '4', '--batch_size', '4', '--dataset_name', 'TINY_SCENES',
                            '--inception_weights', weights, '--stats_dir', stats, '--device', 'cpu',
                            '--out', str(tmp_path / 'fid.json')])
    assert res['fid'] >= 0 and os.path.isfile(tmp_path / 'fid.json')
    with pytest.raises(FileNotFoundError, match='setup_fid'):
        compute_fid.main([generator_file, '--num_gen', '4', '--dataset_name', 'unknown', '--inception_weights',
                          weights, '--stats_dir', stats, '--device', 'cpu'])


def test_optimisation_inversion_lowers_error(tiny_generator, tmp_path):
    g = tiny_generator
    with torch.no_grad():
        target = g(torch.randn(2, 8, generator=torch.Generator().manual_seed(5)), noise_mode='const')
    res = invert(g, target, n_iter_latent=25, n_iter_blobs=15, lr_latent=0.05, lr_blobs=0.02)
    hist = res['history']
    assert len(hist) == 40 and hist[-1] < 0.7 * hist[0]
    assert res['recon'].shape == target.shape and set(res['layout']) >= {'xs', 'sizes', 'features'}
    # the perceptual term loads torchvision VGG16 keys from a local file (random weights here)
    perc = VGGPerceptualLoss(make_random_vgg_weights(str(tmp_path / 'vgg.pth')))
    assert float(perc(target, target)) == 0 and float(perc(target, -target)) > 0
    with pytest.raises(FileNotFoundError, match='vgg_weights'):
        VGGPerceptualLoss(str(tmp_path / 'missing.pth'))


def test_encoder_scripts_and_invert_script(tmp_path, images_root, generator_file):
    pre = str(tmp_path / 'enc_pre.ckpt')
    hist = pretrain_encoder.main(['--generator', generator_file, '--out', pre, '--n_iters', '3', '--batch_size', '2',
                                  '--device', 'cpu', '--mlp_idx', '-2'])
    assert len(hist) == 3 and 'latent' in hist[0]
    enc, mlp_idx, extra = load_encoder(pre)
    assert mlp_idx == -2 and extra['stage'] == 'pretrain' and enc.latent_dim == 16
    final = str(tmp_path / 'enc.ckpt')
    hist = train_encoder.main(['--generator', generator_file, '--encoder', pre, '--dataroot', images_root, '--out',
                               final, '--n_iters', '2', '--batch_size', '2', '--device', 'cpu'])
    assert 'real_rec' in hist[-1] and load_encoder(final)[1] == -2
    out = str(tmp_path / 'inv')
    summary = invert_script.main(['--generator', generator_file, '--encoder', final, '--dataroot', images_root,
                                  '--max_images', '2', '--batch_size', '2', '--n_iter_latent', '6', '--n_iter_blobs',
                                  '4', '--out_dir', out, '--device', 'cpu'])
    assert summary[0]['loss_end'] < summary[0]['loss_start']
    meta = torch.load(os.path.join(out, 'inversion_0000.pt'), weights_only=True)
    assert len(meta['image_names']) == 2 and meta['latent_enc'].shape == (2, 16) and 'xs' in meta['blob_optim']
    assert os.path.isfile(os.path.join(out, 'snapshot_0000.png'))


def test_counterfactual_flips_random_classifier(tiny_generator, decision_file):
    g = tiny_generator
    decision = DecisionWrapper(load_decision_model(decision_file), input_size=64)
    with torch.no_grad():
        _, layout = g(torch.randn(2, 8, generator=torch.Generator().manual_seed(0)), noise_mode='const',
                      return_layout=True)
    out = counterfactuals(g, decision, layout, attribute=0, n_iter=60, lambda_prox=0.1)
    assert bool(out['flipped'][0].all())
    before = out['init_scores'][:, 0] >= 0.5
    after = out['final_scores'][0][:, 0] >= 0.5
    assert torch.equal(before, ~after)
    # only the targeted blob (and the targeted parameters) may change
    out = counterfactuals(g, decision, layout, attribute=0, target_features=['xs', 'sizes'], target_blobs=[1],
                          n_iter=5, lambda_prox=0.1)
    cf = out['layouts'][0]
    assert torch.equal(cf['xs'][:, [0, 2]], layout['xs'][:, [0, 2]]) and torch.equal(cf['ys'], layout['ys'])
    assert torch.equal(cf['sizes'][:, [0, 1, 3]], layout['sizes'][:, [0, 1, 3]])
    with pytest.raises(ValueError, match='target features'):
        counterfactuals(g, decision, layout, 0, target_features=['colour'])


def test_counterfactuals_script_diversity_and_metadata(tmp_path, generator_file, decision_file):
    out = str(tmp_path / 'cf')
    report = cf_script.main(['--generator', generator_file, '--num_generated', '2', '--batch_size', '2',
                             '--n_iter_latent', '0', '--n_iter_blobs', '0', '--decision_model', decision_file,
                             '--decision_size', '64', '--target_attributes', '0', '1', '--n_iter', '8',
                             '--lambda_prox', '0.1', '--n_diverse', '2', '--target_blobs', '0', '2',
                             '--out_dir', out, '--device', 'cpu'])
    assert [r['attribute'] for r in report] == [0, 1]
    meta = torch.load(os.path.join(out, 'metadata_0000.pt'), weights_only=True)
    assert meta['image_names'] == ['generated_00000', 'generated_00001']
    assert meta['init_scores'].shape == (2, 2) and 'xs' in meta['blob_optim']
    for att in (0, 1):
        entry = meta[f'att_{att}']
        assert len(entry['blob_cf']) == 2 and len(entry['final_scores']) == 2  # two diverse counterfactuals
        assert entry['blob_cf'][0]['features'].shape == meta['blob_optim']['features'].shape
    assert os.path.isfile(os.path.join(out, 'snapshot_0000.png'))
    with pytest.raises(FileNotFoundError, match='decision model'):
        cf_script.main(['--generator', generator_file, '--decision_model', str(tmp_path / 'none.pth'),
                        '--out_dir', out, '--device', 'cpu'])


def test_the_readme_workflow_script_runs_end_to_end(tmp_path):
    """scripts/blobgan_workflow.sh: train, sample, FID, encoders, inversion, counterfactuals (stand-in weights)."""
    import subprocess
    work = tmp_path / 'workflow'
    out = subprocess.run(['bash', os.path.join(ROOT, 'scripts', 'blobgan_workflow.sh'), str(work)],
                         env=dict(os.environ, PYTHON=sys.executable), capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert 'blobgan workflow finished' in out.stdout
    assert (work / 'results' / 'tiny_blobgan' / 'test_latest' / 'index.html').is_file()
    assert any(name.startswith('metadata') for name in os.listdir(work / 'counterfactuals'))
    assert 'FID ' in out.stdout

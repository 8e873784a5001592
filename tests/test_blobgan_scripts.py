"""BlobGAN workflow scripts on tiny generated models: FID, encoder training, inversion, counterfactuals."""
import os
import sys

import pytest
import torch

import metrics as M
from models.blobgan import BlobGenerator
from tools.blobgan.octet.counterfactual import (
    DecisionDensenet,
    DecisionWrapper,
    counterfactuals,
    load_decision_model,
    save_densenet_decision_model,
)
from tools.blobgan.octet.inversion import invert
from models.blobgan.io import load_encoder, save_generator
from models.blobgan.lpips_loss import LPIPSLoss, make_random_lpips_weights
from tools.blobgan import compute_fid, pretrain_encoder, setup_fid, train_encoder
from tools.blobgan import counterfactuals as cf_script
from tools.blobgan import invert as invert_script

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = dict(size=32, size_in=8, n_blobs=3, noise_dim=8, hidden_dim=16, n_mlp=3, feature_dim=8, style_dim=8, c_model=2)


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
    """A random DecisionDensenetModel in the published checkpoint format ({'model_state_dict': ...})."""
    torch.manual_seed(1)
    path = str(tmp_path_factory.mktemp('dec') / 'decision_densenet.tar')
    save_densenet_decision_model(path, DecisionDensenet(num_classes=4))
    return path


@pytest.fixture(scope='module')
def lpips_files(tmp_path_factory):
    return make_random_lpips_weights(str(tmp_path_factory.mktemp('lpips')))


def test_setup_fid_and_compute_fid_with_generated_inception(tmp_path, images_root, generator_file):
    from metrics.weights import make_random_inception_weights
    weights = make_random_inception_weights(str(tmp_path / 'inception.pth'))
    stats = str(tmp_path / 'stats')
    out = setup_fid.main(['--fid_backend', 'torch-fidelity', '--path', images_root, '--name', 'Tiny_Scenes', '--n_imgs', '4', '--shuffle', '-bs', '4',
                          '--device', 'cpu', '--generator', generator_file, '--inception_weights', weights,
                          '--stats_dir', stats])
    assert out['num_images'] == 4
    assert any(f.startswith('tiny_scenes') for f in os.listdir(stats))  # lowercased name
    res = compute_fid.main([generator_file, '--fid_backend', 'torch-fidelity', '--num_gen', '4', '--batch_size', '4', '--dataset_name', 'TINY_SCENES',
                            '--inception_weights', weights, '--stats_dir', stats, '--device', 'cpu',
                            '--out', str(tmp_path / 'fid.json')])
    assert res['fid'] >= 0 and M.read_metrics_json(tmp_path / 'fid.json') == {'fid': pytest.approx(res['fid']),
                                                                              'num_gen': 4}
    with pytest.raises(FileNotFoundError, match='setup_fid'):
        compute_fid.main([generator_file, '--fid_backend', 'torch-fidelity', '--num_gen', '4', '--dataset_name', 'unknown', '--inception_weights',
                          weights, '--stats_dir', stats, '--device', 'cpu'])


def test_clean_fid_backend_with_generated_inception(tmp_path, images_root, clean_fid_inception, generator_file):
    from metrics import clean_fid
    weights = clean_fid_inception
    stats = str(tmp_path / 'clean_stats')
    names = tmp_path / 'files.txt'
    names.write_text('\n'.join(sorted(os.listdir(images_root))[:4]))
    out = setup_fid.main(['--path', images_root, '--txt', str(names), '--name', 'Tiny_Rect', '--generator',
                          generator_file, '-bs', '2', '-j', '0', '--device', 'cpu', '--inception_weights', weights,
                          '--stats_dir', stats])
    assert out['num_images'] == 4 and os.path.basename(out['path']) == 'tiny_rect_clean_custom_na.npz'
    res = compute_fid.main([generator_file, '--num_gen', '4', '--batch_size', '2', '--dataset_name', 'tiny_rect',
                            '--inception_weights', weights, '--stats_dir', stats, '--device', 'cpu',
                            '--out', str(tmp_path / 'fid.json')])
    assert res['clean_fid'] > 0  # the registered metric's key: clean-fid's FID is not torch-fidelity's fid
    assert M.read_metrics_json(tmp_path / 'fid.json') == {'clean_fid': pytest.approx(res['clean_fid']), 'num_gen': 4}
    with pytest.raises(FileNotFoundError, match='inception-2015-12-05.pt'):
        clean_fid.load_inception(str(tmp_path / 'missing.pt'))
    with pytest.raises(FileNotFoundError, match='setup_fid'):
        compute_fid.main([generator_file, '--num_gen', '4', '--dataset_name', 'nothing', '--inception_weights',
                          weights, '--stats_dir', stats, '--device', 'cpu'])


def test_lpips_offline_loading_and_errors(tmp_path, lpips_files):
    vgg, lin = lpips_files
    a = torch.rand(2, 3, 32, 32) * 2 - 1
    for lin_path in (lin, None):  # generated linear weights, or the lpips package's own file
        lp = LPIPSLoss(vgg, lin_path)
        assert torch.equal(lp(a, a), torch.zeros(2)) and bool((lp(a, -a) > 0).all())
    # the VGG16 trunk really comes from our file: other weights give other distances
    other, _ = make_random_lpips_weights(str(tmp_path / 'other'), seed=5)
    assert not torch.allclose(LPIPSLoss(vgg, lin)(a, -a), LPIPSLoss(other, lin)(a, -a))
    with pytest.raises(FileNotFoundError, match='vgg_weights'):
        LPIPSLoss(str(tmp_path / 'missing.pth'))
    with pytest.raises(FileNotFoundError, match='lpips_lin_weights'):
        LPIPSLoss(vgg, str(tmp_path / 'missing_lin.pth'))
    with pytest.raises(FileNotFoundError, match='VGG16 weights'):
        LPIPSLoss(None)


def test_published_inversion_lowers_loss(tiny_generator, lpips_files):
    g = tiny_generator
    with torch.no_grad():
        target = g(torch.randn(2, 8, generator=torch.Generator().manual_seed(5)), noise_mode='const')
    lp = LPIPSLoss(*lpips_files)
    res = invert(g, target, n_iter_blobs=30, lr_blobs=0.05, lr_sizes=0.1, step_size=10, lpips=lp)
    hist = res['history']
    assert len(hist) == 30 and hist[-1] < 0.8 * hist[0]
    assert res['recon'].shape == target.shape and res['lpips'].shape == (2,)
    assert set(res['layout']) >= {'xs', 'sizes', 'features'}


def test_encoder_scripts_and_invert_script(tmp_path, images_root, generator_file, lpips_files, decision_file):
    vgg, lin = lpips_files
    pre = str(tmp_path / 'enc_pre.ckpt')
    hist = pretrain_encoder.main(['--generator', generator_file, '--out', pre, '--n_iters', '3', '--batch_size', '2',
                                  '--device', 'cpu', '--mlp_idx', '-2', '--encoder_c_model', '2'])
    assert len(hist) == 3 and list(hist[0]) == ['latent']  # published pretraining: latent MSE only
    enc, mlp_idx, extra = load_encoder(pre)
    assert mlp_idx == -2 and extra['stage'] == 'pretrain' and enc.latent_dim == 16
    final = str(tmp_path / 'enc.ckpt')
    hist = train_encoder.main(['--generator', generator_file, '--encoder', pre, '--dataroot', images_root, '--out',
                               final, '--n_iters', '2', '--batch_size', '2', '--device', 'cpu', '--vgg_weights', vgg,
                               '--lpips_lin_weights', lin, '--decision_model', decision_file])
    assert set(hist[-1]) == {'fake_MSE', 'fake_LPIPS', 'fake_decision', 'fake_latents_MSE', 'real_MSE',
                             'real_LPIPS', 'real_decision', 'total'}
    assert load_encoder(final)[1] == -2
    out = str(tmp_path / 'inv')
    summary = invert_script.main(['--generator', generator_file, '--encoder', final, '--dataroot', images_root,
                                  '--max_images', '2', '--batch_size', '2', '--n_iter_blobs', '6', '--out_dir', out,
                                  '--device', 'cpu', '--vgg_weights', vgg, '--lpips_lin_weights', lin])
    assert summary[0]['loss_end'] < summary[0]['loss_start']
    meta = torch.load(os.path.join(out, 'inversion_0000.pt'), weights_only=True)
    assert len(meta['image_names']) == 2 and meta['latent_enc'].shape == (2, 16) and 'xs' in meta['blob_optim']
    assert meta['lpips'].shape == (2,) and os.path.isfile(os.path.join(out, 'snapshot_0000.png'))
    with pytest.raises(ValueError, match='LPIPS-based'):
        invert_script.main(['--generator', generator_file, '--out_dir', out, '--device', 'cpu'])
    # counterfactuals reuse the saved inversions (--load_inversion), and --invert_only stops after inverting
    cf_out = str(tmp_path / 'cf')
    report = cf_script.main(['--generator', generator_file, '--load_inversion', out, '--dataroot', images_root,
                             '--decision_model', decision_file, '--target_attributes', '1', '--n_iter', '2',
                             '--out_dir', cf_out, '--device', 'cpu'])
    assert report == [{'batch': 0, 'attribute': 1, 'flip_rate': report[0]['flip_rate']}]
    cf_meta = torch.load(os.path.join(cf_out, 'metadata_0000.pt'), weights_only=True)
    assert torch.equal(cf_meta['blob_optim']['xs'], meta['blob_optim']['xs'])
    only = cf_script.main(['--generator', generator_file, '--dataroot', images_root, '--max_images', '2',
                           '--decision_model', decision_file, '--invert_only', '--n_iter_blobs', '2', '--out_dir',
                           str(tmp_path / 'only'), '--device', 'cpu', '--vgg_weights', vgg])
    assert only[0]['attribute'] is None
    only_meta = torch.load(os.path.join(tmp_path, 'only', 'metadata_0000.pt'), weights_only=True)
    assert 'att_0' not in only_meta and 'blob_optim' in only_meta


def test_decision_model_published_format_and_input_range(tmp_path, decision_file):
    model = load_decision_model(decision_file)
    assert isinstance(model, DecisionDensenet) and model.classifier.out_features == 4
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    published = DecisionWrapper(model)  # published: the [-1, 1] image goes in unchanged
    assert torch.allclose(published(x), model(x))
    assert not torch.allclose(DecisionWrapper(model, input_range='zero_one')(x), model(x))
    assert published.features(x).shape == (1, 1024)
    # a file with the published keys but the wrong head shape is a clear error
    bad = {'model_state_dict': dict(model.state_dict(), **{'classifier.weight': torch.zeros(4, 3)})}
    torch.save(bad, tmp_path / 'bad.tar')
    with pytest.raises(ValueError, match='DecisionDensenetModel'):
        load_decision_model(str(tmp_path / 'bad.tar'))


def test_counterfactual_published_loss_and_blob_targeting(tiny_generator, decision_file):
    g = tiny_generator
    decision = DecisionWrapper(load_decision_model(decision_file))
    with torch.no_grad():
        _, layout = g(torch.randn(2, 8, generator=torch.Generator().manual_seed(0)), noise_mode='const',
                      return_layout=True)
    out = counterfactuals(g, decision, layout, attribute=0, n_iter=40)
    assert len(out['history']) == 40  # published: every step runs
    toward = (out['final_scores'][0][:, 0] - out['init_scores'][:, 0]) * (out['target'] * 2 - 1)
    assert bool((toward > 0).all())  # the decision moves towards the flipped target
    import torchvision
    torch.manual_seed(1)
    resnet = DecisionWrapper(torchvision.models.resnet18(num_classes=4), input_size=64)
    hist = counterfactuals(g, resnet, layout, attribute=0, n_iter=40)['history']
    assert hist[-1] < 0.9 * hist[0]
    # only the targeted blob (and the targeted parameters) may change
    out = counterfactuals(g, decision, layout, attribute=0, target_features=['xs', 'sizes'], target_blobs=[1],
                          n_iter=5)
    cf = out['layouts'][0]
    assert torch.equal(cf['xs'][:, [0, 2]], layout['xs'][:, [0, 2]]) and torch.equal(cf['ys'], layout['ys'])
    assert torch.equal(cf['sizes'][:, [0, 1, 3]], layout['sizes'][:, [0, 1, 3]])
    assert not torch.equal(cf['xs'][:, 1], layout['xs'][:, 1])
    with pytest.raises(ValueError, match='target features'):
        counterfactuals(g, decision, layout, 0, target_features=['colour'])


def test_counterfactuals_script_diversity_assignment_and_prox_weights(tmp_path, generator_file, decision_file):
    out = str(tmp_path / 'cf')
    report = cf_script.main(['--generator', generator_file, '--num_generated', '2', '--batch_size', '2',
                             '--decision_model', decision_file, '--target_attributes', '0', '1', '--n_iter', '4',
                             '--n_diverse', '2', '--prox_weights', 'xs=3', 'features=0', '--out_dir', out,
                             '--device', 'cpu', '--lambda_lpips', '0'])
    assert [r['attribute'] for r in report] == [0, 1]
    meta = torch.load(os.path.join(out, 'metadata_0000.pt'), weights_only=True)
    assert meta['image_names'] == ['generated_00000', 'generated_00001']
    assert meta['init_scores'].shape == (2, 4) and 'xs' in meta['blob_optim']
    for att in (0, 1):
        entry = meta[f'att_{att}']
        assert len(entry['blob_cf']) == 2 and len(entry['final_scores']) == 2  # two diverse counterfactuals
        a = entry['Assignment']  # (images, counterfactuals, blobs), a softmax over the counterfactuals
        assert a.shape == (2, 2, 3) and torch.allclose(a.sum(1), torch.ones(2, 3))
    with pytest.raises(ValueError, match='KEY=VALUE'):
        cf_script.main(['--generator', generator_file, '--decision_model', decision_file, '--prox_weights', 'colour=1',
                        '--out_dir', out, '--device', 'cpu'])
    with pytest.raises(FileNotFoundError, match='decision model'):
        cf_script.main(['--generator', generator_file, '--decision_model', str(tmp_path / 'none.pth'),
                        '--out_dir', out, '--device', 'cpu', '--lambda_lpips', '0'])


def test_assignment_entropy_drives_blobs_to_one_counterfactual(tiny_generator, decision_file):
    g = tiny_generator
    decision = DecisionWrapper(load_decision_model(decision_file))
    with torch.no_grad():
        _, layout = g(torch.randn(1, 8, generator=torch.Generator().manual_seed(0)), noise_mode='const',
                      return_layout=True)
    out = counterfactuals(g, decision, layout, 0, n_iter=30, n_diverse=2, lambda_div=5.0,
                          lrs={'assignment': 0.3})
    a = out['assignment']
    start_entropy = torch.log(torch.tensor(2.0))
    entropy = -(a * a.log()).sum(1).mean()
    assert entropy < 0.8 * start_entropy


def test_the_readme_workflow_script_runs_end_to_end(tmp_path, clean_fid_inception, lpips_files, decision_file):
    """scripts/blobgan_workflow.sh: train, sample, FID, encoders, inversion, counterfactuals (stand-in weights,
    given as the script's INCEPTION/VGG/DECISION files: the 64-feature Inception keeps its FID step fast)."""
    import subprocess
    work = tmp_path / 'workflow'
    env = dict(os.environ, PYTHON=sys.executable, INCEPTION=clean_fid_inception, VGG=lpips_files[0],
               DECISION=decision_file)
    out = subprocess.run(['bash', os.path.join(ROOT, 'scripts', 'blobgan_workflow.sh'), str(work)],
                         env=env, capture_output=True, text=True, timeout=1500)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert 'blobgan workflow finished' in out.stdout
    assert (work / 'results' / 'tiny_blobgan' / 'test_latest' / 'index.html').is_file()
    assert any(name.startswith('metadata') for name in os.listdir(work / 'counterfactuals'))
    assert 'FID ' in out.stdout


def test_old_script_paths_forward_to_tools(tmp_path):
    """scripts/<verb>.py still works for one release: it names the new module and runs it (errors included)."""
    import subprocess
    out = subprocess.run([sys.executable, os.path.join(ROOT, 'scripts', 'compute_fid.py'), str(tmp_path / 'no.ckpt'),
                          '--dataset_name', 'x', '--device', 'cpu'], capture_output=True, text=True, timeout=120,
                         cwd=str(tmp_path))
    assert 'python -m tools.blobgan.compute_fid' in out.stderr
    assert out.returncode == 2 and 'error:' in out.stderr and 'Traceback' not in out.stderr

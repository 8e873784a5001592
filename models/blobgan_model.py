"""BlobGAN (Epstein et al., ECCV 2022): unconditional scene generation from a layout of blobs.

    python train.py --model blobgan --dataroot DIR --name NAME [--n_blobs 10 --crop_size 256 --aspect_ratio 2]
    python test.py  --model blobgan --name NAME --num_samples 16

Networks: G (layout MLP + splatting + StyleGAN2-style synthesis), D (StyleGAN2 residual discriminator) and
G_ema (moving average of G, used for snapshots, test samples, FID and the scripts). Losses: non-saturating
logistic, lazy R1. ``--accumulate_grad_batches`` sums gradients over several loader batches before each
optimizer step; the partial sums and counters are part of the exact-resume training state.
"""
import json
import os
from collections import OrderedDict

import torch

from metrics.clean_fid import GeneratorSamples
from metrics.compute import FID_BY_BACKEND, evaluate
from metrics.json_io import write_metrics_json
from util import util
from util.errors import OptionError
from .base_model import BaseModel
from .blobgan import (PUBLISHED_EMA_DECAY, BlobDiscriminator, BlobGenerator, d_logistic_loss, draw_layout,
                      g_nonsaturating_loss, layout_map, make_ema, r1_penalty, update_ema)
from .blobgan.io import CONFIG_NAME, save_generator

BLOBGAN_ARCHITECTURE = ('crop_size', 'aspect_ratio', 'n_blobs', 'style_dim', 'feature_dim', 'size_in', 'noise_dim',
                        'layout_hidden', 'layout_layers', 'layout_lr_mul', 'g_c_model', 'd_c_model',
                        'channel_multiplier', 'no_norm_features', 'ab_norm', 'detach_blob_shapes')


def generator_config(opt):
    """BlobGenerator keyword arguments from the options."""
    return dict(size=opt.crop_size, size_in=opt.size_in, aspect_ratio=opt.aspect_ratio, n_blobs=opt.n_blobs,
                noise_dim=opt.noise_dim, hidden_dim=opt.layout_hidden, n_mlp=opt.layout_layers,
                feature_dim=opt.feature_dim, style_dim=opt.style_dim, c_model=opt.g_c_model,
                channel_multiplier=opt.channel_multiplier, layout_lr_mul=opt.layout_lr_mul,
                norm_features=not opt.no_norm_features, detach_shapes=opt.detach_blob_shapes, ab_norm=opt.ab_norm,
                jitter_xy=opt.feature_jitter_xy, jitter_shift=opt.feature_jitter_shift,
                jitter_angle=opt.feature_jitter_angle)


def _has_option(parser, flag):
    return any(flag in action.option_strings for action in parser._actions)


class BlobganModel(BaseModel):
    """BlobGAN training (G, D, G_ema) and generation of samples with their blob layouts."""

    # torchrun: G and D are DistributedDataParallel (gradients, R1's included, averaged over ranks); the EMA reads the
    # synchronised G inside the wrapper, so every rank's G_ema stays identical; R1 steps count optimizer steps
    supports_distributed = True

    @staticmethod
    def modify_commandline_options(parser, is_train=True):
        # published defaults: dave-epstein/blobgan src/configs/experiment/blobgan.yaml (10-blob bedrooms); the
        # BlobGANEX 40-blob 256x512 experiment is configs/blobgan40.yaml (--config configs/blobgan40.yaml)
        parser.set_defaults(dataset_mode='blobgan', crop_size=256, load_size=256, preprocess='resize_and_crop')
        g = parser.add_argument_group('blobgan')
        g.add_argument('--n_blobs', type=int, default=10, help='number of blobs K (published n_features; BlobGANEX 40)')
        g.add_argument('--feature_dim', type=int, default=768,
                       help="size of each blob's feature vector, splatted into the generator's input grid (published "
                            "layout_net.feature_dim; must equal the generator's input width override_c_in)")
        g.add_argument('--style_dim', type=int, default=512,
                       help="size of each blob's style (spatial_style) vector, which modulates every layer (published "
                            "model.dim; BlobGANEX 256)")
        g.add_argument('--size_in', type=int, default=16,
                       help='height of the blob grid the generator starts from (width = size_in * aspect_ratio)')
        if not _has_option(parser, '--aspect_ratio'):  # test.py defines its own --aspect_ratio; the saved value fills it
            g.add_argument('--aspect_ratio', type=float, default=1.0,
                           help='image width / height, e.g. 2 for 256x512 images (--crop_size is the height)')
        g.add_argument('--noise_dim', type=int, default=512, help="size of the layout network's input noise")
        g.add_argument('--layout_hidden', type=int, default=1024, help='hidden width of the layout MLP')
        g.add_argument('--layout_layers', type=int, default=8, help='number of linear layers of the layout MLP')
        g.add_argument('--layout_lr_mul', type=float, default=0.01,
                       help='learning-rate multiplier of the layout MLP (equalised learning rate)')
        g.add_argument('--g_c_model', type=int, default=96,
                       help='generator width unit c_model: 8*c up to 32 px, then 4c*m, 2c*m, c*m (m = channel multiplier)')
        g.add_argument('--d_c_model', type=int, default=64,
                       help='discriminator width unit: 4c*m up to 64 px, then 2c*m, c*m (512, 512, 256, 128 at 256 px)')
        g.add_argument('--channel_multiplier', type=int, default=2, help='StyleGAN2 channel multiplier of G and D')
        g.add_argument('--no_norm_features', action='store_true',
                       help='do not pixel-normalise the blob feature and style vectors (published norm_features: true)')
        g.add_argument('--ab_norm', type=float, default=0.02,
                       help='fixed blob area: axes are scaled by ab_norm / sqrt(a b) (published ab_norm; 0 = off)')
        g.add_argument('--detach_blob_shapes', action='store_true',
                       help='stop gradients to the blob shape (covariance) outputs, as BlobGANEX does')
        g.add_argument('--feature_jitter_xy', type=float, default=0.0,
                       help='training jitter of blob centres (uniform +-; published jitter config 0.04)')
        g.add_argument('--feature_jitter_shift', type=float, default=0.0,
                       help='training jitter of blob sizes (uniform +-; published jitter config 0.5)')
        g.add_argument('--feature_jitter_angle', type=float, default=0.0,
                       help='training jitter of blob angles in radians (uniform +-; published jitter config 0.1)')
        g.add_argument('--truncate', type=float, default=0.0,
                       help='test.py: truncation t (layout latent pulled to the mean: mean*t + h*(1-t); 0 = none)')
        g.add_argument('--num_samples', type=int, default=16,
                       help='test.py: number of samples (with their layouts) to generate; overrides --num_test')
        g.add_argument('--fixed_noise', action='store_true',
                       help='draw snapshots (training) and samples (test) from --noise_seed so runs and epochs compare')
        g.add_argument('--noise_seed', type=int, default=0, help='seed of the fixed noise')
        g.add_argument('--n_fixed', type=int, default=4, help='number of fixed-noise snapshot images during training')
        if is_train:
            parser.set_defaults(lr=0.002, beta1=0.0, beta2=0.99, n_epochs_decay=0, gan_mode='vanilla',
                                optimizer='adamw')
            g.add_argument('--adam_eps', type=float, default=1e-5, help='AdamW epsilon (published eps 1e-5)')
            g.add_argument('--lambda_R1', type=float, default=50.0,
                           help='weight of the R1 penalty; in lazy steps the loss is lambda_R1 * d_reg_every * R1 '
                                '(published D_R1 50)')
            g.add_argument('--d_reg_every', type=int, default=16,
                           help='apply R1 every N discriminator steps (lazy; published D_reg_every 16)')
            g.add_argument('--ema_decay', type=float, default=PUBLISHED_EMA_DECAY,
                           help='decay of the generator moving average per generator step (published 0.5^(32/10k))')
            g.add_argument('--ema_after_step', action='store_true',
                           help="update G_ema from G after G's optimizer step, buffers included (published: before "
                                "the step, so the average is one step behind, and parameters only)")
            g.add_argument('--accumulate_grad_batches', type=int, default=1,
                           help='sum gradients over N batches before each optimizer step (for small batches)')
            g.add_argument('--published_init', type=str, default=None,
                           help='start training from a published BlobGAN Lightning .ckpt (G, G_ema and D; options must '
                                'match its sizes; ZOO_TRUST_PICKLE=1 for pickled configs)')
            g.add_argument('--fid_every', type=int, default=0,
                           help='compute FID every N optimizer steps and keep the best checkpoint (0 = off)')
            g.add_argument('--fid_stats_name', type=str, default=None,
                           help='name of real statistics made by tools/blobgan/setup_fid.py (needed with --fid_every)')
            g.add_argument('--fid_num_gen', type=int, default=50000,
                           help='generated images per FID evaluation (published fid_n_imgs 50k)')
            g.add_argument('--fid_no_jitter', action='store_true',
                           help="sample FID images without the generator's training jitter (published: with it)")
            g.add_argument('--fid_backend', default='clean-fid', choices=list(FID_BY_BACKEND),
                           help='FID implementation for --fid_every (published: clean-fid; metric clean_fid or fid)')
            g.add_argument('--fid_weights', type=str, default=None,
                           help="local Inception weights for FID (clean-fid: inception-2015-12-05.pt; torch-fidelity: "
                                "its pt_inception file)")
            g.add_argument('--fid_stats_dir', type=str, default=None,
                           help='folder of cached FID statistics (default: the project-local .fid_stats)')
        return parser

    @classmethod
    def check_options(cls, opt):
        super().check_options(opt)
        if opt.n_blobs < 1:
            raise OptionError('--n_blobs must be at least 1')
        if opt.isTrain and opt.gan_mode != 'vanilla':
            raise OptionError(f'--gan_mode {opt.gan_mode} is not used by --model blobgan, which always trains with the '
                             f'published non-saturating logistic loss and lazy R1 (--lambda_R1, --d_reg_every); '
                             f'leave --gan_mode out')
        if opt.isTrain and opt.accumulate_grad_batches < 1:
            raise OptionError('--accumulate_grad_batches must be at least 1')
        if opt.isTrain and opt.fid_every > 0 and not opt.fid_stats_name:
            raise OptionError('--fid_every needs --fid_stats_name (precompute it with tools/blobgan/setup_fid.py)')
        if opt.isTrain and opt.d_reg_every < 1:
            raise OptionError('--d_reg_every must be at least 1')
        if not 0.0 <= opt.truncate <= 1.0:
            raise OptionError('--truncate must be in [0, 1]')

    def __init__(self, opt):
        super().__init__(opt)
        cfg = generator_config(opt)
        self.gen_config = cfg
        self.netG_ema = make_ema(BlobGenerator(**cfg))
        self.visual_names = ['fake', 'layout', 'blobs']
        self.model_names = ['G_ema']
        self.loss_names = []
        if self.isTrain:
            self.netG = BlobGenerator(**cfg)
            self.netG_ema.load_state_dict(self.netG.state_dict())
            self.netD = BlobDiscriminator(opt.crop_size, opt.aspect_ratio, opt.d_c_model, opt.channel_multiplier)
            if opt.published_init and not opt.continue_train:
                from .blobgan.published import load_published_training_weights
                load_published_training_weights(opt.published_init, self.netG, self.netG_ema, self.netD)
            self.model_names = ['G', 'D', 'G_ema']
            self.loss_names = ['G', 'D', 'D_real', 'D_fake', 'R1']
            if opt.fid_every > 0:
                self.loss_names.append('fid')
            self.visual_names = ['real', 'fake', 'layout'] + (['fixed', 'fixed_layout'] if opt.fixed_noise else [])
            # published configure_optimizers: AdamW, weight decay 0, eps 1e-5; D's lr and betas scaled by the lazy
            # regularisation ratio r = d_reg_every / (d_reg_every + 1) (lr * r, betas ** r); G's ratio is 1
            c = opt.d_reg_every / (opt.d_reg_every + 1) if opt.lambda_R1 > 0 else 1.0
            self.optimizer_G = self._optimizer(self.netG.parameters(), opt.lr, opt.beta1, opt.beta2)
            self.optimizer_D = self._optimizer(self.netD.parameters(), opt.lr * c, opt.beta1 ** c, opt.beta2 ** c)
            self.optimizers = [self.optimizer_G, self.optimizer_D]
            self.micro = 0         # batches accumulated in the current optimizer step
            self.steps = 0         # optimizer steps done
            self.best_fid = None
            self.fid_history = []
            self.fixed_z = self.netG.sample_noise(opt.n_fixed, torch.Generator().manual_seed(opt.noise_seed),
                                                  device='cpu')
        for name in ('G', 'D', 'D_real', 'D_fake', 'R1', 'fid'):
            setattr(self, 'loss_' + name, None)

    def _optimizer(self, params, lr, beta1, beta2):
        opt = self.opt
        if opt.optimizer.lower() == 'adamw' and not opt.lookahead:
            return torch.optim.AdamW(params, lr=lr, betas=(beta1, beta2), eps=opt.adam_eps, weight_decay=0.0)
        optimizer = self.make_optimizer(params, lr=lr, beta1=beta1)
        for group in optimizer.param_groups:
            if 'betas' in group:
                group['betas'] = (group['betas'][0], beta2)
        return optimizer

    def architecture_options(self):
        return tuple(super().architecture_options()) + BLOBGAN_ARCHITECTURE

    def setup(self, opt):
        super().setup(opt)
        if not self.isTrain:
            # test.py's --aspect_ratio stretches saved images; ours are already generated at the right shape
            opt.aspect_ratio = 1.0
            opt.num_test = opt.num_samples

    # ------------------------------------------------------------------ data and sampling

    def set_input(self, input):
        if 'A' in input:
            self.real = self.to_device(input['A'])
            self.z_index = None
        else:
            self.real = None
            self.z_index = [int(i) for i in input['z_index']]
        self.image_paths = input['A_paths']

    def _indexed_noise(self, indices):
        """Noise for test sample i, from (--noise_seed if --fixed_noise else --seed, i): batch-independent."""
        base = self.opt.noise_seed if self.opt.fixed_noise else int(self.opt.seed)
        zs = [self.netG_ema.sample_noise(1, torch.Generator().manual_seed(base * 1000003 + i), device='cpu')
              for i in indices]
        return torch.cat(zs).to(self.device)

    def forward(self):
        if self.real is None:  # generation (test.py)
            z = self._indexed_noise(self.z_index)
            self.fake, self.fake_layout = self.netG_ema(z, noise_mode='const', return_layout=True,
                                                        truncate=self.opt.truncate or None)
        else:
            z = torch.randn(self.real.shape[0], self.opt.noise_dim, device=self.device)
            with self.autocast():
                self.fake, self.fake_layout = self.netG(z, return_layout=True, jitter=True)

    def compute_visuals(self):
        ab = self.opt.ab_norm
        with torch.no_grad():
            self.layout = draw_layout(self.fake.float(), self.fake_layout, ab)
            if not self.isTrain:
                h, w = self.fake.shape[-2:]
                self.blobs = layout_map(self.fake_layout, h, w, ab)
            elif self.opt.fixed_noise:
                self.fixed, lay = self.netG_ema(self.fixed_z.to(self.device), noise_mode='const', return_layout=True)
                self.fixed_layout = draw_layout(self.fixed, lay, ab)

    # ------------------------------------------------------------------ training

    def _module(self, net):
        """The network inside a DistributedDataParallel wrapper (or the network itself)."""
        return getattr(net, 'module', net)

    def optimize_parameters(self):
        """One published training iteration: a generator step, then a discriminator step on fresh samples of the
        updated generator (published order: optimizer 0 = G, 1 = D). R1 joins the discriminator loss on every
        d_reg_every-th step as lambda_R1 * d_reg_every * R1 (published run_at_step: (step + 1) % every == 0)."""
        opt = self.opt
        n_acc = opt.accumulate_grad_batches
        last = self.micro + 1 == n_acc

        # generator: non-saturating loss, D frozen
        self.forward()
        self.set_requires_grad(self.netD, False)
        with self.autocast():
            gen_logits = self.netD(self.fake)
        self.loss_G = g_nonsaturating_loss(gen_logits.float())
        self.backward(self.loss_G / n_acc)
        if last:
            # published: the EMA reads G inside the training step, before the optimizer moves it (one step behind)
            if not opt.ema_after_step:
                update_ema(self.netG_ema, self._module(self.netG), opt.ema_decay, buffers=False)
            self.step(self.optimizer_G)
            self.optimizer_G.zero_grad(set_to_none=True)
            if opt.ema_after_step:
                update_ema(self.netG_ema, self._module(self.netG), opt.ema_decay)

        # discriminator: logistic loss on new samples (+ lazy R1)
        self.set_requires_grad(self.netD, True)
        with torch.no_grad(), self.autocast():
            z = torch.randn(self.real.shape[0], opt.noise_dim, device=self.device)
            fake = self.netG(z, jitter=True)
        reg = opt.lambda_R1 > 0 and (self.steps + 1) % opt.d_reg_every == 0
        real = self.real.detach().requires_grad_(reg)
        with self.autocast():
            real_logits = self.netD(real)
            fake_logits = self.netD(fake)
        self.loss_D_real = torch.nn.functional.softplus(-real_logits.float()).mean()
        self.loss_D_fake = torch.nn.functional.softplus(fake_logits.float()).mean()
        self.loss_D = d_logistic_loss(real_logits.float(), fake_logits.float())
        loss = self.loss_D
        if reg:
            self.loss_R1 = r1_penalty(real_logits.float(), real)
            loss = loss + opt.lambda_R1 * opt.d_reg_every * self.loss_R1
        self.backward(loss / n_acc)
        if last:
            self.step(self.optimizer_D)
            self.optimizer_D.zero_grad(set_to_none=True)
            self.steps += 1
            self.micro = 0
            if opt.fid_every > 0 and self.steps % opt.fid_every == 0:
                self.monitor_fid()
        else:
            self.micro += 1

    @torch.no_grad()
    def generate(self, n, batch_size=16, seed=0, jitter=False):
        """``n`` G_ema samples in [-1, 1] on the CPU, from a private generator (global RNG untouched)."""
        gen = torch.Generator().manual_seed(seed)
        out = []
        for start in range(0, n, batch_size):  # published FID samples use the EMA generator
            z = self.netG_ema.sample_noise(min(batch_size, n - start), gen, device='cpu').to(self.device)
            out.append(self.netG_ema(z, noise_mode='const', jitter=jitter).clamp(-1, 1).cpu())
        return torch.cat(out)

    def monitor_fid(self):
        """FID of G_ema against the cached real statistics, through metrics.evaluate (metric clean_fid or fid, by
        --fid_backend); the best checkpoint is saved as 'best_fid' and best_fid.json ({'fid', 'step'}, metrics.json
        format) records it."""
        opt = self.opt
        if getattr(opt, 'rank', 0) != 0:  # under torchrun rank 0 measures and saves (G_ema is the same everywhere)
            return
        jitter = not opt.fid_no_jitter  # published log_fid: gen(z, ema=True, norm_img=True).clamp(0, 255), jittered
        metric = FID_BY_BACKEND[opt.fid_backend]
        if metric == 'clean_fid':
            g = self.netG_ema
            gen = torch.Generator().manual_seed(opt.noise_seed)

            def sample(z):
                img = g(g.sample_noise(z.shape[0], gen, self.device), noise_mode='random', jitter=jitter)
                return img.add(1).mul(127.5).clamp(0, 255)
            samples = GeneratorSamples(sample, opt.noise_dim, opt.fid_num_gen, max(1, opt.batch_size))
        else:
            samples = self.generate(opt.fid_num_gen, batch_size=max(1, opt.batch_size), seed=opt.noise_seed,
                                    jitter=jitter)
        self.loss_fid = evaluate(samples, metrics=[metric], weights_path=opt.fid_weights,
                                 real_cache_name=opt.fid_stats_name, cache_dir=opt.fid_stats_dir,
                                 device='cuda' if self.device.type == 'cuda' else 'cpu')[metric]
        self.fid_history.append((self.steps, self.loss_fid))
        print(f'[blobgan] step {self.steps}: FID {self.loss_fid:.3f}'
              + ('' if self.best_fid is None else f' (best {self.best_fid:.3f})'))
        if self.best_fid is None or self.loss_fid < self.best_fid:
            self.best_fid = self.loss_fid
            self.save_networks('best_fid')
            write_metrics_json(os.path.join(self.save_dir, 'best_fid.json'), {'fid': self.loss_fid, 'step': self.steps})

    # ------------------------------------------------------------------ checkpoints

    def save_networks(self, label):
        """Plain state dicts per network plus ``<label>_blobgan_G_ema.ckpt`` (config + weights) and the generator
        config beside them (CONFIG_NAME) for the scripts."""
        super().save_networks(label)
        save_generator(self._bundle_path(label), self.netG_ema)
        util.atomic_write_text(os.path.join(self.save_dir, CONFIG_NAME),
                               json.dumps({'generator': self.gen_config}, indent=2))

    def _bundle_path(self, label):
        return os.path.join(self.save_dir, f'{label}_blobgan_G_ema.ckpt')

    def network_files(self, label):
        return super().network_files(label) + [self._bundle_path(label)]

    def state_dict_extra(self):
        """Accumulation counters, partial gradient sums, FID bookkeeping (G_ema is saved with the networks)."""
        grads = {}
        if self.micro > 0:  # stopped in the middle of an accumulation window: keep the partial sums
            for name, net in (('G', self.netG), ('D', self.netD)):
                grads[name] = {k: p.grad.detach().cpu().clone() for k, p in self._module(net).named_parameters()
                               if p.grad is not None}
        return {'micro': self.micro, 'steps': self.steps, 'grads': grads, 'best_fid': self.best_fid,
                'fid_history': [list(x) for x in self.fid_history], 'fixed_z': self.fixed_z}

    def load_state_dict_extra(self, state):
        self.micro = int(state.get('micro', 0))
        self.steps = int(state.get('steps', 0))
        self.best_fid = state.get('best_fid')
        self.fid_history = [tuple(x) for x in state.get('fid_history', [])]
        if state.get('fixed_z') is not None:
            self.fixed_z = state['fixed_z']
        for name, grads in state.get('grads', {}).items():
            net = self._module(getattr(self, 'net' + name))
            for k, p in net.named_parameters():
                p.grad = grads[k].to(p.device, p.dtype) if k in grads else None

    def get_current_visuals(self):
        visuals = OrderedDict()
        for name in self.visual_names:
            value = getattr(self, name, None)
            if torch.is_tensor(value):
                visuals[name] = value.detach().float().clamp(-1, 1)
        return visuals

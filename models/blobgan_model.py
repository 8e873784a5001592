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

from .base_model import BaseModel
from .blobgan import (BlobDiscriminator, BlobGenerator, d_logistic_loss, draw_layout, g_nonsaturating_loss,
                      layout_map, make_ema, r1_penalty, update_ema)
from .blobgan.io import CONFIG_NAME, save_generator

BLOBGAN_ARCHITECTURE = ('crop_size', 'aspect_ratio', 'n_blobs', 'spatial_dim', 'feature_dim', 'size_in', 'noise_dim',
                        'layout_hidden', 'layout_layers', 'layout_lr_mul', 'blob_sharpness', 'channel_max',
                        'channel_base')


def _has_option(parser, flag):
    return any(flag in action.option_strings for action in parser._actions)


class BlobganModel(BaseModel):
    """BlobGAN training (G, D, G_ema) and generation of samples with their blob layouts."""

    # the EMA update reads netG's own weights and the lazy R1 penalty differentiates through D twice
    supports_distributed = False

    @staticmethod
    def modify_commandline_options(parser, is_train=True):
        parser.set_defaults(dataset_mode='blobgan', crop_size=256, load_size=256, preprocess='resize_and_crop')
        g = parser.add_argument_group('blobgan')
        g.add_argument('--n_blobs', type=int, default=10, help='number of blobs K (the seed config uses 40)')
        g.add_argument('--spatial_dim', type=int, default=256,
                       help='size of each blob\'s spatial feature vector (generator input; the seed\'s override_c_in)')
        g.add_argument('--feature_dim', type=int, default=256, help='size of each blob\'s style vector')
        g.add_argument('--size_in', type=int, default=16,
                       help='height of the blob grid the generator starts from (width = size_in * aspect_ratio)')
        if not _has_option(parser, '--aspect_ratio'):  # test.py defines its own --aspect_ratio; the saved value fills it
            g.add_argument('--aspect_ratio', type=float, default=1.0,
                           help='image width / height, e.g. 2 for 256x512 images (--crop_size is the height)')
        g.add_argument('--noise_dim', type=int, default=512, help='size of the layout network\'s input noise')
        g.add_argument('--layout_hidden', type=int, default=1024, help='hidden width of the layout MLP')
        g.add_argument('--layout_layers', type=int, default=8, help='number of linear layers of the layout MLP')
        g.add_argument('--layout_lr_mul', type=float, default=0.01,
                       help='learning-rate multiplier of the layout MLP (equalised learning rate)')
        g.add_argument('--blob_sharpness', type=float, default=25.0,
                       help='c in opacity = sigmoid(size - c * distance^2): how fast blob edges fade')
        g.add_argument('--channel_max', type=int, default=512, help='maximum channels of G and D layers')
        g.add_argument('--channel_base', type=int, default=16384,
                       help='channels at resolution r are min(channel_max, channel_base / r)')
        g.add_argument('--num_samples', type=int, default=16,
                       help='test.py: number of samples (with their layouts) to generate; overrides --num_test')
        g.add_argument('--fixed_noise', action='store_true',
                       help='draw snapshots (training) and samples (test) from --noise_seed so runs and epochs compare')
        g.add_argument('--noise_seed', type=int, default=0, help='seed of the fixed noise')
        g.add_argument('--n_fixed', type=int, default=4, help='number of fixed-noise snapshot images during training')
        if is_train:
            parser.set_defaults(lr=0.002, beta1=0.0, beta2=0.99, n_epochs_decay=0, gan_mode='vanilla')
            g.add_argument('--r1_gamma', type=float, default=10.0, help='weight of the R1 penalty on real images')
            g.add_argument('--d_reg_every', type=int, default=16, help='apply R1 every N optimizer steps (lazy)')
            g.add_argument('--ema_decay', type=float, default=0.999, help='decay of the generator moving average')
            g.add_argument('--accumulate_grad_batches', type=int, default=1,
                           help='sum gradients over N batches before each optimizer step (for small batches)')
            g.add_argument('--fid_every', type=int, default=0,
                           help='compute FID every N optimizer steps and keep the best checkpoint (0 = off)')
            g.add_argument('--fid_stats_name', type=str, default=None,
                           help='name of real statistics made by scripts/setup_fid.py (needed with --fid_every)')
            g.add_argument('--fid_num_gen', type=int, default=5000, help='generated images per FID evaluation')
            g.add_argument('--fid_weights', type=str, default=None,
                           help='local InceptionV3 weights file for FID (torch-fidelity\'s file is used when absent)')
            g.add_argument('--fid_stats_dir', type=str, default=None,
                           help='folder of cached FID statistics (default: the project-local .fid_stats)')
        return parser

    def __init__(self, opt):
        super().__init__(opt)
        self._check_options(opt)
        cfg = dict(size=opt.crop_size, size_in=opt.size_in, aspect_ratio=opt.aspect_ratio, n_blobs=opt.n_blobs,
                   noise_dim=opt.noise_dim, hidden_dim=opt.layout_hidden, n_mlp=opt.layout_layers,
                   feature_dim=opt.feature_dim, spatial_dim=opt.spatial_dim, channel_max=opt.channel_max,
                   channel_base=opt.channel_base, sharpness=opt.blob_sharpness, layout_lr_mul=opt.layout_lr_mul)
        self.gen_config = cfg
        self.netG_ema = make_ema(BlobGenerator(**cfg))
        self.visual_names = ['fake', 'layout', 'blobs']
        self.model_names = ['G_ema']
        self.loss_names = []
        if self.isTrain:
            self.netG = BlobGenerator(**cfg)
            self.netG_ema.load_state_dict(self.netG.state_dict())
            self.netD = BlobDiscriminator(opt.crop_size, opt.aspect_ratio, opt.channel_max, opt.channel_base)
            self.model_names = ['G', 'D', 'G_ema']
            self.loss_names = ['G', 'D', 'D_real', 'D_fake', 'R1']
            if opt.fid_every > 0:
                self.loss_names.append('fid')
            self.visual_names = ['real', 'fake', 'layout'] + (['fixed', 'fixed_layout'] if opt.fixed_noise else [])
            # lazy regularisation: scale D's lr and betas so the effective optimiser matches a per-step R1
            c = opt.d_reg_every / (opt.d_reg_every + 1) if opt.r1_gamma > 0 else 1.0
            self.optimizer_G = self.make_optimizer(self.netG.parameters())
            self.optimizer_D = self.make_optimizer(self.netD.parameters(), lr=opt.lr * c, beta1=opt.beta1 ** c)
            for group in self.optimizer_D.param_groups:
                if 'betas' in group:
                    group['betas'] = (group['betas'][0], group['betas'][1] ** c)
            self.optimizers = [self.optimizer_G, self.optimizer_D]
            self.micro = 0         # batches accumulated in the current optimizer step
            self.steps = 0         # optimizer steps done
            self.best_fid = None
            self.fid_history = []
            self.fixed_z = self.netG.sample_noise(opt.n_fixed, torch.Generator().manual_seed(opt.noise_seed),
                                                  device='cpu')
            os.makedirs(self.save_dir, exist_ok=True)
            with open(os.path.join(self.save_dir, CONFIG_NAME), 'w') as f:
                json.dump({'generator': cfg}, f, indent=2)
        for name in ('G', 'D', 'D_real', 'D_fake', 'R1', 'fid'):
            setattr(self, 'loss_' + name, None)

    @staticmethod
    def _check_options(opt):
        if opt.n_blobs < 1:
            raise ValueError('--n_blobs must be at least 1')
        if opt.isTrain and opt.accumulate_grad_batches < 1:
            raise ValueError('--accumulate_grad_batches must be at least 1')
        if opt.isTrain and opt.fid_every > 0 and not opt.fid_stats_name:
            raise ValueError('--fid_every needs --fid_stats_name (precompute it with scripts/setup_fid.py)')
        if opt.isTrain and opt.d_reg_every < 1:
            raise ValueError('--d_reg_every must be at least 1')

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
            self.fake, self.fake_layout = self.netG_ema(z, noise_mode='const', return_layout=True)
        else:
            z = torch.randn(self.real.shape[0], self.opt.noise_dim, device=self.device)
            with self.autocast():
                self.fake, self.fake_layout = self.netG(z, return_layout=True)

    def compute_visuals(self):
        with torch.no_grad():
            self.layout = draw_layout(self.fake.float(), self.fake_layout, self.opt.blob_sharpness)
            if not self.isTrain:
                h, w = self.fake.shape[-2:]
                self.blobs = layout_map(self.fake_layout, h, w, self.opt.blob_sharpness)
            elif self.opt.fixed_noise:
                self.fixed, lay = self.netG_ema(self.fixed_z.to(self.device), noise_mode='const', return_layout=True)
                self.fixed_layout = draw_layout(self.fixed, lay, self.opt.blob_sharpness)

    # ------------------------------------------------------------------ training

    def optimize_parameters(self):
        opt = self.opt
        n_acc = opt.accumulate_grad_batches
        last = self.micro + 1 == n_acc
        self.forward()  # self.fake keeps its graph to G for the generator loss below

        # discriminator: logistic loss (+ lazy R1 in regularisation steps)
        self.set_requires_grad(self.netD, True)
        with self.autocast():
            real_logits = self.netD(self.real)
            fake_logits = self.netD(self.fake.detach())
        self.loss_D_real = torch.nn.functional.softplus(-real_logits.float()).mean()
        self.loss_D_fake = torch.nn.functional.softplus(fake_logits.float()).mean()
        self.loss_D = d_logistic_loss(real_logits.float(), fake_logits.float())
        self.backward(self.loss_D / n_acc)
        if opt.r1_gamma > 0 and self.steps % opt.d_reg_every == 0:
            real = self.real.detach().requires_grad_(True)
            with self.autocast():
                logits = self.netD(real)
            self.loss_R1 = r1_penalty(logits.float(), real)
            self.backward(opt.r1_gamma / 2 * self.loss_R1 * opt.d_reg_every / n_acc)
        if last:
            self.step(self.optimizer_D)
            self.optimizer_D.zero_grad(set_to_none=True)

        # generator: non-saturating loss through the (possibly just updated) discriminator
        self.set_requires_grad(self.netD, False)
        with self.autocast():
            gen_logits = self.netD(self.fake)
        self.loss_G = g_nonsaturating_loss(gen_logits.float())
        self.backward(self.loss_G / n_acc)
        if last:
            self.step(self.optimizer_G)
            self.optimizer_G.zero_grad(set_to_none=True)
            update_ema(self.netG_ema, self.netG, opt.ema_decay)
            self.steps += 1
            self.micro = 0
            if opt.fid_every > 0 and self.steps % opt.fid_every == 0:
                self.monitor_fid()
        else:
            self.micro += 1

    @torch.no_grad()
    def generate(self, n, batch_size=16, seed=0):
        """``n`` G_ema samples in [-1, 1] on the CPU, from a private generator (global RNG untouched)."""
        gen = torch.Generator().manual_seed(seed)
        out = []
        for start in range(0, n, batch_size):
            z = self.netG_ema.sample_noise(min(batch_size, n - start), gen, device='cpu').to(self.device)
            out.append(self.netG_ema(z, noise_mode='const').clamp(-1, 1).cpu())
        return torch.cat(out)

    def monitor_fid(self):
        """FID of G_ema against the cached real statistics; the best checkpoint is saved as 'best_fid'."""
        from metrics.fidelity import fidelity_metrics
        opt = self.opt
        fake = self.generate(opt.fid_num_gen, batch_size=max(1, opt.batch_size), seed=opt.noise_seed)
        fid = fidelity_metrics(fake, metrics='fid', weights_path=opt.fid_weights, real_cache_name=opt.fid_stats_name,
                               cache_dir=opt.fid_stats_dir, device=self.device if self.device.type == 'cuda' else 'cpu')
        self.loss_fid = fid['fid']
        self.fid_history.append((self.steps, self.loss_fid))
        print(f'[blobgan] step {self.steps}: FID {self.loss_fid:.3f}'
              + ('' if self.best_fid is None else f' (best {self.best_fid:.3f})'))
        if self.best_fid is None or self.loss_fid < self.best_fid:
            self.best_fid = self.loss_fid
            self.save_networks('best_fid')
            with open(os.path.join(self.save_dir, 'best_fid.json'), 'w') as f:
                json.dump({'step': self.steps, 'fid': self.loss_fid, 'history': self.fid_history}, f, indent=2)

    # ------------------------------------------------------------------ checkpoints

    def save_networks(self, label):
        """Plain state dicts per network plus ``<label>_blobgan_G_ema.ckpt`` (config + weights) for the scripts."""
        super().save_networks(label)
        save_generator(os.path.join(self.save_dir, f'{label}_blobgan_G_ema.ckpt'), self.netG_ema)

    def state_dict_extra(self):
        """Accumulation counters, partial gradient sums, FID bookkeeping (G_ema is saved with the networks)."""
        grads = {}
        if self.micro > 0:  # stopped in the middle of an accumulation window: keep the partial sums
            for name, net in (('G', self.netG), ('D', self.netD)):
                grads[name] = {k: p.grad.detach().cpu().clone() for k, p in net.named_parameters()
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
            net = getattr(self, 'net' + name)
            for k, p in net.named_parameters():
                p.grad = grads[k].to(p.device, p.dtype) if k in grads else None

    def get_current_visuals(self):
        visuals = OrderedDict()
        for name in self.visual_names:
            value = getattr(self, name, None)
            if torch.is_tensor(value):
                visuals[name] = value.detach().float().clamp(-1, 1)
        return visuals

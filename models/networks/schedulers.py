"""Learning-rate schedulers chosen by --lr_policy."""
from torch.optim import lr_scheduler


LR_POLICIES = ('linear', 'step', 'plateau', 'cosine')


def get_scheduler(optimizer, opt):
    """Learning-rate scheduler by --lr_policy.

    linear: constant for n_epochs, then linear decay to zero over n_epochs_decay (stepped once per epoch);
    step: x0.1 every lr_decay_iters epochs; plateau: x0.2 when the metric stalls; cosine: cosine to zero.
    """
    if opt.lr_policy == 'linear':
        def lambda_rule(epoch):
            return 1.0 - max(0, epoch + opt.epoch_count - opt.n_epochs) / float(opt.n_epochs_decay + 1)
        return lr_scheduler.LambdaLR(optimizer, lr_lambda=lambda_rule)
    if opt.lr_policy == 'step':
        return lr_scheduler.StepLR(optimizer, step_size=opt.lr_decay_iters, gamma=0.1)
    if opt.lr_policy == 'plateau':
        return lr_scheduler.ReduceLROnPlateau(optimizer, mode='min', factor=0.2, threshold=0.01, patience=5)
    if opt.lr_policy == 'cosine':
        return lr_scheduler.CosineAnnealingLR(optimizer, T_max=opt.n_epochs + opt.n_epochs_decay, eta_min=0)
    raise ValueError(f"learning rate policy '{opt.lr_policy}' is not implemented; choose one of {', '.join(LR_POLICIES)}")

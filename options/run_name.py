"""--name auto (Ganzo's experiment hash): name a training run by a short hash of its options, so the same
options always give the same name (and --continue_train finds the run again) while different ones never clash.

Options that describe one run rather than what is trained (where to write, how often to print or display,
resume flags, GPUs; see RUN_OPTIONS) are left out of the hash; --seed counts only when given.
"""
import hashlib
import json

AUTO = 'auto'
# display and bookkeeping options that do not change what is trained
NOT_HASHED = {'print_freq', 'display_freq', 'update_html_freq', 'no_html', 'display_id', 'display_server',
              'display_port', 'display_env', 'display_ncols', 'display_winsize', 'html_page_size', 'plot_smoothing',
              'comet', 'comet_offline', 'comet_project', 'comet_workspace', 'comet_tags', 'log_level', 'tensorboard',
              'save_latest_freq', 'save_latest_minutes', 'save_epoch_freq', 'save_by_iter', 'epoch_count', 'verbose'}


def options_hash(options, run_options, seed_given, length=8):
    """Short hex digest of the option values that define a run."""
    skip = (set(run_options) | NOT_HASHED) - ({'seed'} if seed_given else set())
    relevant = {k: v for k, v in sorted(options.items()) if k not in skip}
    text = json.dumps(relevant, sort_keys=True, default=str)
    return hashlib.sha1(text.encode()).hexdigest()[:length]


def auto_name(opt, options, run_options, seed_given):
    """'<model>_<hash>' for the options of ``opt`` (``options``: its plain dict)."""
    return f'{opt.model}_{options_hash(options, run_options, seed_given)}'

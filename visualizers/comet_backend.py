"""comet_ml tracking backend (``--comet`` / ``--comet_offline``): parameters, git hash, losses and images,
online or as an offline archive to upload later."""
import os
import sys

from util import util
from visualizers.base import Backend, BackendUnavailable, losses_for_level, register_backend, server_unreachable


def comet_api_key():
    """The API key comet_ml would use (COMET_API_KEY, .comet.config here or in ~, COMET_CONFIG), or None."""
    from comet_ml.config import get_api_key, get_config
    return get_api_key(None, get_config())


def comet_server_unreachable(timeout=2.0):
    """Why the comet server (COMET_URL_OVERRIDE or comet.com) cannot be reached, or None when a connect works.

    comet_ml itself retries for about 40 s before giving up; this check costs at most ``timeout`` seconds.
    """
    from comet_ml.config import get_backend_address, get_config
    return server_unreachable(get_backend_address(get_config()), timeout)


@register_backend('comet')
class CometBackend(Backend):
    """comet_ml experiment: parameters, git hash and command, losses (--log_level), images, metrics.

    Online when an API key is configured and the server answers; with --comet_offline (or, with a clear
    message, when no key is found or the server cannot be reached) an OfflineExperiment writes
    checkpoints/NAME/comet/<key>.zip, uploaded later with ``comet upload <zip>``: no run loses its logs.
    """

    @staticmethod
    def modify_commandline_options(parser):
        parser.add_argument('--comet', action='store_true',
                            help='log to comet_ml: online with an API key (COMET_API_KEY or .comet.config), '
                                 'otherwise offline into [checkpoints_dir]/[name]/comet/')
        parser.add_argument('--comet_offline', action='store_true',
                            help='log to a comet_ml OfflineExperiment archive in [checkpoints_dir]/[name]/comet/ '
                                 '(implies --comet; upload later with comet upload <zip>)')
        parser.add_argument('--comet_project', type=str, default=None, help='comet project name')
        parser.add_argument('--comet_workspace', type=str, default=None, help='comet workspace (default: your own)')
        parser.add_argument('--comet_tags', type=str, default='', help='comma-separated tags of the comet experiment')
        parser.add_argument('--comet_exp_desc', type=str, default='',
                            help='description of the experiment this run belongs to (comet other "exp_desc")')
        parser.add_argument('--comet_note', type=str, default='', help="text note of this run (the comet experiment's notes)")
        parser.add_argument('--run_dir', type=str, default='',
                            help='launcher run folder (tools/experiment.py): comet_url.txt is written there too')
        return parser

    @staticmethod
    def enabled(opt):
        return getattr(opt, 'comet', False) or getattr(opt, 'comet_offline', False)

    def __init__(self, opt):
        self.opt = opt
        self.log_level = getattr(opt, 'log_level', 2)
        # comet_ml patches torch & co. for automatic logging; everything is logged explicitly here
        os.environ.setdefault('COMET_DISABLE_AUTO_LOGGING', '1')
        # its git metadata should describe the code that runs, whatever the working directory
        os.environ.setdefault('COMET_GIT_DIRECTORY', os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        try:
            import comet_ml
        except ImportError:
            raise BackendUnavailable('comet: comet_ml is not installed (pip install comet_ml); '
                                     'training goes on without comet')
        self.offline_dir = os.path.abspath(os.path.join(opt.checkpoints_dir, opt.name, 'comet'))
        self.offline = bool(getattr(opt, 'comet_offline', False))
        if not self.offline and not comet_api_key():
            print(f'comet: no API key found (set COMET_API_KEY or put api_key in ~/.comet.config); logging '
                  f'offline to {self.offline_dir} instead (upload later with `comet upload <zip>`)',
                  file=sys.stderr)
            self.offline = True
        kwargs = dict(project_name=getattr(opt, 'comet_project', None) or None,
                      workspace=getattr(opt, 'comet_workspace', None) or None,
                      log_code=False, log_graph=False, auto_param_logging=False, auto_metric_logging=False,
                      parse_args=False, auto_output_logging=False, log_git_metadata=True, log_git_patch=False,
                      log_env_details=False, display_summary_level=0)
        if not self.offline:
            problem = comet_server_unreachable()
            if problem is None:
                self.experiment = comet_ml.Experiment(**kwargs)
                if not getattr(self.experiment, 'alive', True):
                    problem = 'the server did not accept the experiment'
                    self.experiment.end()
            if problem is not None:
                print(f'comet: {problem}; logging offline to {self.offline_dir} instead (upload later with '
                      f'`comet upload <zip>`)', file=sys.stderr)
                self.offline = True
        if self.offline:
            util.mkdirs(self.offline_dir)
            self.experiment = comet_ml.OfflineExperiment(offline_directory=self.offline_dir, **kwargs)
        else:  # where to watch the run: beside its checkpoints and in the launcher's run folder (--run_dir)
            for folder in (os.path.join(opt.checkpoints_dir, opt.name), getattr(opt, 'run_dir', '')):
                if folder:
                    util.mkdirs(folder)
                    util.atomic_write_text(os.path.join(folder, 'comet_url.txt'), f'{self.experiment.url}\n')
        self._log_run(opt)

    def _log_run(self, opt):
        from util.reproducibility import git_info, library_versions, command_line
        exp = self.experiment
        exp.set_name(opt.name)
        params = {k: (str(v) if not isinstance(v, (int, float, str, bool, type(None))) else v)
                  for k, v in sorted(vars(opt).items())}
        exp.log_parameters(params)
        tags = [t.strip() for t in str(getattr(opt, 'comet_tags', '') or '').split(',') if t.strip()]
        if tags:
            exp.add_tags(tags)
        git = git_info()
        exp.log_others({'git_commit': git['commit'] or 'unknown', 'git_dirty': git['dirty'],
                        'command': command_line(), 'log_level': self.log_level})
        exp.log_others({f'version_{k}': str(v) for k, v in library_versions().items()})
        if getattr(opt, 'comet_exp_desc', ''):
            exp.log_other('exp_desc', opt.comet_exp_desc)
        if getattr(opt, 'comet_note', ''):
            exp.log_other('note', opt.comet_note)
            if hasattr(exp, 'set_notes'):  # the experiment's Notes tab (comet_ml >= 3.33)
                exp.set_notes(opt.comet_note)

    def wants_images(self, save):
        return save and self.log_level >= 1

    def display(self, images, epoch, total_iters, save):
        from PIL import Image
        for label, image in images.items():
            self.experiment.log_image(Image.fromarray(image), name=label, step=total_iters)

    def losses(self, epoch, counter_ratio, losses, total_iters):
        values = losses_for_level(losses, self.log_level, self.aggregated_names)
        if values:
            self.experiment.log_metrics(values, step=total_iters, epoch=epoch)

    def metrics(self, epoch, metrics, split):
        if self.log_level >= 1:
            prefix = f'{split}_' if split else ''
            self.experiment.log_metrics({f'{prefix}{k}': float(v) for k, v in metrics.items()}, epoch=epoch)

    def text(self, text, step):
        self.experiment.log_text(text, step=step)

    def parameters(self, params):
        for name, value in params.items():
            self.experiment.log_parameter(name, value)

    def confusion_matrix(self, matrix, title, step):
        self.experiment.log_confusion_matrix(matrix=matrix, title=title, file_name=f'{title}.json', step=step)

    def archive_path(self):
        return os.path.join(self.offline_dir, f'{self.experiment.get_key()}.zip')

    def close(self):
        self.experiment.end()
        if self.offline:
            print(f'comet: offline experiment saved to {self.archive_path()}; upload it with '
                  f'`comet upload {self.archive_path()}` (needs an API key)', file=sys.stderr)


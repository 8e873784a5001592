"""Demo web app for a trained run of any model of the zoo (Gradio).

    python app.py --name facades_pix2pix [--checkpoints_dir ./checkpoints] [--port 7860] [--amp bf16]

The run's options are read from checkpoints/NAME/train_opt.yaml as in test.py; see docs/app.md for every page.
"""
import sys

from demo_app.server import main
from util.cli import run_cli

if __name__ == '__main__':
    sys.exit(run_cli(main))

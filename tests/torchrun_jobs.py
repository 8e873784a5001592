"""Several train.py runs one after the other in the same torchrun workers, so that the imports and the process
group are paid once (tests/test_distributed_models.py trains every model this way):

    python -m torch.distributed.run --standalone --nproc_per_node 2 tests/torchrun_jobs.py JOBS.json

JOBS.json: a list of {"args": [train.py arguments], "done": file}. Rank 0 writes each job's "done" file when it
succeeded; the first failure ends the workers (torchrun then stops the others).
"""
import json
import os
import sys

import torch.distributed as dist

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from util.util import load_script  # noqa: E402


def main(jobs_path):
    with open(jobs_path) as f:
        jobs = json.load(f)
    dist.init_process_group('gloo')  # train.py uses this group and leaves it in place (util/distributed.py: init)
    train = load_script('train')
    for job in jobs:
        status = train.main(job['args'])
        if status != 0:
            sys.exit(f'train.py {" ".join(job["args"])} ended with status {status}')
        if dist.get_rank() == 0:
            with open(job['done'], 'w') as f:
                f.write('ok\n')
    dist.barrier()
    dist.destroy_process_group()


if __name__ == '__main__':
    main(sys.argv[1])

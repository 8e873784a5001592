"""The training loop behind train.py: the Trainer (training/trainer.py), the run-folder checks before the first
write (run_folder.py), the best networks (best_checkpoint.py, --save_best), held-out evaluation during training
(periodic_eval.py, --eval_freq) and what --lr_policy plateau steps on (plateau.py)."""

"""Image quality metrics, and the held-out evaluation during training (periodic_eval.py)."""

"""Tools of the unconditional GANs (--model gan): python -m tools.gan.<verb>."""

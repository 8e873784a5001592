"""Parameter counts of the omnigan networks, printed when the model is created."""


def count_parameters(module, trainable_only=False):
    """Number of (trainable) parameters of a module; 0 for None."""
    if module is None:
        return 0
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)


def parameter_report(G, D=None, C=None):
    """Multi-line report: totals for G, D, C and a breakdown of G by encoder and decoder."""
    lines = [f"omnigan parameters: G {count_parameters(G):,}  D {count_parameters(D):,}  C {count_parameters(C):,}"]
    lines.append(f"  G.encoder {count_parameters(G.encoder):,} "
                 f"({count_parameters(G.encoder, trainable_only=True):,} trainable)")
    for name, dec in G.decoders.items():
        lines.append(f"  G.decoders[{name}] {count_parameters(dec):,}")
    return "\n".join(lines)

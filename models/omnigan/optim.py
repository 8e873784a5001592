"""ExtraAdam: Adam with an extrapolation (extragradient) step, the optimizer of the published omnigan.

Extragradient (Korpelevich 1976; for GANs Gidel et al., "A Variational Inequality Perspective on Generative
Adversarial Networks", ICLR 2019, Extra-Adam) alternates two half steps from the same anchor point x_t:

    extrapolation:  x_{t+1/2} = x_t - u(g(x_t))          (look ahead with the gradient at x_t)
    update:         x_{t+1}   = x_t - u(g(x_{t+1/2}))    (move the anchor with the look-ahead gradient)

where u is Adam's step ``lr * m_hat / (sqrt(v_hat) + eps)``. Both half steps update Adam's moment estimates
and step count.

Parameters without a gradient (``idle``): under the torch 1.4 the published code pins, ``zero_grad()`` zeroed
gradients instead of dropping them, so a parameter that had a gradient once kept a zero one and Adam's momentum
kept moving it (the adaptation decoders after the phase switch, a frozen encoder); a parameter that never had one
stayed put (cc-ai/omnigan@432cfa1 omnigan/optim.py:93-102, :121-123). ``idle="momentum"`` reproduces that: a
parameter without gradient that this optimizer has already stepped (it has Adam moments) takes a zero gradient.
Reading it from the moments rather than from kept gradient tensors makes it survive a checkpoint, so resumed runs
continue exactly. ``idle="anchor"`` leaves such a parameter alone (and returns it to its anchor at an update).

The published trainer calls ``extrapolation()`` on even and ``step()`` on odd iterations. Here ``step()``
does that alternation by itself (first call extrapolates, second updates, ...), so ExtraAdam drops into any
loop that calls ``optimizer.step()`` once per iteration; ``extrapolation()`` and ``update()`` are public for
loops that want to drive the two half steps explicitly.
"""
import math

import torch

IDLE_CHOICES = ("momentum", "anchor")


class ExtraAdam(torch.optim.Optimizer):
    """Extragradient Adam; see the module docstring. Arguments as torch.optim.Adam (no amsgrad), plus `idle`."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, idle="momentum"):
        if lr < 0:
            raise ValueError(f"ExtraAdam: invalid learning rate {lr}")
        if eps < 0:
            raise ValueError(f"ExtraAdam: invalid eps {eps}")
        if not (0.0 <= betas[0] < 1.0 and 0.0 <= betas[1] < 1.0):
            raise ValueError(f"ExtraAdam: betas must lie in [0, 1), got {betas}")
        if idle not in IDLE_CHOICES:
            raise ValueError(f"ExtraAdam: idle must be one of {', '.join(IDLE_CHOICES)}, got {idle!r}")
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay))
        self.idle = idle
        # True between an extrapolation and its update: the anchors are stored in state['anchor']
        self.state["extrapolated"] = False

    def _gradient(self, p):
        """p's gradient; for idle="momentum", a zero one when p has none but already has Adam moments."""
        if p.grad is None and self.idle == "momentum" and "step" in self.state[p]:
            return torch.zeros_like(p)
        return p.grad

    def _adam_direction(self, p, group, grad):
        """Advance p's moment estimates with `grad`; return Adam's step (to subtract)."""
        if grad.is_sparse:
            raise RuntimeError("ExtraAdam does not support sparse gradients")
        if group["weight_decay"]:
            grad = grad.add(p, alpha=group["weight_decay"])
        state = self.state[p]
        if "step" not in state:
            state["step"] = 0
            state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
            state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
        beta1, beta2 = group["betas"]
        state["step"] += 1
        state["exp_avg"].mul_(beta1).add_(grad, alpha=1 - beta1)
        state["exp_avg_sq"].mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        t = state["step"]
        step_size = group["lr"] * math.sqrt(1 - beta2 ** t) / (1 - beta1 ** t)
        return state["exp_avg"] / (state["exp_avg_sq"].sqrt() + group["eps"]) * step_size

    @torch.no_grad()
    def extrapolation(self):
        """Look-ahead half step from the anchor; stores the anchor for the next update()."""
        if self.state["extrapolated"]:
            raise RuntimeError("ExtraAdam: extrapolation() called twice without an update() in between")
        for group in self.param_groups:
            for p in group["params"]:
                self.state[p]["anchor"] = p.detach().clone()
                grad = self._gradient(p)
                if grad is not None:
                    p.sub_(self._adam_direction(p, group, grad))
        self.state["extrapolated"] = True

    @torch.no_grad()
    def update(self):
        """Move the anchor with the gradient taken at the extrapolated point."""
        if not self.state["extrapolated"]:
            raise RuntimeError("ExtraAdam: update() needs an extrapolation() first")
        for group in self.param_groups:
            for p in group["params"]:
                anchor = self.state[p].pop("anchor")
                grad = self._gradient(p)
                if grad is not None:
                    p.copy_(anchor.sub_(self._adam_direction(p, group, grad)))
                elif self.idle == "anchor":
                    p.copy_(anchor)
                # idle="momentum" and no gradient yet: published step() leaves p where it is
        self.state["extrapolated"] = False

    def step(self, closure=None):
        """Alternate: extrapolation on the 1st, 3rd, ... call, update on the 2nd, 4th, ..."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        if self.state["extrapolated"]:
            self.update()
        else:
            self.extrapolation()
        return loss

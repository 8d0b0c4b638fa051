"""A hand-written training step for MLPs without BatchNorm: forward, cross-entropy and backward as a few dozen
ATen calls instead of autograd's graph (about 2x faster per step at these sizes, where per-call overhead dominates).

The gradients are autograd's (tested on random plain, residual and sine nets), written into the parameters' own
.grad views, so the fused Adam step, gradient probes and everything else see them as if backward() had run.

Tensors carry a leading axis of length 1 and every product is one torch.baddbmm/bmm: the run computes each product
as a stack of runs computes its share (runwise), so stacked training equals it bit for bit at every batch size.
Products under 400 multiply-adds (batch size 1) thus go through ATen's own loop, not MKL as autograd's do: there
the gradients equal autograd's to rounding, elsewhere bit for bit.
"""

from typing import TypeGuard

import torch
from torch import nn

from nnrepro.europe.mlp import MLP

MEAN = 1  # ATen's reduction code for "mean"
IGNORE = -100  # cross_entropy's default ignore_index


def _grad(param: torch.Tensor) -> torch.Tensor:
    if param.grad is None:
        raise ValueError("fastmlp.Step needs every parameter's .grad set first (train.flatten_parameters)")
    return param.grad


def supports(model: nn.Module) -> TypeGuard[MLP]:
    """Plain or residual MLPs; BatchNorm goes through autograd."""
    return isinstance(model, MLP) and all(isinstance(norm, nn.Identity) for norm in model.norms)


class Step:
    """loss, logits = step(x, y): the mean cross-entropy of model(x) and its gradients in every parameter's .grad.

    The parameters' .grad must already be tensors (train.flatten_parameters makes them views of one buffer); they
    are overwritten, not accumulated, so no zeroing is needed.
    """

    def __init__(self, model: MLP):
        self.model = model
        linears = model.linears()
        # (1, ...) views: Adam's updates show through, and the backward pass writes into the .grad buffers
        self.weights_t = [linear.weight.detach().t().unsqueeze(0) for linear in linears]
        self.weights = [linear.weight.detach().unsqueeze(0) for linear in linears]
        self.biases = [linear.bias.detach().view(1, 1, -1) for linear in linears]
        self.grads = [(_grad(linear.weight).unsqueeze(0), _grad(linear.bias).unsqueeze(0)) for linear in linears]
        self.residual, self.scale = model.residual, model.branch_scale
        self.one = torch.ones((), device=self.biases[0].device)

    @torch.no_grad()
    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        inputs, activations, logits = self._forward(self.model.featurize(x).unsqueeze(0))
        logits = logits[0]
        logp = torch._log_softmax(logits, 1, False)
        loss, total_weight = torch.ops.aten.nll_loss_forward(logp, y, None, MEAN, IGNORE)
        grad = torch.ops.aten.nll_loss_backward(self.one, logp, y, None, MEAN, IGNORE, total_weight)
        grad = torch.ops.aten._log_softmax_backward_data(grad, logp, 1, logp.dtype)
        self._backward(grad.unsqueeze(0), inputs, activations)
        return loss, logits

    def _forward(self, h: torch.Tensor):
        """Each layer's input and each hidden layer's ReLU output (what the backward pass needs), and the logits."""
        inputs, activations = [], []
        last = len(self.weights) - 1
        for i in range(last):
            inputs.append(h)
            a = torch.relu(torch.baddbmm(self.biases[i], h, self.weights_t[i]))
            activations.append(a)
            h = h + self.scale * a if self.residual and i > 0 else a  # as MLP.forward rounds it
        inputs.append(h)
        return inputs, activations, torch.baddbmm(self.biases[last], h, self.weights_t[last])

    def _backward(self, grad: torch.Tensor, inputs: list, activations: list) -> None:
        """grad (of the logits) back through the layers; `grad_h` is the gradient of each layer's output h."""
        last = len(self.weights) - 1
        self._linear_grads(last, grad, inputs[last])
        grad_h = torch.bmm(grad, self.weights[last])
        for i in range(last - 1, -1, -1):
            branch = self.residual and i > 0
            grad_a = grad_h * self.scale if branch else grad_h
            grad_z = torch.ops.aten.threshold_backward(grad_a, activations[i], 0)
            self._linear_grads(i, grad_z, inputs[i])
            if i > 0:
                grad_in = torch.bmm(grad_z, self.weights[i])
                grad_h = grad_h + grad_in if branch else grad_in

    def _linear_grads(self, i: int, grad_z: torch.Tensor, layer_input: torch.Tensor) -> None:
        weight_grad, bias_grad = self.grads[i]
        torch.bmm(grad_z.transpose(1, 2), layer_input, out=weight_grad)
        torch.sum(grad_z, 1, out=bias_grad)


class Adam:
    """torch.optim.Adam(fused=True) on one flat parameter, without the optimizer's per-step Python (hooks, grouping,
    profiler records): a step is two calls, and the same arithmetic (tested bit for bit)."""

    def __init__(self, param: torch.Tensor, lr: float, betas=(0.9, 0.999), eps: float = 1e-8):
        self.param, self.grad = param.detach(), _grad(param)
        self.exp_avg, self.exp_avg_sq = torch.zeros_like(self.param), torch.zeros_like(self.param)
        self.steps = torch.zeros((), dtype=torch.float32, device=self.param.device)  # fused Adam's step counter
        self.lr, (self.beta1, self.beta2), self.eps = lr, betas, eps

    def step(self) -> None:
        self.steps.add_(1)
        torch._fused_adam_(
            [self.param],
            [self.grad],
            [self.exp_avg],
            [self.exp_avg_sq],
            [],
            [self.steps],
            amsgrad=False,
            lr=self.lr,
            beta1=self.beta1,
            beta2=self.beta2,
            weight_decay=0.0,
            eps=self.eps,
            maximize=False,
        )

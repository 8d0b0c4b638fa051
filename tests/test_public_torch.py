"""src/ calls public PyTorch only: no torch._* (compiler settings, torch._dynamo.config, aside), no torch.ops.*, no
ATen's native_* kernels that torch happens to expose, however torch or its submodules are imported or aliased."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ALLOWED = ("torch._dynamo.config",)


def _private(dotted: str) -> bool:
    parts = dotted.split(".")
    within = any(dotted == a or dotted.startswith(a + ".") or a.startswith(dotted + ".") for a in ALLOWED)
    if parts[0] != "torch" or within:  # an allowed name, or the start of one (torch._dynamo of torch._dynamo.config)
        return False
    internal = [p for p in parts[1:] if (p.startswith("_") and not p.startswith("__")) or p.startswith("native_")]
    return parts[1:2] == ["ops"] or bool(internal)


def private_uses(source: str) -> list[str]:
    """Every private torch name the source imports or reaches through attributes, as `line: torch.x.y`."""
    aliases: dict[str, str] = {}  # local name -> the torch module or name it stands for
    found = []
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "torch":
                    aliases[alias.asname or alias.name.split(".")[0]] = alias.name if alias.asname else "torch"
                    if _private(alias.name):
                        found.append(f"{node.lineno}: {alias.name}")
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "torch":
            for alias in node.names:
                dotted = f"{node.module}.{alias.name}"
                aliases[alias.asname or alias.name] = dotted
                if _private(dotted):
                    found.append(f"{node.lineno}: {dotted}")
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            chain, inner = [node.attr], node.value
            while isinstance(inner, ast.Attribute):
                chain.append(inner.attr)
                inner = inner.value
            if isinstance(inner, ast.Name) and inner.id in aliases:
                dotted = ".".join([aliases[inner.id], *reversed(chain)])
                if _private(dotted):
                    found.append(f"{node.lineno}: {dotted}")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "getattr":
            target = node.args[0] if node.args else None
            name = node.args[1] if len(node.args) > 1 else None
            if isinstance(target, ast.Name) and target.id in aliases and isinstance(name, ast.Constant):
                dotted = f"{aliases[target.id]}.{name.value}"
                if _private(dotted):
                    found.append(f"{node.lineno}: {dotted}")
    return sorted(set(found))


def test_src_calls_no_private_torch():
    found = {
        str(path.relative_to(ROOT)): uses
        for path in sorted((ROOT / "src").rglob("*.py"))
        if (uses := private_uses(path.read_text()))
    }
    assert not found, found


@pytest.mark.parametrize(
    "snippet",
    [
        "import torch\ntorch._fused_adam_(a, b)",
        "import torch\ntorch._foreach_norm(xs)",
        "import torch\ntorch.ops.aten.nll_loss_backward(g)",
        "import torch as t\nt._log_softmax(x, 1, False)",
        "from torch import ops\nops.aten.threshold_backward(g, a, 0)",
        "from torch import _foreach_mul_\n",
        "import torch.nn.functional as F\nF._canonical_mask(m)",
        "import torch\ntorch.native_batch_norm(x, w, b, m, v, True, 0.1, 1e-5)",
        "import torch\ngetattr(torch, '_foreach_add_')(a, b)",
        "import torch\ntorch._dynamo.reset()",
        "import torch._C\n",
    ],
)
def test_each_kind_of_private_call_is_caught(snippet):
    assert private_uses(snippet)


def test_public_calls_and_compiler_settings_pass():
    source = (
        "import torch\nimport torch.nn.functional as F\nfrom torch import nn\n"
        "torch.baddbmm(b, w, h)\nF.cross_entropy(x, y)\nnn.Linear(2, 3)\ntorch.__version__\n"
        "torch._dynamo.config.cache_size_limit = 64\nx._private_of_a_tensor\n"
    )
    assert private_uses(source) == []

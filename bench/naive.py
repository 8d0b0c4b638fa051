"""Naive references, written the way course code usually is: per-row Datasets, shuffling DataLoaders,
`.item()` every batch, evaluation through DataLoaders, ImageFolder with PIL transforms, fp32, and the
backbone recomputed for every probe learning rate. Used only by the benchmarks, never by the pipeline."""

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

from nnrepro.europe.mlp import MLP
from nnrepro.faces import cnn

CPU = torch.device("cpu")


class EuropeDataset(Dataset):
    def __init__(self, csv_path, rows=None):
        import pandas as pd  # here, not at the top: bench/gpu.py imports this module where pandas is missing

        frame = pd.read_csv(csv_path, index_col=0)
        if rows is not None:
            frame = frame.iloc[:rows]
        self.x = frame[["long", "lat"]].to_numpy(dtype=np.float32)
        self.y = frame["country"].to_numpy()

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        return torch.tensor(self.x[i]), torch.tensor(self.y[i])


def evaluate(model, loader):
    model.eval()
    total, correct, count = 0.0, 0, 0
    with torch.no_grad():
        for xb, yb in loader:
            out = model(xb)
            total += F.cross_entropy(out, yb).item() * len(yb)
            correct += (out.argmax(1) == yb).sum().item()
            count += len(yb)
    model.train()
    return total / count, correct / count


def mlp_epochs(data_dir, *, depth, width, batch_size, epochs, lr, seed, rows=None, probe_layers=(),
               evaluate_splits=True):
    """Train like a course notebook; returns (validation accuracy, per-epoch probed squared grad norms)."""
    from nnrepro.europe.points import NUM_CLASSES  # points imports pandas (see EuropeDataset)

    torch.manual_seed(seed)
    model = MLP(depth, width, NUM_CLASSES)
    train = DataLoader(EuropeDataset(f"{data_dir}/train.csv", rows), batch_size=batch_size, shuffle=True)
    val = DataLoader(EuropeDataset(f"{data_dir}/validation.csv"), batch_size=1024)
    test = DataLoader(EuropeDataset(f"{data_dir}/test.csv"), batch_size=1024)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    probes, accuracy = [], None
    for _ in range(epochs):
        running, norms = 0.0, [0.0] * len(probe_layers)
        for xb, yb in train:
            optimizer.zero_grad()
            loss = F.cross_entropy(model(xb), yb)
            loss.backward()
            for k, layer in enumerate(probe_layers):
                norms[k] += model.hidden[layer].weight.grad.norm().item() ** 2
            optimizer.step()
            running += loss.item()
        probes.append([n / len(train) for n in norms])
        if evaluate_splits:
            accuracy = evaluate(model, val)[1]
            evaluate(model, test)
    return accuracy, probes


def image_folder(root, size, normalise):
    from torchvision import datasets, transforms

    steps = [transforms.Resize((size, size)), transforms.ToTensor()]
    if normalise:
        steps.append(transforms.Normalize(cnn.MEAN, cnn.STD))
    return datasets.ImageFolder(root, transform=transforms.Compose(steps))


def cnn_net(baseline, settings, seed, device=CPU):
    """The cell's network: seeded, the backbone frozen for probe, on the device."""
    torch.manual_seed(seed)
    net = cnn.build(settings.arch) if baseline == "scratch" else cnn.pretrained(settings)
    if baseline == "probe":
        cnn.freeze(net[0])
    return net.to(device)


def cnn_train(net, faces_dir, baseline, lr, settings, device=CPU):
    """One cell's training the usual way: ImageFolder + DataLoader, fp32, the backbone run for every probe batch."""
    optimizer = torch.optim.Adam([p for p in net.parameters() if p.requires_grad], lr=lr)
    loader = DataLoader(image_folder(f"{faces_dir}/train", settings.image_size, baseline != "scratch"),
                        batch_size=settings.batch_size, shuffle=True)
    net.train()
    if baseline == "probe":
        net[0].eval()
    for _ in range(settings.epochs):
        for xb, yb in loader:
            xb, yb = xb.to(device), yb.to(device)
            optimizer.zero_grad()
            loss = F.binary_cross_entropy_with_logits(net(xb).flatten(), yb.float())
            loss.backward()
            optimizer.step()
            loss.item()


def cnn_accuracy(net, faces_dir, baseline, settings, device=CPU):
    """Validation and test accuracy through DataLoaders, batch by batch."""
    accuracies = {}
    net.eval()
    for split in ("val", "test"):
        correct, count = 0, 0
        with torch.no_grad():
            for xb, yb in DataLoader(image_folder(f"{faces_dir}/{split}", settings.image_size, baseline != "scratch"),
                                     batch_size=64):
                correct += ((net(xb.to(device)).flatten() > 0).long().cpu() == yb).sum().item()
                count += len(yb)
        accuracies[split] = correct / count
    return accuracies


def cnn_cell(faces_dir, baseline, lr, settings, seed, device=CPU):
    """One (baseline, lr) cell the usual way; returns its validation and test accuracy."""
    net = cnn_net(baseline, settings, seed, device)
    cnn_train(net, faces_dir, baseline, lr, settings, device)
    return cnn_accuracy(net, faces_dir, baseline, settings, device)


def xgboost_pixels(faces_dir, crop, seed, threads):
    """Pixels read with PIL through ImageFolder, then XGBoost with default parameters."""
    import xgboost
    from torchvision import datasets, transforms

    def load(split):
        folder = datasets.ImageFolder(f"{faces_dir}/{split}", transform=transforms.Compose(
            [transforms.CenterCrop(crop), transforms.PILToTensor()]))
        pairs = [folder[i] for i in range(len(folder))]
        return np.stack([p[0].numpy().reshape(-1) for p in pairs]), np.array([p[1] for p in pairs])

    (xt, yt), (xv, yv) = load("train"), load("test")
    booster = xgboost.train({"objective": "binary:logistic", "seed": seed, "nthread": threads},
                            xgboost.DMatrix(xt, label=yt), num_boost_round=100)
    return float(((booster.predict(xgboost.DMatrix(xv)) > 0.5) == yv).mean())

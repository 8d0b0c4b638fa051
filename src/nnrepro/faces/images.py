"""The real-vs-generated image data: embedded generator, folder validation, the course layout and uint8 cache."""

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from nnrepro import imagecache
from nnrepro.errors import UserError

SPLITS = ("train", "validation", "test")
FOLDERS = {"train": "train", "validation": "val", "test": "test"}  # the course layout's folder of each split
CLASSES = ("0_real", "1_fake")  # label = index
CACHE = "cache"  # the decoded images, imagecache's format
# Photographs that ship inside wheels (scikit-image's data folder); drawings, text and tiny images left out.
SKIMAGE_PHOTOS = (
    "astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg", "retina.jpg", "hubble_deep_field.jpg",
    "ihc.png", "motorcycle_left.png", "camera.png", "brick.png", "grass.png", "gravel.png", "moon.png",
    "coins.png", "cell.png",
)
MARGIN = 4  # px rendered around the crop so that upsampling borders and the 0/1 offset stay outside it


# ---------------------------------------------------------------- embedded generator

def photo_paths() -> list[Path]:
    import matplotlib.cbook
    import skimage

    folder = Path(skimage.__file__).parent / "data"
    hopper = Path(matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))
    return [folder / name for name in SKIMAGE_PHOTOS] + [hopper]


def load_photos() -> list[torch.Tensor]:
    """Every source photograph as float64 [3, H, W] in [0, 1]."""
    return [decode_with_pil(path).double() / 255 for path in photo_paths()]


def bilinear_kernel(size: int) -> np.ndarray:
    """1-D kernel of bilinear x2 upsampling for a stride-2 transposed convolution of this size."""
    return {3: np.array([0.5, 1.0, 0.5]), 4: np.array([0.25, 0.75, 0.75, 0.25])}[size]


def _perturbed(kernel_1d: np.ndarray, rng: np.random.Generator, total: float) -> torch.Tensor:
    """A per-channel 2-D kernel: the separable kernel times random factors, rescaled to sum to `total`."""
    base = np.outer(kernel_1d, kernel_1d)
    kernels = base * (1 + rng.normal(0, 0.15, (3, *base.shape)))
    kernels *= total / kernels.sum(axis=(1, 2), keepdims=True)
    return torch.from_numpy(kernels).unsqueeze(1)  # [3, 1, k, k], depthwise


def generator_upsample(x: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
    """x2 upsampling as a generator's layer would do it, [1, 3, h, w] -> [1, 3, 2h, 2w]."""
    kind = rng.integers(3)
    if kind == 2:  # nearest x2 then a 3x3 smoothing convolution
        weight = _perturbed(np.array([0.25, 0.5, 0.25]), rng, 1.0)
        up = F.interpolate(x, scale_factor=2, mode="nearest")
        return F.conv2d(F.pad(up, (1, 1, 1, 1), mode="replicate"), weight, groups=3)
    size = 3 if kind == 0 else 4
    weight = _perturbed(bilinear_kernel(size), rng, 4.0)  # stride 2: each output sums a quarter of the kernel
    return F.conv_transpose2d(x, weight, stride=2, padding=1, output_padding=size % 2, groups=3)


def squash(x: torch.Tensor, gain: float) -> torch.Tensor:
    """tanh output non-linearity of a generator, mapping [0, 1] onto [0, 1]."""
    return 0.5 + 0.5 * torch.tanh(gain * (x - 0.5)) / np.tanh(gain / 2)


def _area(x: torch.Tensor, side: int) -> torch.Tensor:
    return F.interpolate(x, size=(side, side), mode="area")


def render(photo: torch.Tensor, size: int, fake: bool, rng: np.random.Generator) -> torch.Tensor:
    """One uint8 [3, size, size] image: a random crop of `photo`, real or generated."""
    full = size + 2 * MARGIN
    _, height, width = photo.shape
    scale = np.exp(rng.uniform(0, np.log(max(1.0, min(4.0, min(height, width) / full)))))
    region = int(full * scale)
    top, left = rng.integers(height - region + 1), rng.integers(width - region + 1)
    x = photo[None, :, top:top + region, left:left + region]
    if rng.random() < 0.5:
        x = x.flip(3)
    if fake:
        x = squash(generator_upsample(_area(x, full // 2), rng), rng.uniform(1.0, 3.0))
    else:
        x = _area(x, full)
    x = x + torch.from_numpy(rng.normal(0, rng.uniform(1, 3) / 255, x.shape))  # sensor noise, both classes
    dy, dx = rng.integers(2, size=2)  # without this offset a linear model on pixels finds the upsampling grid
    x = x[0, :, MARGIN - 1 + dy:MARGIN - 1 + dy + size, MARGIN - 1 + dx:MARGIN - 1 + dx + size]
    return (x * 255).round().clamp(0, 255).to(torch.uint8)


def generate(sizes: dict, size: int, seed: int, photos: list[torch.Tensor] | None = None) -> dict:
    """Per split: uint8 images [n, 3, size, size], labels (half real then half fake) and file names, rendered
    from `photos` (float [3, H, W] in [0, 1]; default load_photos())."""
    photos = load_photos() if photos is None else photos
    data = {}
    for index, split in enumerate(SPLITS):
        rng = np.random.default_rng([seed, index])  # one stream per split: resizing one leaves the others
        n = sizes[split]
        labels = np.repeat([0, 1], [n - n // 2, n // 2])
        images = [render(photos[rng.integers(len(photos))], size, bool(y), rng) for y in labels]
        names = [f"{FOLDERS[split]}/{CLASSES[y]}/{i:05d}.png" for i, y in enumerate(labels)]
        data[split] = {"images": torch.stack(images), "labels": torch.tensor(labels), "names": names}
    return data


# ---------------------------------------------------------------- user folders

def decode(path: Path) -> torch.Tensor:
    """uint8 [3, H, W] RGB; torchvision's decoder (it releases the GIL, so threads scale), else PIL's formats."""
    from torchvision.io import ImageReadMode, decode_image

    try:
        return decode_image(str(path), mode=ImageReadMode.RGB)
    except (RuntimeError, ValueError, OSError):
        return decode_with_pil(path)  # BMP, TIFF, ... or a damaged file, which PIL then names


def decode_with_pil(path: Path) -> torch.Tensor:
    """uint8 [3, H, W] RGB from any image PIL reads; one-line UserError when it cannot be decoded."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            image.load()
            # Palette transparency is only honoured through RGBA.
            rgba = image.convert("RGBA") if image.mode in ("P", "PA", "LA") else image
            rgb = np.asarray(rgba.convert("RGB"))
    except (UnidentifiedImageError, OSError, ValueError) as err:
        raise UserError(f"{path} cannot be read as an image ({err}): replace or delete that file") from None
    return torch.from_numpy(rgb.copy()).permute(2, 0, 1)


def fit(image: torch.Tensor, size: int, path) -> torch.Tensor:
    """Shorter side resized to `size` (antialiased), then the centre square crop."""
    from torchvision.transforms.v2 import functional as TF

    if min(image.shape[1:]) < size:
        raise UserError(
            f"{path} is {image.shape[2]}x{image.shape[1]} px, smaller than the {size} px crop: "
            "use larger images or lower faces.image_size in params.yaml"
        )
    resized = TF.resize(image, size, antialias=True)
    return TF.center_crop(resized, [size, size])


def list_folder(image_dir) -> dict:
    """split -> list of (path, label) in the course layout; one-line errors for a wrong layout."""
    root = Path(image_dir)
    if not str(image_dir) or not root.is_dir():
        raise UserError(
            f"faces.image_dir {str(image_dir)!r} is not a folder: set it in params.yaml to a folder holding "
            f"{'/, '.join(FOLDERS.values())}/, each with {' and '.join(CLASSES)}/"
        )
    files: dict[str, list] = {}
    for split in SPLITS:
        files[split] = []
        for label, name in enumerate(CLASSES):
            folder = root / FOLDERS[split] / name
            if not folder.is_dir():
                raise UserError(f"{folder} is missing: the course layout is {{train,val,test}}/{{0_real,1_fake}}/")
            found = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
            if not found:
                raise UserError(f"{folder} holds no images: every split needs both classes")
            files[split] += [(p, label) for p in found]
    return files


def layout_name(split: str, path: Path, label: int) -> str:
    return f"{FOLDERS[split]}/{CLASSES[label]}/{path.name}"


def decode_folder(files: dict, size: int, cache, workers: int | None = None) -> None:
    """Decode every listed file into the cache at `cache`, one thread per core, straight into its memory map:
    a set larger than memory never has to fit in it."""
    from concurrent.futures import ThreadPoolExecutor

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the parallelism is across images
    try:
        _decode_all(files, size, cache, ThreadPoolExecutor(workers or os.cpu_count() or 1))
    finally:
        torch.set_num_threads(threads)
    imagecache.write_index(cache, {s: [y for _, y in f] for s, f in files.items()},
                           {s: [layout_name(s, p, y) for p, y in f] for s, f in files.items()})


def _decode_all(files: dict, size: int, cache, pool) -> None:
    with pool:
        for split, listed in files.items():
            images = imagecache.allocate(cache, split, len(listed), size)

            def fill(row: int, listed=listed, images=images) -> None:  # this split's, bound now
                path = listed[row][0]
                images[row] = fit(decode(path), size, path).numpy()

            list(pool.map(fill, range(len(listed))))  # re-raises the first file's error
            images.flush()


# ---------------------------------------------------------------- outputs

def prepare(config, seed: int, out) -> dict:
    """The course layout and the decoded cache from params' faces section, swapped in at `out` only when complete;
    returns the cache."""
    source = config.choice("faces.source", ["embedded", "folder"])
    image_dir = config.text("faces.image_dir")
    size = config.integer("faces.image_size", 8)
    sizes = {s: config.integer(f"faces.n_{s}", 2) for s in SPLITS}  # read either way: DVC declares them
    with staging(out) as tmp:
        if source == "folder":
            files = list_folder(image_dir)
            decode_folder(files, size, tmp / CACHE)
            copy_layout(files, tmp)
        else:
            write(tmp, generate(sizes, size, seed))
    return imagecache.load(Path(out) / CACHE)


def write(folder, data: dict) -> None:
    """In-memory data as PNGs in the course layout plus the cache."""
    from PIL import Image

    for split in data.values():
        for image, name in zip(split["images"], split["names"]):
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(image.permute(1, 2, 0).numpy()).save(folder / name)
    imagecache.store(data, folder / CACHE)


def copy_layout(files: dict, folder: Path) -> None:
    for split, listed in files.items():
        for path, label in listed:
            target = folder / layout_name(split, path, label)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)


@contextlib.contextmanager
def staging(out):
    """A temporary folder beside `out` that replaces it when the block succeeds; `out` is untouched otherwise."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}."))
    try:
        yield tmp
        _swap(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _swap(new: Path, out: Path) -> None:
    old = out.parent / f".{out.name}.old"
    shutil.rmtree(old, ignore_errors=True)
    if out.exists():
        os.replace(out, old)
    os.replace(new, out)
    shutil.rmtree(old, ignore_errors=True)


class Images:
    """uint8 images [n, 3, S, S] memory-mapped from the cache: rows are read from disk only when indexed."""

    def __init__(self, array: np.ndarray):
        self.array = array
        self.shape, self.nbytes = array.shape, array.nbytes

    def __len__(self) -> int:
        return len(self.array)

    def __getitem__(self, index) -> torch.Tensor:
        if isinstance(index, torch.Tensor):
            index = index.numpy()
        return torch.from_numpy(np.array(self.array[index]))  # a copy: the map itself is read-only

    def __array__(self, dtype=None, copy=None):
        return np.asarray(self.array, dtype=dtype)

    def load(self) -> torch.Tensor:
        return self[:]


def load_cache(path) -> dict:
    """The cache `prepare` wrote: split -> images (Images, memory-mapped), labels int64 [n], names."""
    return {split: {"images": Images(d["images"]), "labels": torch.from_numpy(d["labels"]), "names": d["names"]}
            for split, d in imagecache.load(path).items()}

"""The real-vs-generated image data: embedded generator, folder validation, the course layout and uint8 cache."""

import contextlib
import os
import shutil
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from nnrepro import imagecache, io, params
from nnrepro.errors import UserError
from nnrepro.runtime.device import available_cpus

SPLITS = ("train", "validation", "test")
FOLDERS = {"train": "train", "validation": "val", "test": "test"}  # the course layout's folder of each split
CLASSES = ("0_real", "1_fake")  # label = index
CACHE = "cache"  # the decoded images, imagecache's format
# Photographs that ship inside wheels (scikit-image's data folder); drawings, text and tiny images left out.
SKIMAGE_PHOTOS = (
    "astronaut.png",
    "chelsea.png",
    "coffee.png",
    "rocket.jpg",
    "retina.jpg",
    "hubble_deep_field.jpg",
    "ihc.png",
    "motorcycle_left.png",
    "camera.png",
    "brick.png",
    "grass.png",
    "gravel.png",
    "moon.png",
    "coins.png",
    "cell.png",
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
    return [decode(path).double() / 255 for path in photo_paths()]


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
    x = photo[None, :, top : top + region, left : left + region]
    if rng.random() < 0.5:
        x = x.flip(3)
    if fake:
        x = squash(generator_upsample(_area(x, full // 2), rng), rng.uniform(1.0, 3.0))
    else:
        x = _area(x, full)
    x = x + torch.from_numpy(rng.normal(0, rng.uniform(1, 3) / 255, x.shape))  # sensor noise, both classes
    dy, dx = rng.integers(2, size=2)  # without this offset a linear model on pixels finds the upsampling grid
    x = x[0, :, MARGIN - 1 + dy : MARGIN - 1 + dy + size, MARGIN - 1 + dx : MARGIN - 1 + dx + size]
    return (x * 255).round().clamp(0, 255).to(torch.uint8)


def generate(sizes: dict, size: int, seed: int, photos: list[torch.Tensor] | None = None) -> dict:
    """From data_seed `seed`, per split: uint8 images [n, 3, size, size], labels (half real then half fake) and
    file names, rendered from `photos` (float [3, H, W] in [0, 1]; default load_photos())."""
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
    """uint8 [3, H, W] RGB as PIL converts it, for every mode PIL reads: 16-bit samples keep their high byte,
    palette and grey-with-alpha go through RGBA (alpha dropped), CMYK through PIL's conversion, the EXIF
    orientation is applied and an animation gives its first frame. A file PIL cannot decode, or a mode with no
    8-bit meaning (32-bit integer, float), is a one-line UserError naming it.

    A plain RGB or grey JPEG goes through torchvision's decoder instead: the same libjpeg, but it passes on
    libjpeg's warnings about damaged data (to stderr, where decode_folder catches them), which PIL drops."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            if image.format == "JPEG" and image.mode in ("RGB", "L") and image.getexif().get(ORIENTATION, 1) == 1:
                return _decode_jpeg(path)
            image.seek(0)  # an animation's first frame
            image.load()
            pixels = _rgb(ImageOps.exif_transpose(image), path)
    except (UnidentifiedImageError, OSError, ValueError, EOFError, SyntaxError, RuntimeError) as err:
        raise UserError(f"{path} cannot be read as an image ({err}): replace or delete that file") from None
    return torch.from_numpy(pixels).permute(2, 0, 1)


ORIENTATION = 0x0112  # the EXIF tag


def _decode_jpeg(path) -> torch.Tensor:
    from torchvision.io import ImageReadMode, decode_jpeg, read_file

    return decode_jpeg(read_file(str(path)), mode=ImageReadMode.RGB)


def _rgb(image, path) -> np.ndarray:
    """uint8 [H, W, 3] of a loaded PIL image."""
    if image.mode in ("I;16", "I;16L", "I;16B", "I;16N"):  # 16-bit grey: PIL's own convert would clip at 255
        grey = (np.asarray(image).astype(np.uint16) >> 8).astype(np.uint8)
        return np.repeat(grey[:, :, None], 3, axis=2)
    if image.mode in ("I", "F"):
        raise UserError(
            f"{path} has {'32-bit integer' if image.mode == 'I' else 'floating-point'} pixels, which "
            "have no 8-bit RGB meaning: save it as an 8- or 16-bit PNG or a JPEG"
        )
    if image.mode in ("P", "PA", "LA"):
        image = image.convert("RGBA")  # palette transparency is only honoured through RGBA
    return np.array(image.convert("RGB"))


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
    """split -> list of (path, label) in the course layout; one-line errors for a wrong layout, and for anything in
    the folder that would otherwise be skipped (another folder, a sub-folder, a broken link): nothing is dropped
    without a word. Hidden entries (.DS_Store, .git) are ignored."""
    root = Path(image_dir)
    if not str(image_dir) or not root.is_dir():
        raise UserError(
            f"faces.image_dir {str(image_dir)!r} is not a folder{params.relative_hint(image_dir)}: "
            f"set it in params.yaml to a folder holding {'/, '.join(FOLDERS.values())}/, "
            f"each with {' and '.join(CLASSES)}/"
        )
    files: dict[str, list] = {}
    skipped = _outside_layout(root, FOLDERS.values())
    for split in SPLITS:
        files[split] = []
        skipped += _outside_layout(root / FOLDERS[split], CLASSES)
        for label, name in enumerate(CLASSES):
            folder = root / FOLDERS[split] / name
            if not folder.is_dir():
                raise UserError(f"{folder} is missing: the course layout is {{train,val,test}}/{{0_real,1_fake}}/")
            entries = sorted(p for p in folder.iterdir() if not p.name.startswith("."))
            skipped += [p for p in entries if not p.is_file()]
            found = [p for p in entries if p.is_file()]
            if not found:
                raise UserError(f"{folder} holds no images: every split needs both classes")
            files[split] += [(p, label) for p in found]
    if skipped:
        more = f" (and {len(skipped) - 1} more)" if len(skipped) > 1 else ""
        first = skipped[0]
        if first.is_symlink() and not first.exists():
            raise UserError(f"{first} is a broken link{more}: point it at an image file or delete it")
        raise UserError(
            f"{first}{'/' if first.is_dir() else ''} is outside the course layout{more}: move it into a "
            f"{{train,val,test}}/{{0_real,1_fake}}/ folder as an image file, or delete it"
        )
    return files


def _outside_layout(folder: Path, expected) -> list[Path]:
    """Entries of `folder` that are neither hidden nor one of the `expected` sub-folders."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if not p.name.startswith(".") and p.name not in expected)


def layout_name(split: str, path: Path, label: int) -> str:
    return f"{FOLDERS[split]}/{CLASSES[label]}/{path.name}"


def decode_folder(files: dict, size: int, cache, workers: int | None = None) -> None:
    """Decode every listed file into the cache at `cache`, one thread per core, straight into its memory map:
    a set larger than memory never has to fit in it."""
    from concurrent.futures import ThreadPoolExecutor

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the parallelism is across images
    try:
        with stderr_captured() as said, warnings.catch_warnings():
            warnings.filterwarnings("ignore", "The image decoding", UserWarning)  # torchvision's deprecation notice
            _decode_all(files, size, cache, ThreadPoolExecutor(workers or available_cpus()))
    finally:
        torch.set_num_threads(threads)
    _raise_if_libjpeg_complained(said, files)
    imagecache.write_index(
        cache,
        {s: [y for _, y in f] for s, f in files.items()},
        {s: [layout_name(s, p, y) for p, y in f] for s, f in files.items()},
    )


@contextlib.contextmanager
def stderr_captured():
    """Whatever is written to file descriptor 2 in the block (libjpeg's warnings are, naming no file), as the one
    string in the yielded list once the block ends."""
    sys.stderr.flush()
    saved = os.dup(2)
    said: list[str] = []
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield said
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            said.append(sink.read().decode(errors="replace"))


LIBJPEG = "Corrupt JPEG data"  # how libjpeg starts its warnings about damaged data it decoded anyway


def _raise_if_libjpeg_complained(said: list[str], files: dict) -> None:
    """A damaged JPEG that libjpeg decoded anyway is an error naming the file (found by decoding again, one file
    at a time); anything else the decoders wrote is passed on."""
    text = said[0] if said else ""
    if LIBJPEG not in text:
        sys.stderr.write(text)
        return
    for path in (p for listed in files.values() for p, _ in listed):
        with stderr_captured() as again:
            decode(path)
        if LIBJPEG in again[0]:
            complaint = next(line for line in again[0].splitlines() if LIBJPEG in line).strip()
            raise UserError(f"{path} is damaged (libjpeg: {complaint}): replace or delete that file")
    raise UserError(
        f"an image of faces.image_dir is damaged (libjpeg: {text.strip().splitlines()[0]}): check the JPEG files"
    )


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
    """The course layout and the decoded cache from params' faces section (embedded: drawn from data_seed `seed`),
    swapped in at `out` only when complete;
    returns the cache."""
    source = config.choice("faces.source", ["embedded", "folder"])
    image_dir = config.text("faces.image_dir")
    size = config.integer("faces.image_size", 8)
    sizes = {s: config.integer(f"faces.n_{s}", 2) for s in SPLITS}  # read either way: DVC declares them
    with io.staging(out) as tmp:
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
    return {
        split: {"images": Images(d["images"]), "labels": torch.from_numpy(d["labels"]), "names": d["names"]}
        for split, d in imagecache.load(path).items()
    }

import numpy as np
import pytest
import torch
from PIL import Image

from nnrepro.errors import UserError
from nnrepro.faces import images

SIZES = {"train": 24, "validation": 8, "test": 8}


@pytest.fixture(scope="module")
def data():
    return images.generate(SIZES, 16, seed=3)


def test_same_seed_same_bytes_other_seed_differs(data):
    again, other = images.generate(SIZES, 16, seed=3), images.generate(SIZES, 16, seed=4)
    for split in images.SPLITS:
        assert torch.equal(data[split]["images"], again[split]["images"])
        assert not torch.equal(data[split]["images"], other[split]["images"])


def test_a_larger_training_split_leaves_validation_and_test_as_they_were(data):
    grown = images.generate({**SIZES, "train": SIZES["train"] + 4}, 16, seed=3)
    assert torch.equal(grown["train"]["images"][: SIZES["train"] // 2], data["train"]["images"][: SIZES["train"] // 2])
    for split in ("validation", "test"):
        assert torch.equal(grown[split]["images"], data[split]["images"])


def test_splits_are_balanced_uint8_of_the_requested_size(data):
    for split, n in SIZES.items():
        pixels, labels = data[split]["images"], data[split]["labels"]
        assert pixels.dtype == torch.uint8 and pixels.shape == (n, 3, 16, 16)
        assert int(labels.sum()) == n // 2 and len(set(data[split]["names"])) == n
        folder = images.FOLDERS[split]  # the course layout: val/ holds the validation split
        assert all(name.startswith(f"{folder}/{images.CLASSES[y]}/") for name, y in zip(data[split]["names"], labels))


def _nyquist_peak(images: torch.Tensor) -> torch.Tensor:
    """Per image: power at the three Nyquist bins (the x2 upsampling grid) over the mean power of the outer band."""
    x = images.double().mean(1)
    power = torch.fft.fft2(x - x.mean((1, 2), keepdim=True)).abs() ** 2
    side = x.shape[-1]
    f = torch.fft.fftfreq(side).abs()
    outer = torch.maximum(f[:, None], f[None, :]) >= 0.375
    nyquist = power[:, side // 2, 0] + power[:, 0, side // 2] + power[:, side // 2, side // 2]
    return nyquist / 3 / power[:, outer].mean(1)


def test_fakes_carry_an_upsampling_fingerprint():
    data = images.generate({"train": 200, "validation": 2, "test": 2}, 32, seed=0)["train"]
    peak, labels = _nyquist_peak(data["images"]), data["labels"]
    real, fake = peak[labels == 0], peak[labels == 1]
    assert fake.median() > 5 * real.median()
    assert (fake > real.median()).float().mean() > 0.7


def test_write_makes_the_course_layout_and_a_cache(tmp_path, data):
    images.write(tmp_path / "faces", data)
    cache = images.load_cache(tmp_path / "faces" / images.CACHE)
    name = cache["test"]["names"][-1]
    png = np.asarray(Image.open(tmp_path / "faces" / name))
    assert name.startswith("test/1_fake/") and np.array_equal(png, cache["test"]["images"][-1].permute(1, 2, 0))
    assert len(list((tmp_path / "faces" / "train" / "0_real").glob("*.png"))) == 12
    for split in images.SPLITS:  # the cache holds exactly what was generated, read back through the memory map
        assert torch.equal(cache[split]["images"].load(), data[split]["images"])
        assert (
            torch.equal(cache[split]["labels"], data[split]["labels"]) and cache[split]["names"] == data[split]["names"]
        )
    rows = torch.tensor([5, 0, 3])
    assert torch.equal(cache["train"]["images"][rows], data["train"]["images"][rows])  # any order, as indexed


def read_folder(root, size, tmp_path, workers=None) -> dict:
    images.decode_folder(images.list_folder(root), size, tmp_path / "decoded", workers)
    return images.load_cache(tmp_path / "decoded")


def _user_folder(root, size=20, per_class=2):
    rng = np.random.default_rng(0)
    for folder in images.FOLDERS.values():
        for cls in images.CLASSES:
            (root / folder / cls).mkdir(parents=True)
            for i in range(per_class):
                pixels = rng.integers(0, 256, (size, size + 4, 3), dtype=np.uint8)
                Image.fromarray(pixels).save(root / folder / cls / f"{i}.jpg")
    return root


def test_folder_converts_grayscale_palette_and_rgba_to_rgb(tmp_path):
    root = _user_folder(tmp_path / "user")
    folder = root / "train" / "0_real"
    Image.new("L", (30, 30), 100).save(folder / "gray.png")
    Image.new("RGBA", (30, 30), (10, 20, 30, 128)).save(folder / "alpha.png")
    Image.new("RGB", (30, 30), (200, 0, 0)).convert("P").save(folder / "palette.png")
    Image.new("RGB", (30, 30), (0, 90, 0)).save(folder / "bitmap.bmp")
    data = read_folder(root, 16, tmp_path)
    names = data["train"]["names"]
    assert data["train"]["images"].shape == (len(names), 3, 16, 16)
    image = {name.split("/")[-1]: data["train"]["images"][names.index(name)] for name in names}
    assert (image["gray.png"] == 100).all()
    assert (image["alpha.png"] == torch.tensor([10, 20, 30]).view(3, 1, 1)).all()
    palette_rgb = torch.from_numpy(np.asarray(Image.open(folder / "palette.png").convert("RGB")).copy())
    assert torch.equal(image["palette.png"], images.fit(palette_rgb.permute(2, 0, 1), 16, ""))
    assert (image["bitmap.bmp"][1] == 90).all() and (image["bitmap.bmp"][0] == 0).all()


RGB = np.random.default_rng(0).integers(0, 256, (40, 48, 3), dtype=np.uint8)  # not square: a rotation shows
RAMP = np.linspace(0, 65535, 40 * 48).round().astype(np.uint16).reshape(40, 48)  # every high byte, low bytes vary


def _png16_rgb(path, pixels: np.ndarray) -> None:
    """A 16-bit RGB PNG (PIL writes none), from the PNG specification: signature, IHDR, one IDAT, IEND."""
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    height, width, _ = pixels.shape
    rows = b"".join(b"\0" + row.astype(">u2").tobytes() for row in pixels)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 16, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def _write_mode(path, mode: str) -> np.ndarray:
    """Write an image of `mode` to `path`; return the uint8 [H, W, 3] RGB it must decode to."""
    from PIL import ImageOps

    image = Image.fromarray(RGB)
    if mode == "16-bit grey":
        Image.fromarray(RAMP).save(path)
        return np.repeat((RAMP >> 8).astype(np.uint8)[:, :, None], 3, axis=2)  # PIL's convert would clip at 255
    if mode == "16-bit RGB":
        wide = RGB.astype(np.uint16) * 257 + 100
        _png16_rgb(path, wide)
        return np.asarray(Image.open(path).convert("RGB"))  # PIL keeps the high byte: RGB itself
    if mode == "CMYK":
        image.convert("CMYK").save(path, quality=95)
    elif mode == "EXIF-rotated":
        exif = Image.Exif()
        exif[0x0112] = 6  # rotate 90 degrees clockwise to display
        image.save(path, quality=95, exif=exif)
        return np.asarray(ImageOps.exif_transpose(Image.open(path)).convert("RGB"))
    elif mode == "animated":
        image.save(path, save_all=True, append_images=[Image.fromarray(255 - RGB)], duration=100)
        return np.asarray(Image.open(path).convert("RGBA").convert("RGB"))  # the first frame
    elif mode == "palette with transparency":
        image.quantize(16).save(path, transparency=3)
        return np.asarray(Image.open(path).convert("RGBA").convert("RGB"))
    elif mode == "grey with alpha":
        image.convert("LA").save(path)
        return np.asarray(Image.open(path).convert("RGBA").convert("RGB"))
    return np.asarray(Image.open(path).convert("RGB"))


MODES = {
    "16-bit grey": "png",
    "16-bit RGB": "png",
    "palette with transparency": "png",
    "grey with alpha": "png",
    "CMYK": "jpg",
    "EXIF-rotated": "jpg",
    "animated": "gif",
}


@pytest.mark.parametrize("mode", MODES)
def test_every_image_mode_decodes_to_the_rgb_pil_gives(tmp_path, mode):
    path = tmp_path / f"image.{MODES[mode]}"
    expected = _write_mode(path, mode)
    decoded = images.decode(path)
    assert decoded.dtype == torch.uint8
    assert np.array_equal(decoded.permute(1, 2, 0).numpy(), expected)
    if mode == "EXIF-rotated":
        assert decoded.shape == (3, 48, 40)
    if mode == "16-bit grey":  # the high byte, so the ramp rises: stored mod 256 it would jump up and down
        assert (np.diff(decoded[0].flatten().numpy().astype(int)) >= 0).all()


def test_pixels_with_no_8_bit_meaning_are_refused_by_name(tmp_path):
    Image.fromarray(RGB[:, :, 0].astype(np.float32)).save(tmp_path / "depth.tif")
    with pytest.raises(UserError, match="depth.tif has floating-point pixels"):
        images.decode(tmp_path / "depth.tif")


def _damaged_jpeg(path) -> None:
    """A JPEG that libjpeg decodes anyway, after writing 'Corrupt JPEG data' to stderr: an EOI marker mid-scan."""
    Image.fromarray(np.random.default_rng(1).integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(path, quality=90)
    data = bytearray(path.read_bytes())
    data[len(data) // 2 : len(data) // 2 + 3] = b"\xff\xd9\x00"
    path.write_bytes(data)


def test_a_damaged_jpeg_is_refused_by_name(tmp_path, capfd):
    root = _user_folder(tmp_path / "user", size=40)
    _damaged_jpeg(root / "val" / "1_fake" / "1.jpg")
    with pytest.raises(UserError) as err:
        read_folder(root, 16, tmp_path)
    assert str(err.value).startswith(f"{root / 'val' / '1_fake' / '1.jpg'} is damaged (libjpeg: Corrupt JPEG data")
    assert "Corrupt JPEG" not in capfd.readouterr().err  # the anonymous warning is not passed on


@pytest.mark.parametrize(
    "planted, named",
    [
        (lambda r: (r / "train" / "2_other").mkdir(), "train/2_other/ is outside the course layout"),
        (lambda r: (r / "val" / "0_real" / "more").mkdir(), "val/0_real/more/ is outside"),
        (lambda r: (r / "test" / "1_fake" / "gone.jpg").symlink_to(r / "nowhere.jpg"), "gone.jpg is a broken link"),
        (lambda r: Image.new("RGB", (30, 30)).save(r / "train" / "loose.png"), "train/loose.png is outside"),
        (lambda r: (r / "valid").mkdir(), "valid/ is outside the course layout"),
    ],
)
def test_nothing_in_the_folder_is_skipped_without_a_word(tmp_path, planted, named):
    root = _user_folder(tmp_path / "user")
    (root / "train" / "0_real" / ".DS_Store").write_bytes(b"hidden: ignored")
    assert len(images.list_folder(root)["train"]) == 4
    planted(root)
    with pytest.raises(UserError) as err:
        images.list_folder(root)
    assert named in str(err.value) and "\n" not in str(err.value)


def test_parallel_decoding_equals_one_worker_and_the_pil_path(tmp_path):
    root = _user_folder(tmp_path / "user", size=40, per_class=6)
    one, many = read_folder(root, 16, tmp_path / "one", workers=1), read_folder(root, 16, tmp_path / "many", workers=3)
    for split in images.SPLITS:
        assert torch.equal(one[split]["images"].load(), many[split]["images"].load())
        assert one[split]["names"] == many[split]["names"]
    jpg = next((root / "train" / "1_fake").glob("*.jpg"))
    assert np.array_equal(images.decode(jpg).permute(1, 2, 0).numpy(), np.asarray(Image.open(jpg).convert("RGB")))


@pytest.mark.parametrize(
    "damage, expected",
    [
        (lambda r: __import__("shutil").rmtree(r / "val" / "1_fake"), "val/1_fake is missing"),
        (lambda r: [p.unlink() for p in (r / "test" / "0_real").iterdir()], "holds no images"),
        (lambda r: (r / "train" / "1_fake" / "x.jpg").write_bytes(b"not an image"), "cannot be read as an image"),
        (
            lambda r: (r / "train" / "1_fake" / "0.jpg").write_bytes(
                (r / "train" / "1_fake" / "0.jpg").read_bytes()[:200]
            ),
            "cannot be read as an image",
        ),
        (lambda r: Image.new("RGB", (8, 40)).save(r / "val" / "0_real" / "small.png"), "smaller than the 16 px crop"),
    ],
)
def test_bad_folders_stop_with_one_line_naming_the_path(tmp_path, damage, expected):
    root = _user_folder(tmp_path / "user")
    damage(root)
    with pytest.raises(UserError) as err:
        read_folder(root, 16, tmp_path)
    assert expected in str(err.value) and "\n" not in str(err.value)


def test_prepare_faces_stage_end_to_end_and_failure_keeps_outputs(tmp_path, stage, repo_params):
    params = {
        **repo_params,
        "faces": {**repo_params["faces"], "n_train": 8, "n_validation": 4, "n_test": 4, "image_size": 16},
    }
    assert stage("prepare_faces.py", ["--out", "data/faces"], tmp_path, params).returncode == 0
    cache = tmp_path / "data" / "faces" / images.CACHE / "train.npy"
    before = cache.read_bytes()
    assert stage("prepare_faces.py", ["--out", "data/faces"], tmp_path, params).returncode == 0
    assert cache.read_bytes() == before  # reruns are byte-identical
    bad = {**params, "faces": {**params["faces"], "source": "folder", "image_dir": str(tmp_path / "nowhere")}}
    result = stage("prepare_faces.py", ["--out", "data/faces"], tmp_path, bad)
    assert result.returncode == 2 and "nowhere" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert cache.read_bytes() == before
    user = _user_folder(tmp_path / "user")
    Image.new("RGB", (20, 20)).save(user / "test" / "1_fake" / "late.png")
    (user / "test" / "1_fake" / "late.png").write_bytes(b"broken")
    bad["faces"]["image_dir"] = str(user)
    result = stage("prepare_faces.py", ["--out", "data/faces"], tmp_path, bad)
    assert result.returncode == 2 and "late.png" in result.stderr and cache.read_bytes() == before

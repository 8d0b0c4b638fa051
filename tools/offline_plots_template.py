"""Write the page template for `dvc plots show` with vega, vega-lite and vega-embed inlined, so it renders offline.

DVC's default page loads these bundles from a CDN and stays blank without internet. The bundles are fetched at
set-up from the npm registry (`npm pack`), pinned to the versions dvc-render's page asks for and checked against
their registry hashes; the JavaScript is never committed. Usage: python tools/offline_plots_template.py OUT.html
"""
import argparse
import base64
import hashlib
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

# (npm spec, bundle inside the package tarball, sha512 integrity of the tarball as the registry lists it);
# the versions are those dvc-render 1.0.2 loads from its CDN (dvc_render/vega.py), so DVC's specs fit them.
BUNDLES = [
    ("vega@5.20.2", "package/build/vega.min.js",
     "sha512-qmH7aD9GGPpssVdxL1xgcdxTbQzyRUeRR16Os385ymvQhiwCYQNA6+eXUPAZDTVLfk0RXu6Jzj6kUE5jQ80EVw=="),
    ("vega-lite@5.2.0", "package/build/vega-lite.min.js",
     "sha512-Yxcg8MvYfxHcG6BbkaKT0oVCIMIcE19UvqIsEwBmyd/7h2nzW7oRnID81T8UrY7hpDrIr6wa2JADOT2dhGNErw=="),
    ("vega-embed@6.18.2", "package/build/vega-embed.min.js",
     "sha512-wcDyQPE4J5aiCDc3/suH5RQDvrKkjuLkhzUcbOLwEkNF8/+pp17tS0JghzEvAPNRg+5aG1/N2ydixq8Lk3dOlg=="),
]
# dvc_render.html substitutes these with str.replace; {scripts} is left out on purpose: it would add the CDN tags.
PLACEHOLDERS = ("{plot_divs}", "{refresh_tag}", "{scripts}")

PAGE = """<!DOCTYPE html>
<html>
<head>
    <meta charset="utf-8">
    {refresh_tag}
    <title>DVC Plot</title>
@SCRIPTS@
    <style>
        table {
            border-spacing: 15px;
        }
    </style>
</head>
<body>
    {plot_divs}
</body>
</html>
"""


def fetch_bundles(workdir: Path) -> list[tuple[str, str]]:
    """npm-pack each pinned package into `workdir`, check its hash and return (spec, minified JS) pairs."""
    specs = [spec for spec, _, _ in BUNDLES]
    try:
        out = subprocess.run(["npm", "pack", "--json", "--pack-destination", str(workdir), *specs],
                             check=True, capture_output=True, text=True).stdout
    except FileNotFoundError:
        sys.exit("offline_plots_template: `npm` not found; install Node.js/npm (Debian: apt-get install npm)")
    except subprocess.CalledProcessError as e:
        sys.exit(f"offline_plots_template: `npm pack {' '.join(specs)}` failed:\n{e.stderr.strip()}")
    filenames = {f"{p['name']}@{p['version']}": p["filename"] for p in json.loads(out)}
    bundles = []
    for spec, member, integrity in BUNDLES:
        tarball = workdir / filenames[spec]
        digest = "sha512-" + base64.b64encode(hashlib.sha512(tarball.read_bytes()).digest()).decode()
        if digest != integrity:
            sys.exit(f"offline_plots_template: {tarball.name} has hash {digest}, expected {integrity}")
        with tarfile.open(tarball) as tar:
            bundles.append((spec, tar.extractfile(member).read().decode("utf-8")))
    return bundles


def inline_script(spec: str, js: str) -> str:
    """A <script> element holding `js`, minus its source-map comment (the page must make no requests)."""
    js = "\n".join(line for line in js.split("\n") if not line.startswith("//# sourceMappingURL="))
    js = js.replace("</script", "<\\/script")  # the only sequence that could end the element early
    found = [p for p in PLACEHOLDERS if p in js]
    if found:
        sys.exit(f"offline_plots_template: {spec} contains DVC's placeholder {found[0]}; it cannot be inlined")
    return f"    <!-- {spec} (npm) -->\n    <script>{js}</script>"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="HTML file to write (DVC's plots.html_template)")
    out = parser.parse_args().out
    with tempfile.TemporaryDirectory() as tmp:
        scripts = "\n".join(inline_script(spec, js) for spec, js in fetch_bundles(Path(tmp)))
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".tmp")
    partial.write_text(PAGE.replace("@SCRIPTS@", scripts), encoding="utf-8")
    os.replace(partial, out)
    print(f"wrote {out} ({out.stat().st_size // 1024} KiB)")


if __name__ == "__main__":
    main()

"""Write the page template for `dvc plots show` with vega, vega-lite and vega-embed inlined, so it renders offline.

DVC's default page loads these libraries from a CDN and stays blank without internet. The bundle comes from the
pinned `vl-convert-python` wheel (`vl_convert.javascript_bundle`), whose vega 5 / vega-lite 5 / vega-embed 6 are
the major versions dvc-render's page asks for; the JavaScript is never committed.
Usage: python tools/offline_plots_template.py OUT.html
"""

import argparse
import os
import sys
from pathlib import Path

try:
    import vl_convert
except ImportError:
    sys.exit("offline_plots_template: no vl_convert here; run it with .venv/bin/python (`make setup` installs it)")

VEGA_LITE = "5.21"  # the newest vega-lite 5 the pinned vl-convert-python ships; DVC's specs are vega-lite 5
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


def versions() -> str:
    """The library versions inside the bundle, for the page's comment."""
    return (
        f"vega {vl_convert.get_vega_version()}, vega-lite {VEGA_LITE}, vega-embed {vl_convert.get_vega_embed_version()}"
    )


def inline_script(js: str) -> str:
    """A classic <script> running `js`, which sets window.vega, window.vegaLite and window.vegaEmbed.

    DVC's page calls vegaEmbed from inline scripts as the body is parsed, so a deferred module script would come
    too late; the function scope keeps the bundle's top-level names out of the page's globals (DVC declares
    `var spec`), and "use strict" keeps the semantics it has as the ES module it was built as.
    """
    js = "\n".join(line for line in js.split("\n") if not line.startswith("//# sourceMappingURL="))
    js = js.replace("</script", "<\\/script")  # the only sequence that could end the element early
    found = [p for p in PLACEHOLDERS if p in js]
    if found:
        sys.exit(f"offline_plots_template: the bundle contains DVC's placeholder {found[0]}; it cannot be inlined")
    wrapped = f'<script>(function () {{"use strict";\n{js}\n}})();</script>'
    return f"    <!-- {versions()} (vl-convert-python) -->\n    {wrapped}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="HTML file to write (DVC's plots.html_template)")
    out = parser.parse_args().out
    scripts = inline_script(vl_convert.javascript_bundle(vl_version=VEGA_LITE))
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".tmp")
    partial.write_text(PAGE.replace("@SCRIPTS@", scripts), encoding="utf-8")
    os.replace(partial, out)
    print(f"wrote {out} ({out.stat().st_size // 1024} KiB; {versions()})")


if __name__ == "__main__":
    main()

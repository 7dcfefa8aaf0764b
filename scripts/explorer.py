"""Latent-space explorer (on demand): a static page where every point of a code plane is decoded
in the browser.

Builds `build/explorer/` (`--site-dir`): exercise 1's autoencoder code plane and the 2-D VAE's
mean plane side by side, the 16-D VAE and (when the code-size study has run) AE8/AE32 on the
first two principal components of their codes, with the 10 000 test codes as points coloured
by digit. Each decoder is exported with `keras.Model.export(format="onnx")` and run in the page
by onnxruntime-web (pinned, fetched at set-up). Loads trained models only: a missing one is an
error naming the step that trains it.

    python scripts/explorer.py              build the site (what `python -m mnist_ae run explorer` runs)
    python scripts/explorer.py --serve      serve it on 127.0.0.1 (`bash run.sh explore` builds, then serves)
    python scripts/explorer.py --measure    time the page in Chromium: load and pointer-to-image latency
                                            -> report/results/explorer.json, screenshot figures/explorer.png
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from mnist_ae import preprocessing
from mnist_ae.pipeline import registry
from mnist_ae.atomic import atomic_write
from mnist_ae.pipeline.harness import output_dirs, exercise_parser, positive_int, prepare
from mnist_ae.errors import guard
from mnist_ae.explorer import browser, serve, site
from mnist_ae.pipeline.results import library_versions, machine, write_results

DEFAULT_PORT = 8765
SCREENSHOT = "explorer.png"
# It trains nothing: the shared training flags default to each model's own recipe (only the seed,
# which picks the models, is used). Keras is imported only to build the site, so serving starts at once.


def body(run) -> None:
    from mnist_ae.explorer.panels import autoencoder_panel, finalist_panels, vae_panel

    args = run.args
    started = time.perf_counter()
    panels = [autoencoder_panel(run), vae_panel(run, 2), vae_panel(run, 16)]
    finalists, notes = finalist_panels(run)
    for note in notes:
        print(f"explorer: {note}")
    images = np.round(preprocessing.to_mnist_view(run.x_test) * 255).astype(np.uint8)  # exactly MNIST's bytes
    manifest = site.build(args.site_dir, panels + finalists, images, run.y_test, seed=args.seed, notes=tuple(notes))
    size = sum(f["bytes"] for f in manifest["files"].values())
    print(f"explorer: built {args.site_dir}/ ({', '.join(manifest['panels'])}; {len(images)} test codes each; "
          f"{size / 1e6:.1f} MB) in {time.perf_counter() - started:.1f} s; serve it with `bash run.sh explore`")


def picture(page) -> None:
    """Put the page in a state worth a screenshot: a hovered dot, a strip, the pointer on a plane."""
    names = browser.panel_names(page)
    plane = lambda k, i: page.evaluate("([k, i]) => [explorer.panels[k].plane[2 * i], explorer.panels[k].plane[2 * i + 1]]",  # noqa: E731
                                       [k, i])
    vae = names.index("vae2") if "vae2" in names else 0
    browser.interpolate(page, vae, plane(vae, 3), plane(vae, 2))  # test images #3 and #2: a 0 and a 1
    browser.hover(page, 0, plane(0, 0))
    x0, x1, y0, y1 = page.evaluate("(k) => explorer.panels[k].spec.view", vae)
    browser.move_to(page, vae, ((x0 + x1) / 2, (y0 + 2 * y1) / 3))


def measure(args) -> None:
    """Time the built site in Chromium and take the screenshot (see the module's docstring)."""
    manifest = site.check(args.site_dir)
    reason = browser.unavailable()
    if reason:
        raise RuntimeError(f"cannot measure the page: {reason}")
    figures, results = output_dirs(args)  # the scripts' rule: quick timings never land in the full results
    with serve.serving(args.site_dir) as url, browser.open_page(url) as page:
        load = browser.load_seconds(page)
        latency = browser.latencies(page, moves=args.moves, seed=args.seed)
        picture(page)
        figures.mkdir(parents=True, exist_ok=True)
        with atomic_write(figures / SCREENSHOT) as tmp:
            page.screenshot(path=str(tmp), full_page=True)
        chromium = page.context.browser.version
    metrics = {
        "page_load_ms": load["in_page_ms"], "page_load_from_request_ms": load["from_request_ms"],
        "pointer_to_image_ms": {"median": latency["median_ms"], "max": latency["max_ms"], "moves": latency["moves"],
                                "median_seen_by_driver": latency["median_wall_ms"]},
        "what": "page load: navigation start to every decoder loaded and its first image drawn (in-page clock); "
                "pointer to image: a pointer event's timestamp to its decoded image drawn in the canvas, "
                f"{args.moves} seeded moves per panel; the driver's time adds Playwright's round trips",
        "panels": manifest["panels"], "n_points": manifest["n_points"], "onnxruntime_web": manifest["ort_web"],
        "screenshot": str(figures / SCREENSHOT),
    }
    prov = {"quick": bool(args.quick), "site": str(args.site_dir), "browser": f"Chromium {chromium} (headless)",
            "versions": library_versions(), "machine": machine()}
    path = write_results(results / "explorer.json", metrics, prov)
    print(f"explorer: page load {load['in_page_ms']:.0f} ms; pointer move to decoded image: median "
          f"{latency['median_ms']:.1f} ms (max {latency['max_ms']:.1f} ms, {latency['moves']} moves) -> {path}, "
          f"{figures / SCREENSHOT}")


def serve_site(args) -> None:
    """Serve the built site until Ctrl-C (a clean stop)."""
    site.check(args.site_dir)
    serve.serve_forever(args.site_dir, args.port)


def main(argv=None) -> int:
    parser = exercise_parser(__doc__, recipes=("ex1_ae", "vae_2d", "vae_16d", "code_size_finalists"))
    parser.add_argument("--site-dir", type=Path,
                        help=f"where the site goes (default {registry.get('explorer').site_dir(False)}/, "
                             f"quick: {registry.get('explorer').site_dir(True)}/)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--serve", action="store_true", help="serve the built site on 127.0.0.1 until Ctrl-C")
    mode.add_argument("--measure", action="store_true",
                      help=f"time the built site in Chromium; write <results>/explorer.json and <figures>/{SCREENSHOT}")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="--serve: the port (0: any free one)")
    parser.add_argument("--moves", type=positive_int, default=15, help="--measure: pointer moves per panel")
    args = parser.parse_args(argv)
    args.site_dir = args.site_dir or registry.get("explorer").site_dir(args.quick)
    if args.serve:
        return guard(parser.prog, lambda: serve_site(args))
    if args.measure:
        return guard(parser.prog, lambda: measure(args))
    return guard(parser.prog, lambda: body(prepare(args)))


if __name__ == "__main__":
    raise SystemExit(main())

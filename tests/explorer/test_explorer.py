"""The latent-space explorer: ONNX exports, the PCA map, the site, its one-line errors, and the page
itself in a real browser (Playwright driving Debian's Chromium; skipped, saying why, without it).

Models are small and untrained (seeded): what is tested is that the page decodes what Python
decodes, not what the models learned."""

import dataclasses
import json
import signal
import socket
import subprocess
import sys
import urllib.request

import keras
import numpy as np
import pytest

from mnist_ae import paths, preprocessing
from mnist_ae.models import code_models, constrained, vae
from mnist_ae.pipeline import registry
from mnist_ae.explorer import browser, export, ortweb, serve, site
from mnist_ae.explorer.panels import Panel, view_decoder
from mnist_ae.explorer.plane import plane
from mnist_ae.pipeline.loading import load_script
from mnist_ae.training import decode, vae_recipe

N = 300  # test points in the small sites
rng = np.random.default_rng(0)
IMAGES = rng.integers(0, 256, size=(N, 28, 28), dtype=np.uint8)
LABELS = rng.integers(0, 10, size=N)


def script():
    return load_script(paths.SCRIPTS / "explorer.py")


@pytest.fixture(scope="module")
def ort_bundle():
    """onnxruntime-web from the set-up's cache (`bash run.sh setup` fetches it)."""
    try:
        ortweb.fetch()
    except OSError as e:
        pytest.skip(f"onnxruntime-web is not available: {e}")


@pytest.fixture(scope="module")
def decoders():
    """Three small seeded decoders and, for each, the project's own Python decoding (the reference):
    exercise 1's (2-D code), a Bernoulli VAE's (2-D), and a code-size decoder (8-D: a PCA plane)."""
    keras.utils.set_random_seed(1)
    ae = constrained.build_decoder()
    vae2 = vae.build(dataclasses.replace(vae_recipe(2, likelihood="bernoulli"), filters=4, hidden=16))
    _, ae8, _ = code_models.build(dict(code_models.EXAMPLE_PARAMS, hidden=32, channels=4), 8)
    view = preprocessing.to_mnist_view
    return {
        "ae": (view_decoder(ae, 2, crop=preprocessing.PAD), lambda z: view(decode(ae, z))),
        "vae2": (view_decoder(vae2.decoder, 2, sigmoid=True, crop=preprocessing.PAD),
                 lambda z: view(np.asarray(vae2.decode(np.asarray(z, np.float32))))),
        "ae8": (view_decoder(ae8, 8), lambda z: ae8.predict(np.asarray(z, np.float32), verbose=0)[..., 0]),
    }


def codes_for(dim):
    return (np.random.default_rng(dim).normal(size=(N, dim)) * (3 if dim == 2 else 1.5)).astype(np.float32)


@pytest.fixture(scope="module")
def small_site(tmp_path_factory, decoders, ort_bundle):
    folder = tmp_path_factory.mktemp("explorer") / "site"
    panels = [Panel(name, name, codes_for(8 if name == "ae8" else 2), model) for name, (model, _) in decoders.items()]
    manifest = site.build(folder, panels, IMAGES, LABELS)
    return folder, manifest, {p.name: p.codes for p in panels}


# --- without a browser -------------------------------------------------------------------------

def test_onnx_exports_decode_like_the_keras_decoders(decoders, tmp_path):
    for name, (model, reference) in decoders.items():
        codes = codes_for(8 if name == "ae8" else 2)[:16]
        path = export.to_onnx(model, tmp_path / f"{name}.onnx")
        onnx_images = export.run_onnx(path, codes)
        assert onnx_images.shape == (16, 28, 28)
        assert np.abs(onnx_images - reference(codes)).max() <= 1e-5, name
        assert onnx_images.std() > 1e-3, f"{name}: a constant image would prove little"


def test_the_code_size_decoder_is_valid_onnx_after_the_output_padding_rewrite(decoders, tmp_path):
    import onnx

    path = export.to_onnx(decoders["ae8"][0], tmp_path / "ae8.onnx")
    graph = onnx.load(str(path))
    onnx.checker.check_model(graph, full_check=True)  # shape inference refuses negative pads
    convs = [n for n in graph.graph.node if n.op_type == "ConvTranspose"]
    padding = [list(a.ints) for n in convs for a in n.attribute if a.name == "output_padding"]
    assert padding and [1, 1] in padding
    assert export.output_padding_as_attribute(graph) == 0  # nothing negative left


def test_the_pca_plane_maps_back_like_scikit_learn():
    from mnist_ae.analysis import embedding

    codes = codes_for(8) @ np.diag(np.arange(1.0, 9.0)).astype(np.float32)  # distinct variances
    flat = plane(codes)
    _, ratios, fitted = embedding.pca(codes, 2)
    points = np.array([[0.5, -1.0], [3.0, 2.0]])
    np.testing.assert_allclose(flat.to_code(points), fitted.inverse_transform(points), atol=1e-10)
    np.testing.assert_allclose(flat.project(flat.to_code(points)), points, atol=1e-10)
    np.testing.assert_allclose(flat.points, fitted.transform(codes), atol=1e-10)
    assert flat.explained == pytest.approx(tuple(ratios)) and ratios[0] > ratios[1]
    two = plane(codes[:, :2])
    np.testing.assert_array_equal(two.points, codes[:, :2])
    assert two.explained is None and np.array_equal(two.to_code(points), points)


def test_the_site_has_every_file_the_page_loads(small_site):
    folder, manifest, codes = small_site
    assert manifest["panels"] == ["ae", "vae2", "ae8"] and manifest["n_points"] == N
    files = set(manifest["files"])
    assert {"index.html", "explorer.js", "explorer.css", "data.json", "images.u8", "labels.u8"} <= files
    assert {f"ort/{name}" for name in ortweb.FILES} <= files
    assert json.loads((folder / registry.SITE_MANIFEST).read_text()) == manifest
    assert site.check(folder) == manifest
    data = json.loads((folder / "data.json").read_text())
    by_name = {p["name"]: p for p in data["panels"]}
    assert by_name["ae"]["pca"] is None and by_name["ae8"]["dim"] == 8
    assert np.array(by_name["ae8"]["pca"]["components"]).shape == (2, 8)
    np.testing.assert_array_equal(np.fromfile(folder / "ae8.codes.f32", "<f4").reshape(N, 8), codes["ae8"])
    np.testing.assert_allclose(np.fromfile(folder / "ae8.plane.f32", "<f4").reshape(N, 2), plane(codes["ae8"]).points,
                               atol=1e-5)
    np.testing.assert_array_equal(np.fromfile(folder / "images.u8", np.uint8).reshape(N, 28, 28), IMAGES)
    np.testing.assert_array_equal(np.fromfile(folder / "labels.u8", np.uint8), LABELS)
    html = (folder / "index.html").read_text()
    assert "ort/ort.wasm.min.js" in html and "http" not in html.replace("http-equiv", "")  # nothing from a CDN


def test_a_failed_build_keeps_the_previous_site(small_site, decoders, tmp_path, monkeypatch):
    folder, manifest, _ = small_site
    copy = tmp_path / "site"
    site._swap_in(_copied(folder, tmp_path / "staged"), copy)
    before = site.check(copy)

    def broken(model, path):
        path.write_bytes(b"half an onnx file")
        raise OSError("disk full")

    monkeypatch.setattr(export, "to_onnx", broken)
    with pytest.raises(OSError, match="disk full"):
        site.build(copy, [Panel("ae", "ae", codes_for(2), decoders["ae"][0])], IMAGES, LABELS)
    assert site.check(copy) == before
    assert [p.name for p in tmp_path.iterdir()] == ["site"]  # no staging folder left behind


def _copied(folder, to):
    import shutil

    shutil.copytree(folder, to)
    return to


def test_an_incomplete_site_is_refused_in_one_line(small_site, tmp_path):
    copy = _copied(small_site[0], tmp_path / "site")
    (copy / "vae2.onnx").unlink()
    with pytest.raises(ValueError, match=r"incomplete \(vae2.onnx is missing or altered\).*run explorer --force"):
        site.check(copy)
    with pytest.raises(ValueError, match="has no explorer site"):
        site.check(tmp_path / "nothing")


def test_a_model_that_is_not_trained_is_one_line_naming_the_step(tmp_path, capsys):
    code = script().main(["--quick", "--cache-dir", str(tmp_path / "empty"), "--site-dir", str(tmp_path / "site"),
                          "--figures-dir", str(tmp_path / "f"), "--results-dir", str(tmp_path / "r")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert "the autoencoder model is not trained yet" in err and "run `bash run.sh run exercise_1 --quick` first" in err
    assert not (tmp_path / "site").exists()


def test_a_taken_port_is_one_line(small_site, capsys):
    with socket.socket() as taken:
        taken.bind((serve.HOST, 0))
        taken.listen()
        port = taken.getsockname()[1]
        code = script().main(["--serve", "--port", str(port), "--site-dir", str(small_site[0])])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1  # `<prog>: error: ...`, prog being how the script was called
    assert err.endswith(f": error: port {port} on 127.0.0.1 is taken (another explorer or server?): "
                        f"stop it or pass --port with a free port")


def test_serving_prints_the_url_serves_wasm_and_stops_cleanly_on_ctrl_c(small_site):
    process = subprocess.Popen([sys.executable, str(paths.SCRIPTS / "explorer.py"), "--serve", "--port", "0",
                                "--site-dir", str(small_site[0])], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True,
                               # A shell starts background jobs with SIGINT ignored and children inherit
                               # that (CI may run the suite so): restore the default, as a terminal has it.
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        line = process.stdout.readline()
        assert line.startswith(f"explorer: serving {small_site[0]}/ at http://127.0.0.1:") and "(Ctrl-C stops)" in line
        url = line.split(" at ")[1].split()[0]
        with urllib.request.urlopen(url + "ort/ort-wasm-simd-threaded.wasm") as response:
            assert response.headers["Content-Type"] == "application/wasm"
        with urllib.request.urlopen(url) as response:
            assert b"MNIST latent-space explorer" in response.read()
    finally:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    assert process.returncode == 0 and "explorer: stopped" in out and err == ""


def test_the_explorer_step_is_on_demand_and_builds_a_site():
    step = registry.get("explorer")
    assert step.on_demand and not step.in_report and not step.results
    assert step.site_dir(False) == paths.QUICK_ROOT.parent / "explorer"
    assert step.site_dir(True) == paths.QUICK_ROOT / "explorer"
    assert "src/mnist_ae/explorer/web/explorer.js" in step.sources  # a change to the page rebuilds it
    assert step.headline({"panels": ["ae", "vae2"], "n_points": 10000}) == "2 panels (ae, vae2), 10000 test codes each"


# --- in a browser ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def page(small_site):
    reason = browser.unavailable()
    if reason:
        pytest.skip(f"browser tests need Chromium and Playwright: {reason}")
    with serve.serving(small_site[0]) as url, browser.open_page(url) as opened:
        yield opened


def isolated_points(points, scale, count=2, clear_px=20):
    """Indices of test points with no other point within `clear_px` on screen, near the middle."""
    gaps = np.sqrt(((points[:, None] - points[None]) ** 2).sum(-1)) * scale
    np.fill_diagonal(gaps, np.inf)
    middle = np.abs(points - np.median(points, axis=0)).max(axis=1)
    clear = [i for i in np.argsort(middle) if gaps[i].min() > clear_px]
    assert len(clear) >= count, "no isolated points to hover"
    return clear[:count]


def panel_geometry(page, k):
    name = browser.panel_names(page)[k]
    return name, page.evaluate("(k) => explorer.panels[k].view.s", k)


def test_the_page_decodes_the_code_under_the_pointer_like_python(page, small_site, decoders):
    _, _, codes = small_site
    for k, name in enumerate(browser.panel_names(page)):
        flat = plane(codes[name])
        target = 0.6 * flat.points[7] + 0.4 * flat.points[8]  # between two test points
        shown = browser.move_to(page, k, target)
        pointer = np.asarray(page.evaluate("(k) => explorer.panels[k].pointer", k))
        scale = panel_geometry(page, k)[1]
        assert np.abs(pointer - target).max() <= 1.0 / scale, f"{name}: the pointer is not where it was sent"
        # the page's code is the PCA inverse (or the point itself) of where the pointer is
        np.testing.assert_allclose(shown["code"], flat.to_code(pointer[None])[0], atol=1e-5, err_msg=name)
        python = decoders[name][1](shown["code"][None])[0]
        assert np.abs(shown["pixels"] - python).max() <= 1e-3, name
        assert np.abs(shown["canvas"].astype(int) - np.round(255 * np.clip(python, 0, 1))).max() <= 1, name
        assert shown["latency_ms"] > 0


def test_hovering_a_test_point_shows_its_label_image_and_reconstruction(page, small_site, decoders):
    _, _, codes = small_site
    k = browser.panel_names(page).index("vae2")
    flat = plane(codes["vae2"])
    i = isolated_points(flat.points, panel_geometry(page, k)[1], count=1)[0]
    shown = browser.hover(page, k, flat.points[i])
    assert shown["index"] == i and shown["label"] == LABELS[i]
    assert shown["text"] == f"test image #{i}: digit {LABELS[i]}"
    np.testing.assert_array_equal(np.round(shown["image"] * 255), IMAGES[i])
    assert np.abs(shown["reconstruction"] - decoders["vae2"][1](codes["vae2"][i : i + 1])[0]).max() <= 1e-3


def test_the_interpolation_strip_ends_at_the_two_decoded_points(page, small_site, decoders):
    _, _, codes = small_site
    for name in ("ae8", "ae"):
        k = browser.panel_names(page).index(name)
        flat = plane(codes[name])
        i, j = isolated_points(flat.points, panel_geometry(page, k)[1], count=2)
        strip = browser.interpolate(page, k, flat.points[i], flat.points[j])
        assert strip["ends"] == [i, j]
        np.testing.assert_array_equal(strip["codes"][[0, -1]], codes[name][[i, j]])
        np.testing.assert_allclose(strip["codes"][len(strip["codes"]) // 2],
                                   codes[name][i] + 5 / 9 * (codes[name][j] - codes[name][i]), atol=1e-5)
        python = decoders[name][1](strip["codes"])
        assert np.abs(strip["images"] - python).max() <= 1e-3, name
        hovered = browser.hover(page, k, flat.points[j])["reconstruction"]  # the point's own decoded image
        assert np.abs(strip["images"][-1] - hovered).max() <= 1e-6

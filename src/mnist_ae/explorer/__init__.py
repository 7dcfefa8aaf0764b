"""The latent-space explorer: a static page that decodes any point of a code plane in the browser.

`panels` loads the trained models (never trains them) and the test set's codes, `export` turns
each decoder into an ONNX file, `ortweb` fetches the pinned onnxruntime-web that runs them in the
page, `site` writes the page's folder, `serve` serves it on 127.0.0.1, and `browser` drives it
with Playwright and Debian's Chromium (tests, timings, the screenshot). The page itself lives in
`web/`. `scripts/explorer.py` is the step; `bash run.sh explore` builds it if needed and serves it.
"""

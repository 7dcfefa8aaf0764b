"""Quality proxy on GPU (Keras 3 / JAX): code-size finalists and denoisers at 32 vs 16 channels."""
import os, sys, json, time
os.environ["KERAS_BACKEND"] = "jax"
sys.path.insert(0, "src")
import numpy as np, keras
from mnist_ae import preprocessing
from mnist_ae.models import code_models, corruption

d = np.load(".devdata/mnist_uint8.npz")
print(list(d.keys()))
xtr = d[[k for k in d if "train" in k and "x" in k][0]].astype("float32") / 255.
xte = d[[k for k in d if "test" in k and "x" in k][0]].astype("float32") / 255.
xtr = xtr.reshape(-1, 28, 28, 1); xte = xte.reshape(-1, 28, 28, 1)
tr, va = preprocessing.train_validation_split(len(xtr))
x, xv = xtr[tr], xtr[va]
res = json.load(open("report/results/code_size.json"))["finalists"]
out = {}
def fit(model, params, xin, xval_in, xval_t, epochs, patience, lr=None):
    steps = epochs * -(-len(xin) // 128)
    sched = keras.optimizers.schedules.CosineDecay(lr or params["learning_rate"], steps, alpha=0.02)
    model.compile(code_models.optimizer(params, sched), "mse")
    stop = keras.callbacks.EarlyStopping("val_loss", patience=patience, restore_best_weights=True)
    h = model.fit(xin, xin, batch_size=128, epochs=epochs, validation_data=(xval_in, xval_t), callbacks=[stop], verbose=0)
    return h.history["val_loss"]
for ch in [int(c) for c in sys.argv[1].split(",")]:
    for size in (32, 8):
        p = dict(res[str(size)]["params"]); p["channels"] = ch
        keras.utils.set_random_seed(0)
        _, _, ae = code_models.build(p, size)
        t = time.time()
        vl = fit(ae, p, x, xv, xv, int(sys.argv[2]), 4)
        mse = float(np.mean((ae.predict(xte, batch_size=1024, verbose=0) - xte) ** 2))
        print(f"ch {ch} AE{size}: test {mse:.5f} val {[round(v,5) for v in vl]} ({time.time()-t:.0f}s)", flush=True)
        if size == 32:
            w = ae.get_weights()
            for kind in corruption.CORRUPTIONS:
                for cap in (6, 10):
                    ae.set_weights(w)
                    keras.utils.set_random_seed(0)
                    tr_model = keras.Sequential([keras.Input((28, 28, 1)), corruption.corruption_layer(kind, 0.1, seed=0), ae])
                    cv = corruption.corrupt_once(xv, kind, seed=2025, sigma=0.1)
                    vl = fit(tr_model, p, x, cv, xv, cap, 2, lr=2e-3)
                    ct = corruption.corrupt_once(xte, kind, seed=2024, sigma=0.1)
                    m = float(np.mean((ae.predict(ct, batch_size=1024, verbose=0) - xte) ** 2))
                    print(f"  ch {ch} denoise {kind} cap {cap}: test {m:.5f} val {[round(v,5) for v in vl]}", flush=True)
            ae.set_weights(w)

"""Proxy (Keras 3 / JAX, GPU): the fine-tuning variants of the study at 16/32 channels, rate 1e-3 vs 3e-3."""
import os, sys, json, time
os.environ["KERAS_BACKEND"] = "jax"
sys.path.insert(0, "src")
import numpy as np, keras
from mnist_ae import preprocessing
from mnist_ae.models import code_models
from mnist_ae.studies import finetune

d = np.load(".devdata/mnist_uint8.npz")
X = (d["x_train"].astype("float32") / 255.).reshape(-1, 28, 28, 1); Y = d["y_train"].astype("int64")
Xt = (d["x_test"].astype("float32") / 255.).reshape(-1, 28, 28, 1); Yt = d["y_test"].astype("int64")
tr, va = preprocessing.train_validation_split(len(X))
x, y, xv, yv = X[tr], Y[tr], X[va], Y[va]
p = dict(json.load(open("report/results/code_size.json"))["finalists"]["32"]["params"]); p["channels"] = 16
keras.utils.set_random_seed(0)
enc, _, ae = code_models.build(p, 32)
steps = 14 * -(-len(x) // 128)
ae.compile(code_models.optimizer(p, keras.optimizers.schedules.CosineDecay(p["learning_rate"], steps, alpha=0.02)), "mse")
ae.fit(x, x, batch_size=128, epochs=14, validation_data=(xv, xv), verbose=0,
       callbacks=[keras.callbacks.EarlyStopping("val_loss", patience=4, restore_best_weights=True)])
print("AE32 test", float(np.mean((ae.predict(Xt, verbose=0, batch_size=1024) - Xt) ** 2)), flush=True)
V = finetune.variants(enc)
names = sys.argv[1].split("|")
for lr in [float(v) for v in sys.argv[2].split(",")]:
    for name in names:
        var = V[name]
        conv = var.cut == finetune.IMAGE
        cap, pat = 20, (3 if conv else 5)
        keras.utils.set_random_seed(0)
        frozen, model = finetune.build(enc, var, shift=2, seed=0)
        f = (lambda a: a) if frozen is None else (lambda a: frozen.predict(a, batch_size=1024, verbose=0))
        ft, fv, fte = f(x), f(xv), f(Xt)
        steps = cap * -(-len(ft) // 256)
        model.compile(keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(lr, steps, alpha=0.05)),
                      "sparse_categorical_crossentropy", metrics=["accuracy"])
        t = time.time()
        h = model.fit(ft, y, batch_size=256, epochs=cap, validation_data=(fv, yv), verbose=0,
                      callbacks=[keras.callbacks.EarlyStopping("val_accuracy", patience=pat, mode="max", restore_best_weights=True)])
        va_ = h.history["val_accuracy"]
        te = float(np.mean(model.predict(fte, batch_size=1024, verbose=0).argmax(1) == Yt))
        print(f"lr {lr} {name}: val {max(va_):.4f} (epochs {len(va_)}, best {int(np.argmax(va_))+1}) test {te:.4f} ({time.time()-t:.0f}s)", flush=True)

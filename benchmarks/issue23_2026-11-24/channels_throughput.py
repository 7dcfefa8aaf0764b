import sys, time, json
import mnist_ae
from mnist_ae import process
process.start_tensorflow(1)
import keras, numpy as np
from mnist_ae.models import code_models
d = json.load(open('report/results/code_size.json'))
x = np.random.rand(6400, 28, 28, 1).astype('float32')
for ch, hid in [(32, 427), (16, 427), (16, 256), (32, 256)]:
    p = dict(d['finalists']['32']['params']); p['channels'] = ch; p['hidden'] = hid
    keras.utils.set_random_seed(0)
    _, _, ae = code_models.build(p, 32)
    ae.compile(code_models.optimizer(p), 'mse', steps_per_execution=25)
    ae.fit(x[:128*25], x[:128*25], batch_size=128, epochs=1, verbose=0)
    t = time.perf_counter(); ae.fit(x, x, batch_size=128, epochs=1, verbose=0); dt = time.perf_counter() - t
    print(f"channels {ch} hidden {hid} params {ae.count_params()}: {len(x)/dt:.0f} img/s", flush=True)

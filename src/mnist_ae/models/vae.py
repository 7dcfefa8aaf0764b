"""Exercise 6: a convolutional variational autoencoder with a Gaussian (MSE) or Bernoulli decoder.

The encoder maps an image to `[z_mean, z_log_sigma, z]`, the parameters of a diagonal Gaussian
q(z|x) (log *standard deviation*, not log variance) and one reparametrised sample
`z = z_mean + n * exp(z_log_sigma)`, `n ~ N(0, I)`, drawn in a Keras `Lambda` layer. The decoder
maps z back to an image: pixel means through a sigmoid for the Gaussian/MSE VAE, raw logits for
the Bernoulli VAE. Both minimise `mean(reconstruction + beta * KL)` with per-image sums (see
`mnist_ae.models.losses`), in two ways:

- exercise 6's MSE VAE as the assignment asks: `build_mse_vae` is one Keras model whose squared
  error comes from `compile(loss=...)` and whose KL term from its `KLDivergence` layer;
- the likelihood study's Bernoulli VAE: `VAE.train_step`, because its target is a fresh binary
  draw of each training batch (dynamic binarization), which the input and the loss must share.

`VAE` holds the encoder and decoder of either kind for evaluation (posterior means, decoding,
per-image loss terms), so every step reads both VAEs the same way.

Models are saved as weights only and rebuilt from the builders with the same arguments. The
weights file also holds the two seed-generator states (sampling, binarization), so loading
weights restores where the noise streams were.

Example::

    keras.utils.set_random_seed(0)
    vae = VAE(build_vae_encoder(), build_vae_decoder(final_activation=None), likelihood="bernoulli",
              binarize=True)
    vae.compile(keras.optimizers.Adam(1e-3))
    vae.fit(x_train, epochs=10, batch_size=128, validation_data=(binarize(x_test, seed=0),))
    vae.evaluate(binarize(x_test, seed=0), return_dict=True)   # loss, reconstruction_loss, kl_loss
"""

from __future__ import annotations

import contextlib
import dataclasses

import keras
import numpy as np
import tensorflow as tf
from keras import layers, ops

from mnist_ae.preprocessing import PAD
from mnist_ae.models.losses import bernoulli_nll, inside_border, kl_divergence, squared_error_loss

INPUT_SHAPE = (32, 32, 1)
LATENT_DIM = 2
# Sized for a CPU: 16/32/64 filters and a 128-unit dense layer; twice the widths take twice the
# time (docs/measurements.md).
FILTERS = 16  # width of the first conv; each further stride-2 block doubles it
BLOCKS = 3  # stride-2 convs: 32x32 -> 16x16 -> 8x8 -> 4x4
HIDDEN = 128  # dense layer between the convs and the latent heads (0: none)
KERNEL = 3
LIKELIHOODS = ("gaussian", "bernoulli")


def sample_gaussian(args, seed):
    """Reparametrised draw `mean + n * exp(log_sigma)`, `n ~ N(0, I)`, from `args = [mean, log_sigma]`.

    `seed` must be a `keras.random.SeedGenerator`: its state is a variable that advances on
    every call, also inside a traced train step. An integer seed would be baked into the
    traced graph and give the same noise at every step.

    Example::

        gen = keras.random.SeedGenerator(0)
        z = sample_gaussian([ops.zeros((4, 2)), ops.zeros((4, 2))], seed=gen)   # ~ N(0, I)
    """
    mean, log_sigma = args
    noise = keras.random.normal(ops.shape(mean), dtype=mean.dtype, seed=seed)
    return mean + noise * ops.exp(log_sigma)


def _check_divisible(shape, blocks: int) -> None:
    if shape[0] % 2**blocks or shape[1] % 2**blocks:
        raise ValueError(f"image size {shape[:2]} must be divisible by 2**blocks = {2**blocks}")


def build_vae_encoder(latent_dim: int = LATENT_DIM, input_shape=INPUT_SHAPE, filters: int = FILTERS,
                      blocks: int = BLOCKS, hidden: int = HIDDEN, name: str = "vae_encoder") -> keras.Model:
    """Conv encoder: `blocks` x Conv2D(3x3, stride 2, ReLU) -> Dense(hidden, ReLU) -> two heads.

    Outputs `[z_mean, z_log_sigma, z]`, each (N, latent_dim); `z` comes from the `sampling`
    Lambda, so every call draws fresh noise.

    Example:
        >>> enc = build_vae_encoder(latent_dim=3, filters=4, hidden=8)
        >>> [tuple(t.shape) for t in enc.outputs]
        [(None, 3), (None, 3), (None, 3)]
    """
    _check_divisible(input_shape, blocks)
    inputs = keras.Input(shape=input_shape, name="image")
    x = inputs
    for i in range(blocks):
        x = layers.Conv2D(filters * 2**i, KERNEL, strides=2, padding="same", activation="relu",
                          name=f"enc_conv{i + 1}")(x)
    x = layers.Flatten(name="flatten")(x)
    if hidden:
        x = layers.Dense(hidden, activation="relu", name="enc_dense")(x)
    z_mean = layers.Dense(latent_dim, name="z_mean")(x)
    z_log_sigma = layers.Dense(latent_dim, name="z_log_sigma")(x)
    # The generator is created here, not at module level: an unseeded SeedGenerator takes its
    # initial state from Python's `random` when it is constructed, so
    # `keras.utils.set_random_seed(s)` before building makes the noise reproducible. A
    # module-level one would be constructed once at import and never be reset by it.
    seed = keras.random.SeedGenerator(name="sampling_seed")
    z = layers.Lambda(sample_gaussian, arguments={"seed": seed}, name="sampling")([z_mean, z_log_sigma])
    return keras.Model(inputs, [z_mean, z_log_sigma, z], name=name)


def build_vae_decoder(latent_dim: int = LATENT_DIM, output_shape=INPUT_SHAPE, filters: int = FILTERS,
                      blocks: int = BLOCKS, hidden: int = HIDDEN, final_activation: str | None = "sigmoid",
                      name: str = "vae_decoder") -> keras.Model:
    """Mirror of the encoder: Dense(hidden) -> Dense -> reshape -> `blocks` x Conv2DTranspose(stride 2).

    `final_activation="sigmoid"` gives pixel means in [0, 1] (Gaussian/MSE VAE); `None` gives
    logits (Bernoulli VAE, whose loss works on logits for numerical stability).

    Example:
        >>> dec = build_vae_decoder(latent_dim=3, filters=4, hidden=8, final_activation=None)
        >>> tuple(dec.output.shape)
        (None, 32, 32, 1)
    """
    _check_divisible(output_shape, blocks)
    height, width, channels = output_shape
    start = (height // 2**blocks, width // 2**blocks, filters * 2 ** (blocks - 1))
    inputs = keras.Input(shape=(latent_dim,), name="z")
    x = inputs
    if hidden:
        x = layers.Dense(hidden, activation="relu", name="dec_dense")(x)
    x = layers.Dense(int(np.prod(start)), activation="relu", name="dec_project")(x)
    x = layers.Reshape(start, name="dec_reshape")(x)
    for i in reversed(range(blocks - 1)):
        x = layers.Conv2DTranspose(filters * 2**i, KERNEL, strides=2, padding="same", activation="relu",
                                   name=f"dec_convT{blocks - 1 - i}")(x)
    outputs = layers.Conv2DTranspose(channels, KERNEL, strides=2, padding="same", activation=final_activation,
                                     name="logits" if final_activation is None else "reconstruction")(x)
    return keras.Model(inputs, outputs, name=name)


class KLDivergence(layers.Layer):
    """Adds `beta * mean KL(q(z|x) || N(0, I))` over the batch to its model's loss; passes `z` on.

    Called on `[z_mean, z_log_sigma, z]`. This is how the KL term reaches a model whose other
    loss comes from `compile`: Keras adds every `add_loss` term to the compiled loss it
    minimises. (Keras 2's recipe, a loss function closing over the encoder's symbolic tensors,
    no longer exists in Keras 3.)
    """

    def __init__(self, beta: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        self.beta = float(beta)

    def call(self, inputs):
        z_mean, z_log_sigma, z = inputs
        self.add_loss(self.beta * ops.mean(kl_divergence(z_mean, z_log_sigma)))
        return z


def build_mse_vae(encoder: keras.Model, decoder: keras.Model, beta: float = 1.0) -> keras.Model:
    """Exercise 6's VAE as one Keras model, image -> decoded sample, for `compile(loss=...)`.

    The encoder's heads and its sampling Lambda give `z`; `KLDivergence` adds the KL term; the
    decoder reconstructs from `z`. Compiled with `losses.squared_error_loss` (exercise 1's squared
    error), the loss Keras minimises is `mean(squared error + beta * KL)`. Shares its layers with
    `encoder` and `decoder`, so training it trains them.

    Example::

        model = build_mse_vae(build_vae_encoder(), build_vae_decoder())
        model.compile("adam", loss=squared_error_loss(border=2))
        model.fit(x_train, x_train, epochs=30, batch_size=128)
    """
    inputs = keras.Input(shape=encoder.input.shape[1:], name="image")
    z_mean, z_log_sigma, z = encoder(inputs)
    z = KLDivergence(beta, name="kl_divergence")([z_mean, z_log_sigma, z])
    return keras.Model(inputs, decoder(z), name="mse_vae")


def binarize(x: np.ndarray, seed: int) -> np.ndarray:
    """One fixed binarization of `x` in [0, 1]: each pixel is 1 with probability x -> float32 0/1.

    For test sets, binarized once so every evaluation sees the same images.

    Example:
        >>> binarize(np.array([[0.0, 1.0, 0.5, 0.5]]), seed=1).tolist()   # 0 and 1 are kept
        [[0.0, 1.0, 1.0, 0.0]]
    """
    return (np.random.default_rng(seed).random(np.shape(x)) < x).astype(np.float32)


def dynamic_binarize(x, seed):
    """Fresh Bernoulli(x) draws of the pixels of `x` (a tensor), with a `keras.random.SeedGenerator`."""
    x = ops.convert_to_tensor(x)
    return ops.cast(keras.random.uniform(ops.shape(x), dtype=x.dtype, seed=seed) < x, x.dtype)


class VAE(keras.Model):
    """Encoder + decoder trained on `mean over the batch of (reconstruction + beta * KL)`.

    `likelihood="gaussian"`: the decoder outputs pixel means (sigmoid) and the reconstruction
    term is the per-image sum of squared errors. `likelihood="bernoulli"`: the decoder outputs
    logits and the term is the per-image Bernoulli negative log-likelihood in nats.
    `binarize=True` (Bernoulli only) redraws a binary version of every training batch
    (dynamic binarization); evaluation uses the data as given, so binarize test sets once with
    `binarize(x, seed)`.

    `fit(x)` and `evaluate(x)` take images only and report `loss`, `reconstruction_loss` and
    `kl_loss` (per-image means). `beta` is read when the train step is traced: set it before
    the first `fit`. Calling the model returns the deterministic reconstruction of the
    posterior mean.
    """

    def __init__(self, encoder: keras.Model, decoder: keras.Model, beta: float = 1.0,
                 likelihood: str = "gaussian", binarize: bool = False, border: int = 0, **kwargs):
        super().__init__(**kwargs)
        if likelihood not in LIKELIHOODS:
            raise ValueError(f"likelihood must be one of {LIKELIHOODS}, got {likelihood!r}")
        if binarize and likelihood != "bernoulli":
            raise ValueError("binarize=True needs likelihood='bernoulli' (binary pixels)")
        self.encoder, self.decoder = encoder, decoder
        # Nothing to build: the encoder and decoder are built models. Marking it built lets
        # `save_weights` work before any call (train_step never calls the model itself).
        self.built = True
        self.beta, self.likelihood, self.binarize = float(beta), likelihood, bool(binarize)
        # Pixels this wide at each edge are left out of the likelihood: with MNIST zero-padded
        # to 32x32, border=2 makes the model's likelihood that of the 784 real pixels.
        self.border = int(border)
        # Created even when unused so that the weights file has the same layout either way;
        # unseeded, it is seeded from `keras.utils.set_random_seed` like the sampling one.
        self.binarize_seed = keras.random.SeedGenerator(name="binarize_seed")
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.reconstruction_tracker = keras.metrics.Mean(name="reconstruction_loss")
        self.kl_tracker = keras.metrics.Mean(name="kl_loss")

    @property
    def metrics(self):
        # Listed here so Keras resets them at the start of every epoch and evaluation.
        return [self.loss_tracker, self.reconstruction_tracker, self.kl_tracker]

    # --- deterministic paths (figures, saving checks) ------------------------------------

    def encode_mean(self, x):
        """Posterior means `z_mean` of the images `x` (a tensor or array)."""
        return self.encoder(x, training=False)[0]

    def decode(self, z):
        """Decoded images in [0, 1] for codes `z`: pixel means, or probabilities for Bernoulli."""
        out = self.decoder(z, training=False)
        return ops.sigmoid(out) if self.likelihood == "bernoulli" else out

    def call(self, x, training=False):
        return self.decode(self.encode_mean(x))

    # --- training ------------------------------------------------------------------------

    def train_inputs(self, x):
        """The images a train step actually fits: `x`, or a fresh binarization of it."""
        return dynamic_binarize(x, self.binarize_seed) if self.binarize else x

    def loss_terms(self, x, training=False):
        """Per-image `(reconstruction, kl)` for one sample z ~ q(z|x), each of shape (N,)."""
        z_mean, z_log_sigma, z = self.encoder(x, training=training)
        return self.reconstruction_term(x, self.decoder(z, training=training)), kl_divergence(z_mean, z_log_sigma)

    @contextlib.contextmanager
    def fixed_sampling_noise(self, seed: int):
        """Inside the block the encoder's sampling noise is the stream of `seed`; afterwards the
        generator is back where it was, so evaluating never shifts the training noise.

        Evaluation is then a function of the weights and `seed` only: the same cached model gives
        the same numbers whatever ran before it.
        """
        generator = self.encoder.get_layer("sampling").arguments["seed"]
        saved = ops.convert_to_numpy(generator.state)
        generator.state.assign(ops.convert_to_tensor([seed, 0], dtype=generator.state.dtype))
        try:
            yield
        finally:
            generator.state.assign(saved)

    def per_image_terms(self, x, batch_size: int = 1000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """`loss_terms` of every image of `x`, in batches, as float64 arrays `(reconstruction, kl)`.

        The one posterior sample per image is drawn from `seed` (see `fixed_sampling_noise`).
        """
        with self.fixed_sampling_noise(seed):
            parts = [self.loss_terms(x[i : i + batch_size], training=False) for i in range(0, len(x), batch_size)]
        return tuple(np.concatenate([ops.convert_to_numpy(p[j]).astype(np.float64) for p in parts]) for j in (0, 1))

    def reconstruction_term(self, x, out):
        """Per-image reconstruction term of decoder outputs `out` for images `x`, inside the border.

        Bernoulli: negative log-likelihood in nats (`out` are logits); Gaussian: the squared error
        the MSE VAE is compiled with (`squared_error_loss`), so evaluating it scores what it trained on.
        """
        if self.likelihood == "bernoulli":
            return bernoulli_nll(inside_border(x, self.border), inside_border(out, self.border))
        return squared_error_loss(self.border)(x, out)

    def _update_metrics(self, reconstruction, kl):
        # Per-image values, so the trackers average over images even when the last batch is short.
        self.loss_tracker.update_state(reconstruction + self.beta * kl)
        self.reconstruction_tracker.update_state(reconstruction)
        self.kl_tracker.update_state(kl)
        return {m.name: m.result() for m in self.metrics}

    def train_step(self, data):
        x, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        x = self.train_inputs(ops.convert_to_tensor(x))
        with tf.GradientTape() as tape:
            reconstruction, kl = self.loss_terms(x, training=True)
            loss = ops.mean(reconstruction + self.beta * kl)
        grads = tape.gradient(loss, self.trainable_weights)
        self.optimizer.apply_gradients(zip(grads, self.trainable_weights))
        return self._update_metrics(reconstruction, kl)

    def test_step(self, data):
        x, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        return self._update_metrics(*self.loss_terms(ops.convert_to_tensor(x), training=False))


@dataclasses.dataclass(frozen=True)
class VAEConfig:
    """A VAE and how it trains (`training.vae_recipe` gives the job's two). `likelihood="gaussian"` is exercise 6's
    MSE VAE, trained through `compile`; `"bernoulli"` the likelihood study's, on dynamically
    binarized training images."""

    epochs: int = 30
    batch_size: int = 128
    learning_rate: float = 2e-3
    seed: int = 0
    latent_dim: int = 2
    likelihood: str = "gaussian"
    beta: float = 1.0
    filters: int = FILTERS
    hidden: int = HIDDEN


def build(config: VAEConfig) -> VAE:
    """The exercise 6 VAE described by `config`, freshly initialised from `config.seed`."""
    keras.utils.set_random_seed(config.seed)
    bernoulli = config.likelihood == "bernoulli"
    encoder = build_vae_encoder(config.latent_dim, filters=config.filters, hidden=config.hidden)
    decoder = build_vae_decoder(config.latent_dim, filters=config.filters, hidden=config.hidden,
                                    final_activation=None if bernoulli else "sigmoid")
    return VAE(encoder, decoder, beta=config.beta, likelihood=config.likelihood, binarize=bernoulli,
                   border=PAD)

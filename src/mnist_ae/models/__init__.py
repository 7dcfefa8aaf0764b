"""The networks and what they are trained with.

- `constrained`: exercise 1's autoencoder under the assignment's constraints, and exercise 4's
  classifier on its encoder.
- `vae`: the VAE (config, sampling `Lambda`, KL layer, encoder/decoder builders).
- `code_models`: the code-size study's autoencoder family (its params and a code size → encoder, decoder).
- `losses`: squared error, Bernoulli likelihood and the KL term, in `keras.ops`.
- `corruption`: the denoising study's noise and random erasing, in `keras.ops`.
"""

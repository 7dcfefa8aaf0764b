"""Measuring trained models: reconstruction error, 1-NN, latent grids (`evaluation`), PCA and
t-SNE (`embedding`), the VAE's likelihood in nats (`likelihood`), and FLOPs (`flops`)."""

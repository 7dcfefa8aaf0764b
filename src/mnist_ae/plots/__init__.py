"""Figures, one function each: data and a path in, a PNG (and a PDF where the report wants vectors)
out, drawn at the size the report prints them (`charts`); the latent-space figures (`latent_plots`)."""

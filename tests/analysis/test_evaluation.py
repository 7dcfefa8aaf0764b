"""Metrics on hand-made data with known answers."""

import numpy as np
import pytest

from mnist_ae.analysis import evaluation


def test_nearest_neighbour_on_a_toy_set_with_known_answer():
    train = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0], [10.0, 10.0]])
    labels = np.array([0, 1, 2, 3])
    query = np.array([[1.0, 1.0], [9.0, 1.0], [1.0, 9.0], [9.0, 9.0], [6.0, 1.0], [4.0, 6.0]])
    np.testing.assert_array_equal(evaluation.nearest_neighbour_predict(train, labels, query), [0, 1, 2, 3, 1, 2])


def test_per_class_accuracy_by_hand():
    y_true = np.array([0, 0, 0, 1, 1, 2])
    y_pred = np.array([0, 1, 0, 1, 1, 0])
    np.testing.assert_allclose(evaluation.per_class_accuracy(y_true, y_pred, 3), [2 / 3, 1.0, 0.0])
    assert np.isnan(evaluation.per_class_accuracy(y_true, y_pred, 4)[3])  # no example of class 3


def test_cluster_summary_counts_codes_at_zero_and_separation():
    codes = np.array([[0.0, 1.0], [0.0, 1.1], [5.0, 0.0], [5.1, 0.0], [0.0, 0.0], [0.0, 0.0]])
    labels = np.array([0, 0, 1, 1, 2, 2])
    s = evaluation.cluster_summary(codes, labels, num_classes=3)
    np.testing.assert_allclose(s["zero_fraction_per_coordinate"], [4 / 6, 4 / 6])
    assert s["zero_fraction_both"] == pytest.approx(2 / 6)
    assert s["nearest_centroid_accuracy"] == 1.0
    assert s["silhouette"] > 0.9  # tight, far-apart clusters
    assert s["box"] == [0.0, 5.1, 0.0, 1.1]
    np.testing.assert_allclose(s["per_digit"]["1"]["centroid"], [5.05, 0.0])


def test_latent_grid_is_equidistant_row_major_from_the_top():
    codes, extent = evaluation.latent_grid((-1.0, 1.0, 0.0, 4.0), n=3)
    np.testing.assert_allclose(codes[:3], [[-1, 4], [0, 4], [1, 4]])
    np.testing.assert_allclose(codes[-3:], [[-1, 0], [0, 0], [1, 0]])
    assert extent == (-1.5, 1.5, -1.0, 5.0)  # half a cell beyond the box on each side
    with pytest.raises(ValueError, match="at least 2"):
        evaluation.latent_grid((0, 1, 0, 1), n=1)


def test_mosaic_puts_tile_k_at_row_k_div_n_column_k_mod_n():
    tiles = np.arange(4)[:, None, None] * np.ones((4, 2, 3))
    image = evaluation.mosaic(tiles, 2)
    assert image.shape == (4, 6)
    assert image[0, 0] == 0 and image[0, 3] == 1 and image[2, 0] == 2 and image[3, 5] == 3


class Halve:
    """A stand-in autoencoder whose reconstruction is half the input."""

    def predict(self, x, verbose=0):
        return x / 2


def test_reconstruction_mse_over_mnist_pixels_and_padded_input():
    x = np.zeros((3, 32, 32, 1), np.float32)
    x[:, 2:30, 2:30] = 1.0  # the 28x28 MNIST area
    mse = evaluation.reconstruction_mse(Halve(), x, batch_size=2)
    assert mse["mse"] == pytest.approx(0.25)
    assert mse["mse_padded"] == pytest.approx(0.25 * 784 / 1024)


def test_per_class_mse_is_the_mean_squared_error_of_each_digits_images():
    class Zeros:  # reconstructs every image as black: the error is the image's mean squared intensity
        def predict(self, x, verbose=0):
            return np.zeros_like(x)

    x = np.zeros((4, 32, 32, 1), np.float32)
    x[0, 2:30, 2:30] = 1.0  # a white 28x28 image: MSE 1
    x[1, 2:16, 2:30] = 0.5  # half of it at 0.5: MSE 0.125
    x[2, 0, 0] = 1.0  # only in the padding: not an MNIST pixel, MSE 0
    result = evaluation.per_class_mse(Zeros(), x, np.array([0, 0, 1, 2]), num_classes=4, batch_size=3)
    assert result == {"0": pytest.approx(0.5625), "1": 0.0, "2": 0.0}


class FixedClassifier:
    """Returns the given probabilities, whatever the images."""

    def __init__(self, probabilities):
        self.probabilities = np.asarray(probabilities, np.float32)

    def predict(self, x, batch_size=None, verbose=0):
        assert len(x) == len(self.probabilities)
        return self.probabilities


def test_read_grid_measures_what_a_decoded_grid_shows():
    # A 2 x 2 grid, row 0 at the top: a sure 7 and an unsure tile on top, a sure 1 and a sure 4 below.
    p = np.full((4, 10), 0.0)
    p[0, 7], p[1, 3], p[1, 5], p[2, 1], p[3, 4] = 1.0, 0.6, 0.4, 0.95, 0.92
    p[2, 0] = 0.05
    counts = np.array([[3, 0], [1, 0]])  # codes in the left tiles only
    r = evaluation.read_grid(FixedClassifier(p), np.zeros((4, 32, 32, 1)), counts)
    assert r["confident_share"] == 0.75 and r["classes_seen"] == [1, 4, 7]
    assert r["confident_per_digit"]["7"] == 1 and sum(r["confident_per_digit"].values()) == 3
    assert r["empty_tiles"] == 2 and r["confident_share_empty"] == 0.5 and r["confident_share_occupied"] == 1.0
    assert r["bottom_row"] == [1, 4] and r["left_column"] == [1, 7] and r["predicted"] == [[7, 3], [1, 4]]
    assert r["top_row"] == [7] and r["right_column"] == [4]  # the unsure tile (top right) is skipped
    over_prior = evaluation.read_grid(FixedClassifier(p), np.zeros((4, 32, 32, 1)), None)
    assert over_prior["empty_tiles"] == 0 and over_prior["confident_share_empty"] is None


def test_extremes_per_run_counts_each_class_in_the_k_lowest_and_highest_of_every_run():
    runs = [{"0": 0.1, "1": 0.5, "2": 0.3, "3": 0.9}, {"0": 0.2, "1": 0.1, "2": 0.8, "3": 0.7}]
    counts = evaluation.extremes_per_run(runs, k=2)
    assert counts["lowest"] == {"0": 2, "1": 1, "2": 1, "3": 0}
    assert counts["highest"] == {"0": 0, "1": 1, "2": 1, "3": 2}
    assert evaluation.extremes_per_run([]) == {"lowest": {}, "highest": {}}

"""The model cache's keys: one per recipe, its parent model and the code that trains it."""

from mnist_ae import cache


def test_settings_key_depends_on_every_setting_and_the_code():
    a = cache.settings_key("ae", {"epochs": 1, "seed": 0}, code="c1")
    assert a == cache.settings_key("ae", {"seed": 0, "epochs": 1}, code="c1")
    assert a != cache.settings_key("ae", {"epochs": 1, "seed": 1}, code="c1")
    assert a != cache.settings_key("ae", {"epochs": 1, "seed": 0}, code="c2")


def test_cache_key_includes_the_parent_model():
    settings = {"epochs": 3}
    assert cache.settings_key("clf", settings, code="c") == cache.settings_key("clf", settings, parent=None, code="c")
    keys = {cache.settings_key("clf", settings, parent=p, code="c") for p in (None, "autoencoder-aaa", "autoencoder-bbb")}
    assert len(keys) == 3

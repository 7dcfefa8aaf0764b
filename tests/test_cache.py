"""The model cache's keys: one per recipe, its parent model and the code version."""

from mnist_ae import cache


def test_settings_key_depends_on_every_setting_and_the_code_version(monkeypatch):
    a = cache.settings_key("ae", {"epochs": 1, "seed": 0})
    assert a == cache.settings_key("ae", {"seed": 0, "epochs": 1})
    assert a != cache.settings_key("ae", {"epochs": 1, "seed": 1})
    monkeypatch.setattr(cache, "CODE_VERSION", cache.CODE_VERSION + 1)
    assert a != cache.settings_key("ae", {"epochs": 1, "seed": 0})


def test_cache_key_includes_the_parent_model():
    settings = {"epochs": 3}
    assert cache.settings_key("clf", settings) == cache.settings_key("clf", settings, parent=None)
    keys = {cache.settings_key("clf", settings, parent=p) for p in (None, "autoencoder-aaa", "autoencoder-bbb")}
    assert len(keys) == 3

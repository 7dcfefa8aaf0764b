"""A lane's worker: the steps it is sent run one after another, each followed by its end line."""

import json

from mnist_ae.errors import EXIT_INTERRUPTED
from mnist_ae.pipeline import worker


def request(tmp_path, name: str, body: str) -> str:
    script = tmp_path / f"{name}.py"
    script.write_text(f"import sys\n\ndef main(argv):\n    {body}\n")
    return json.dumps({"name": name, "script": str(script), "log": str(tmp_path / f"{name}.log"), "args": ["--x", "1"]})


def test_each_step_runs_and_ends_with_its_code_on_both_streams(tmp_path, capsys):
    requests = [request(tmp_path, "good", "print('good got', argv); return 0"),
                request(tmp_path, "bad", "print('bad: error: no', file=sys.stderr); return 2")]
    assert worker.serve("END", requests) == 0
    out, err = capsys.readouterr()
    assert out.splitlines() == ["good got ['--x', '1']", "END 0", "END 2"]
    assert err.splitlines() == ["END 0", "bad: error: no", "END 2"]


def test_ctrl_c_between_steps_ends_the_lane_quietly(capsys):
    def interrupted():
        raise KeyboardInterrupt
        yield

    assert worker.serve("END", interrupted()) == EXIT_INTERRUPTED
    assert capsys.readouterr() == ("", "")

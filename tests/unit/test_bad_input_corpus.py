# ruff: noqa: E501 - the corpus is a table, one case per line
"""The bad-input corpus: what a hostile new user feeds signalbench, and the one line it must get.

Every case runs the real command line (``signalbench.cli.main``) in a fresh folder and checks
the promise of docs/experiments.md ("Failures and signals"): exit status 2, exactly one line on
stderr that starts ``signalbench: error:`` and names the culprit, no traceback, and no file
written anywhere but the output folder (the temporary folder included). Nothing here runs SUMO.
"""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from tests.conftest import sumo_rl_nets

from signalbench.cli import main
from signalbench.experiments import ResultStore, TrialResult, TrialSpec, prestart

REPO = Path(__file__).resolve().parents[2]
MY_POLICY = REPO / "controllers" / "my_policy.py"
RESCO = sumo_rl_nets() / "RESCO" / "cologne1"
NET, ROUTES = RESCO / "cologne1.net.xml", RESCO / "cologne1.rou.xml"

BASE = 'name = "c"\nseeds = 1\n[sim]\nduration_s = 30\n'
NETWORKS = '[[networks]]\nid = "cologne1"\n'
CONTROLLERS = '[[controllers]]\nid = "fixed-time"\n'


def spec(*, top: str = "", sim: str = "", networks: str = NETWORKS, controllers: str = CONTROLLERS) -> str:
    """A spec whose parts can be replaced; ``top`` goes before [sim], ``sim`` into it."""
    return f'name = "c"\nseeds = 1\n{top}\n[sim]\nduration_s = 30\n{sim}\n{networks}\n{controllers}'


def controller_spec(cid: str, params: str = "") -> str:
    return spec(
        controllers=f'[[controllers]]\nid = "{cid}"\n' + (f"params = {{ {params} }}\n" if params else "")
    )


@dataclass(frozen=True)
class Case:
    """A command line (``{in}`` is the folder of the inputs), the files it needs, what it must say."""

    id: str
    argv: tuple[str, ...]
    fragment: str
    files: dict[str, bytes | str | None] | None = None  # name -> content; None makes a folder
    setup: Callable[[Path, pytest.MonkeyPatch], None] | None = None


def run_spec(name: str = "s.toml", *extra: str) -> tuple[str, ...]:
    return ("run", f"{{in}}/{name}", "--out", "out", *extra)


def adhoc(*extra: str, network: str = "cologne1", controller: str = "fixed-time") -> tuple[str, ...]:
    return ("run", "--network", network, "--controller", controller, "--seeds", "1", *extra)


def record(root: Path, *, tables: bool = True) -> Path:
    """A complete trial record (and its tables) in ``root``, as a run writes it; return its table."""
    trial = TrialSpec(network="cologne1-v0", controller="fixed-time-v0", seed=1)
    columns = {"tls": ["J"], "time_loss_per_veh_s": [1.0], "queue_mean_veh": [1.0]}
    series = {"tls": ["J"], "approach": ["n"], "begin_s": [0.0], "end_s": [60.0], "queue_mean_veh": [1.0]}
    ResultStore(root).put(
        TrialResult(
            trial_id=trial.trial_id,
            spec=trial,
            state="complete",
            metrics={"mean_delay_s": 10.0},
            tables={"intersections": columns, "timeseries": series} if tables else {},
        )
    )
    return root / "trials" / f"{trial.trial_id}.timeseries.parquet"


def corrupt_table(content: bytes) -> Callable[[Path, pytest.MonkeyPatch], None]:
    def setup(work: Path, _: pytest.MonkeyPatch) -> None:
        record(work / "exp").write_bytes(content)

    return setup


def an_experiment(work: Path, _: pytest.MonkeyPatch) -> None:
    record(work / "exp")


def bad_record(content: str) -> Callable[[Path, pytest.MonkeyPatch], None]:
    def setup(work: Path, _: pytest.MonkeyPatch) -> None:
        (work / "exp" / "trials").mkdir(parents=True)
        (work / "exp" / "trials" / "0123456789abcdef.json").write_text(content)

    return setup


TRUNCATED_NET = NET.read_bytes()[: NET.read_bytes().index(b"</tlLogic>") + len(b"</tlLogic>")]
NO_LIGHTS_NET = '<net version="1.20">\n  <location netOffset="0,0"/>\n</net>\n'
CTRL_FILES = {
    "syntax.py": "class C(:\n",
    "boom.py": "raise RuntimeError('import-time failure')\n",
    "asserts.py": (
        "from dataclasses import dataclass\nfrom signalbench import BaseController, PhaseRequest\n"
        "@dataclass(frozen=True)\nclass P:\n    k: float = 1.0\n    def __post_init__(self):\n"
        "        assert self.k > 0, 'k must be positive'\n"
        "class C(BaseController):\n    Params = P\n    def act(self, obs):\n        return PhaseRequest.hold()\n"
    ),
}

SPECS = [
    Case("spec-binary", run_spec(), "not UTF-8 text", {"s.toml": bytes(range(128, 256))}),
    Case("spec-latin1", run_spec(), "not UTF-8 text (byte 0xe9", {"s.toml": 'name = "caf\xe9"\n'.encode("latin-1")}),
    Case("spec-utf16", run_spec(), "UTF-16", {"s.toml": spec().encode("utf-16")}),
    Case("spec-bom-bad-field", run_spec(), "seeds: a count must be >= 1", {"s.toml": "\ufeff" + spec(top="").replace("seeds = 1", "seeds = 0")}),
    Case("spec-is-a-folder", run_spec("d"), "is a folder, not a spec file", {"d": None}),
    Case("spec-missing", run_spec("missing.toml"), "spec file not found"),
    Case("spec-empty", run_spec(), "name: required", {"s.toml": ""}),
    Case("spec-invalid-toml", run_spec(), "invalid TOML", {"s.toml": "name = [\n"}),
    Case("spec-nul-byte", run_spec(), "invalid TOML", {"s.toml": 'name = "a"\x00\n'}),
    Case("name-dotdot-path", run_spec("s.toml"), "a name is a label, not a path", {"s.toml": spec().replace('"c"', '"../../escape"')}),
    Case("name-absolute", run_spec(), "a name is a label, not a path", {"s.toml": spec().replace('"c"', '"/tmp/abs"')}),
    Case("name-dot", run_spec(), "must not start with '.'", {"s.toml": spec().replace('"c"', '"."')}),
    Case("name-dotdot", run_spec(), "must not start with '.'", {"s.toml": spec().replace('"c"', '".."')}),
    Case("name-control-char", run_spec(), "a name is a label", {"s.toml": spec().replace('"c"', '"a\\u0001b"')}),
    Case("name-nul", run_spec(), "name: contains a NUL byte", {"s.toml": spec().replace('"c"', '"a\\u0000b"')}),
    Case("name-too-long", run_spec(), "too long for a folder name", {"s.toml": spec().replace('"c"', '"' + "x" * 300 + '"')}),
    Case("name-not-a-string", run_spec(), "name: required: a non-empty string", {"s.toml": spec().replace('"c"', "5")}),
    Case("seeds-a-billion", run_spec(), "1,000,000,000 seeds is more than", {"s.toml": spec().replace("seeds = 1", "seeds = 1000000000")}),
    Case("seed-beyond-int32", run_spec(), "beyond SUMO's range", {"s.toml": spec().replace("seeds = 1", "seeds = [3000000000]")}),
    Case("seed-negative", run_spec(), "seeds must be >= 0", {"s.toml": spec().replace("seeds = 1", "seeds = [-1]")}),
    Case("seeds-a-string", run_spec(), "expected a list of integers or a count", {"s.toml": spec().replace("seeds = 1", 'seeds = "three"')}),
    Case("seeds-repeat", run_spec(), "seeds repeat", {"s.toml": spec().replace("seeds = 1", "seeds = [1, 1]")}),
    Case("trials-too-many", run_spec(), "is more than one experiment runs", {"s.toml": spec(top="demand = [" + ", ".join(str(1 + i / 100) for i in range(20)) + "]").replace("seeds = 1", "seeds = 90000")}),
    Case("demand-nan", run_spec(), "demand[0]: expected a number, got nan", {"s.toml": spec(top="demand = [nan]")}),
    Case("demand-negative", run_spec(), "demand[0]: must be > 0", {"s.toml": spec(top="demand = [-1.0]")}),
    Case("step-length-huge", run_spec(), "sim.step_length_s: must be <= 3600", {"s.toml": spec(sim="step_length_s = 1e9")}),
    Case("step-length-tiny", run_spec(), "sim.step_length_s: must be >= 0.001", {"s.toml": spec(sim="step_length_s = 1e-5")}),
    Case("step-longer-than-window", run_spec(), "is longer than the 30 s window", {"s.toml": spec(sim="step_length_s = 60")}),
    Case("duration-inf", run_spec(), "sim.duration_s: expected a number, got inf", {"s.toml": spec().replace("duration_s = 30", "duration_s = inf")}),
    Case("begin-absurd", run_spec(), "must be <= 1e+09", {"s.toml": spec(networks='[[networks]]\nid = "cologne1"\nbegin_s = 1e15\nend_s = 1.0000000001e15\n')}),
    Case("warmup-negative", run_spec(), "sim.warmup_s: must be >= 0", {"s.toml": spec(sim="warmup_s = -5")}),
    Case("networks-a-string", run_spec(), "write networks = ['cologne1']", {"s.toml": spec(top='networks = "cologne1"', networks="")}),
    Case("networks-one-table", run_spec(), "write [[networks]] (two brackets)", {"s.toml": spec(networks='[networks]\nid = "cologne1"\n')}),
    Case("networks-missing", run_spec(), "at least one [[networks]] entry", {"s.toml": spec(networks="")}),
    Case("controllers-a-string", run_spec(), "write controllers = ['max-pressure']", {"s.toml": spec(top='controllers = "max-pressure"', controllers="")}),
    Case("unknown-key", run_spec(), "workerz: unknown key (did you mean '[run] workers'?)", {"s.toml": spec(top="workerz = 2")}),
    Case("run-timeout-negative", run_spec(), "run.timeout_s: must be > 0", {"s.toml": spec(controllers=CONTROLLERS + "[run]\ntimeout_s = -1\n")}),
    Case("timing-type", run_spec(), "timing.yellow_s: expected a number", {"s.toml": spec(controllers=CONTROLLERS + '[timing]\nyellow_s = "3"\n')}),
    Case("timing-min-above-max", run_spec(), "exceeds", {"s.toml": spec(controllers=CONTROLLERS + "[timing]\nmin_green_s = 50\nmax_green_s = 10\n")}),
    Case("description-a-number", run_spec(), "description: expected a string", {"s.toml": spec(top="description = 5")}),
    Case("path-with-nul", run_spec(), "networks[0].path: contains a NUL byte", {"s.toml": spec(networks='[[networks]]\npath = "a\\u0000.sumocfg"\n')}),
]  # fmt: skip

NETWORK_CASES = [
    Case("net-empty", adhoc("--out", "out", "--route-files", str(ROUTES), network="{in}/e.net.xml"), "the network file is empty", {"e.net.xml": ""}),
    Case("net-not-sumo", adhoc("--out", "out", "--route-files", str(ROUTES), network="{in}/r.net.xml"), "not a SUMO network (its root element is <routes>", {"r.net.xml": "<routes/>\n"}),
    Case("net-truncated-after-first-tllogic", adhoc("--out", "out", "--route-files", str(ROUTES), network="{in}/t.net.xml"), "the network is cut short", {"t.net.xml": TRUNCATED_NET}),
    Case("networks-check-not-sumo", ("networks", "check", "{in}/r.net.xml"), "not a SUMO network", {"r.net.xml": "<routes/>\n"}),
    Case("networks-show-truncated", ("networks", "show", "{in}/t.net.xml"), "the network is cut short", {"t.net.xml": TRUNCATED_NET}),
    Case("networks-show-gz-truncated", ("networks", "show", "{in}/t.net.xml.gz"), "cannot read the network", {"t.net.xml.gz": __import__("gzip").compress(NET.read_bytes())[:3000]}),
    Case("net-binary", adhoc("--out", "out", "--route-files", str(ROUTES), network="{in}/b.net.xml"), "not a whole SUMO network", {"b.net.xml": bytes(range(256))}),
    Case("net-no-lights", adhoc("--out", "out", "--route-files", str(ROUTES), network="{in}/n.net.xml"), "has no traffic light", {"n.net.xml": NO_LIGHTS_NET}),
    Case("net-a-folder", adhoc("--out", "out", network="{in}/d"), "is a folder, not a network file", {"d": None}),
    Case("net-without-routes", adhoc("--out", "out", network=str(NET)), "needs route files"),
    Case("route-file-missing", adhoc("--out", "out", "--route-files", "{in}/none.rou.xml", network=str(NET)), "route file not found"),
    Case("route-file-a-folder", adhoc("--out", "out", "--route-files", "{in}/d", network=str(NET)), "is a folder, not a file", {"d": None}),
    Case("net-unknown-kind", adhoc("--out", "out", network="{in}/x.txt"), "expected a catalog id, a .sumocfg or a .net.xml", {"x.txt": "x"}),
    Case("net-id-typo", adhoc("--out", "out", network="colgne3"), "did you mean"),
    Case("sumocfg-not-xml", adhoc("--out", "out", network="{in}/c.sumocfg"), "not a readable .sumocfg", {"c.sumocfg": "not xml"}),
]  # fmt: skip

CONTROLLER_CASES = [
    Case("controller-unknown", adhoc("--out", "out", controller="max-presure"), "unknown controller 'max-presure'"),
    Case("controller-file-missing", adhoc("--out", "out", controller="{in}/none.py:C"), "controller file not found"),
    Case("controller-syntax-error", adhoc("--out", "out", controller="{in}/syntax.py:C"), "syntax.py", CTRL_FILES),
    Case("controller-import-raises", adhoc("--out", "out", controller="{in}/boom.py:C"), "import-time failure", CTRL_FILES),
    Case("controller-class-missing", adhoc("--out", "out", controller=f"{MY_POLICY}:Nope"), "has no controller class 'Nope'"),
    Case("param-nan", run_spec(), "switch_margin_veh must be a finite number, got nan", {"s.toml": controller_spec(f"{MY_POLICY}:MyPolicy", "switch_margin_veh = nan")}),
    Case("param-inf", run_spec(), "blocked_share must be a finite number, got inf", {"s.toml": controller_spec(f"{MY_POLICY}:MyPolicy", "blocked_share = inf")}),
    Case("params-two-bad", run_spec(), "2 errors: max_green_s must be a finite number > 0, got -1; passage_s", {"s.toml": controller_spec("actuated", "max_green_s = -1, passage_s = -2")}),
    Case("param-unknown", run_spec(), "unknown parameter 'switch_margin'", {"s.toml": controller_spec("max-pressure", "switch_margin = 1")}),
    Case("params-assert", run_spec(), "AssertionError: k must be positive", {**CTRL_FILES, "s.toml": controller_spec("asserts.py:C", "k = -1.0")}),
    Case("checkpoint-not-one", run_spec(), "is not a q-learning checkpoint", {"q.json": '{"format": "other"}', "s.toml": controller_spec("q-learning", 'checkpoint = "q.json"')}),
    Case("checkpoint-not-json", run_spec(), "is not a q-learning checkpoint (not readable JSON", {"q.json": "\x00\x01", "s.toml": controller_spec("q-learning", 'checkpoint = "q.json"')}),
    Case("checkpoint-a-folder", run_spec(), "is a folder, not a checkpoint file", {"q": None, "s.toml": controller_spec("q-learning", 'checkpoint = "q"')}),
    Case("checkpoint-missing", run_spec(), "checkpoint not found", {"s.toml": controller_spec("q-learning", 'checkpoint = "none.json"')}),
]  # fmt: skip


def _read_only(errno_code: int) -> Callable[[Path, pytest.MonkeyPatch], None]:
    """Make every folder made under ``work/ro`` fail as on a read-only file system or a foreign folder.

    (The tests run as root, whom permissions do not stop, and cannot mount a file system.)
    """

    def setup(work: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        real_mkdir = os.mkdir
        blocked = str(work / "ro")

        def mkdir(path: os.PathLike[str] | str, mode: int = 0o777, **kwargs: object) -> None:
            if os.path.abspath(path).startswith(blocked):
                raise OSError(errno_code, os.strerror(errno_code), os.fspath(path))
            real_mkdir(path, mode, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(os, "mkdir", mkdir)

    return setup


FLAG_CASES = [
    Case("out-is-a-file", adhoc("--out", "{in}/f"), "--out", {"f": "x"}),
    Case("out-dev-null", adhoc("--out", "/dev/null"), "--out /dev/null: is a device"),
    Case("out-under-a-file", adhoc("--out", "{in}/f/sub"), "is a file, not a folder", {"f": "x"}),
    Case("out-read-only-fs", adhoc("--out", "ro/out"), "read-only file system", setup=_read_only(errno.EROFS)),
    Case("out-not-writable", adhoc("--out", "ro/out"), "permission denied", setup=_read_only(errno.EACCES)),
    Case("out-name-too-long", adhoc("--out", "o" * 300), "name too long"),
    Case("seeds-flag-a-billion", adhoc("--out", "out", "--seeds", "1000000000"), "--seeds 1,000,000,000 is more than"),
    Case("seeds-flag-zero", ("run", "quickstart", "--seeds", "0", "--out", "out"), "--seeds must be >= 1"),
    Case("demand-flag-inf", adhoc("--out", "out", "--demand", "inf"), "--demand must be a finite number"),
    Case("duration-flag-nan", adhoc("--out", "out", "--duration-s", "nan"), "--duration-s must be a finite number > 0"),
    Case("workers-flag-zero", adhoc("--out", "out", "--workers", "0"), "run.workers: expected an integer >= 1"),
    Case("timeout-flag-negative", adhoc("--out", "out", "--timeout-s", "-1"), "run.timeout_s: must be > 0"),
    Case("ray-unreachable", adhoc("--out", "out", "--launcher", "ray", "--address", "127.0.0.1:1"), "cannot reach a Ray cluster at 127.0.0.1:1"),
    Case("ray-address-garbage", adhoc("--out", "out", "--launcher", "ray", "--address", "garbage"), "expected host:port"),
    Case("spec-and-network", ("run", "quickstart", "--network", "cologne1", "--out", "out"), "not both"),
    Case("train-out-a-folder", ("train", "q-learning", "--network", "cologne1", "--out", "{in}/d"), "is a folder; give a file name", {"d": None}),
    Case("train-out-under-a-file", ("train", "q-learning", "--network", "cologne1", "--out", "{in}/f/q.json"), "is a file, not a folder", {"f": "x"}),
    Case("train-out-dev-null", ("train", "q-learning", "--network", "cologne1", "--out", "/dev/null"), "is not a regular file"),
    Case("train-seed-beyond-int32", ("train", "q-learning", "--network", "cologne1", "--out", "out/q.json", "--seeds", "5000000000"), "outside 0..2147483647"),
    Case("train-scale-nan", ("train", "q-learning", "--network", "cologne1", "--out", "out/q.json", "--scale", "nan"), "--scale must be a finite number"),
    Case("train-does-not-learn", ("train", "fixed-time", "--network", "cologne1", "--out", "out/q.json"), "does not learn"),
    Case("report-out-a-file", ("report", "exp", "--out", "{in}/f"), "--out", {"f": "x"}, setup=an_experiment),
    Case("report-dir-missing", ("report", "nowhere"), "nowhere is not an experiment folder"),
    Case("report-dir-a-file", ("report", "{in}/f"), "is a file, not an experiment folder", {"f": "x"}),
]  # fmt: skip

STORE_CASES = [
    Case("report-corrupt-parquet", ("report", "exp", "--out", "out"), "timeseries.parquet: not a readable Parquet table", setup=corrupt_table(b"PAR1 garbage")),
    Case("report-empty-parquet", ("report", "exp", "--out", "out"), "timeseries.parquet: not a readable Parquet table", setup=corrupt_table(b"")),
    Case("results-corrupt-record", ("results", "exp"), "0123456789abcdef.json: not a signalbench trial record", setup=bad_record("{")),
    Case("results-empty-record", ("results", "exp"), "0123456789abcdef.json: not a signalbench trial record", setup=bad_record("")),
    Case("results-list-record", ("results", "exp"), "0123456789abcdef.json: not a signalbench trial record", setup=bad_record("[]")),
    Case("results-record-wrong-types", ("results", "exp"), "not a signalbench trial record", setup=bad_record('{"trial_id": "x", "state": "complete", "spec": {"network": "n", "controller": "c", "seed": 1}, "metrics": "x"}')),
    Case("results-no-records", ("results", "{in}/d"), "not a signalbench experiment directory", {"d": None}),
    Case("results-on-a-file", ("results", "{in}/f"), "no such directory", {"f": "x"}),
    Case("report-no-records", ("report", "{in}/d", "--out", "out"), "not a signalbench experiment directory", {"d": None}),
]  # fmt: skip

CORPUS = [*SPECS, *NETWORK_CASES, *CONTROLLER_CASES, *FLAG_CASES, *STORE_CASES]


def test_the_corpus_is_large_and_distinct():
    assert len(CORPUS) >= 60
    assert len({c.id for c in CORPUS}) == len(CORPUS)


@pytest.fixture(scope="module", autouse=True)
def _fork_server_started_outside_the_cases():
    # `run` starts the launcher's fork server first thing; in this test process it then outlives
    # the case, and its multiprocessing folder (removed when a real command exits) must not
    # count as a file the case wrote.
    prestart()


def _tree(root: Path) -> set[Path]:
    return set(root.rglob("*"))


@pytest.mark.parametrize("case", CORPUS, ids=[c.id for c in CORPUS])
def test_bad_input_is_one_line_and_writes_nothing_outside_the_output(case, tmp_path, monkeypatch, capsys):
    inputs, work, tmp = tmp_path / "in", tmp_path / "work", tmp_path / "tmp"
    for folder in (inputs, work, tmp):
        folder.mkdir()
    for name, content in (case.files or {}).items():
        target = inputs / name
        if content is None:
            target.mkdir()
        elif isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content, encoding="utf-8")
    monkeypatch.chdir(work)
    monkeypatch.setenv("TMPDIR", str(tmp))
    monkeypatch.setattr(tempfile, "tempdir", None)
    if case.setup is not None:
        case.setup(work, monkeypatch)
    before = _tree(tmp_path)
    code = main([a.replace("{in}", str(inputs)) for a in case.argv])
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert code == 2, err
    assert len(lines) == 1, err
    assert lines[0].startswith("signalbench: error: "), err
    assert case.fragment in lines[0], lines[0]
    assert "Traceback" not in err
    written = {p for p in _tree(tmp_path) - before if not p.is_relative_to(work / "out")}
    assert not written, f"written outside the output folder: {sorted(map(str, written))}"

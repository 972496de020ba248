"""The AWS provider's resource modules load as the stack uses them (cdktf_transactions/
provider_loading.py, lazy_provider.cjs; issue 17): the lazy entry module exports exactly what the
shipped one does, anything it does not recognise is compiled as shipped, and the app's synth loads
only the modules the stack uses."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from cdktf_transactions import provider_loading

ROOT = Path(__file__).resolve().parents[2]
NODE = shutil.which("node") or "node"

# Evaluates the shipped index.js and its lazy form, each with a require that records what it was
# asked for and answers a stand-in module, and reports what each exports and when it required it.
COMPARE = r"""
const { transform } = require(process.argv[1]);
const source = require('fs').readFileSync(process.argv[2], 'utf8');
function evaluate(text) {
  const asked = [];
  const modules = {};
  const fake = (id) => { asked.push(id); return (modules[id] ||= { __esModule: true, id }); };
  const module = { exports: {} };
  new Function('exports', 'require', 'module', text).call(module.exports, module.exports, fake, module);
  return { exports: module.exports, asked, modules };
}
const lazySource = transform(source);
if (lazySource === null) { console.log(JSON.stringify({ recognised: false })); process.exit(0); }
const eager = evaluate(source);
const lazy = evaluate(lazySource);
const askedAtLoad = lazy.asked.length;
const keys = Object.keys(lazy.exports);
// Reading each name runs its getter: it must give the module (the stand-in of the same path) that
// the shipped line assigned, and the same object when read again.
const mismatched = keys.filter((k) => lazy.exports[k].id !== eager.exports[k].id);
const twice = keys.filter((k) => lazy.exports[k] !== lazy.modules[lazy.exports[k].id]);
// Once read, each name is the plain data property the shipped assignment made.
const describe = (object, k) => JSON.stringify(Object.getOwnPropertyDescriptor(object, k));
const unlikeShipped = keys.filter((k) => describe(lazy.exports, k) !== describe(eager.exports, k));
// A name assigned before it is read holds the assigned value and requires nothing.
const again = evaluate(lazySource);
const sentinel = { assigned: true };
again.exports[keys[0]] = sentinel;
const plain = { value: sentinel, writable: true, enumerable: true, configurable: true };
const writtenHolds = again.exports[keys[0]] === sentinel && again.asked.length === 0
  && describe(again.exports, keys[0]) === JSON.stringify(plain);
console.log(JSON.stringify({
  recognised: true,
  eagerKeys: Object.keys(eager.exports),
  lazyKeys: keys,
  eagerAsked: eager.asked.length,
  askedAtLoad,
  askedAfterReading: lazy.asked.length,
  mismatched,
  twice,
  unlikeShipped,
  writtenHolds,
  sameTargets: JSON.stringify([...eager.asked].sort()) === JSON.stringify([...lazy.asked].sort()),
}));
"""


@pytest.fixture(scope="module")
def shipped_index(tmp_path_factory) -> Path:
    """lib/index.js of the provider package the Python bindings hand to the jsii kernel."""
    # Found, not imported: an import would start a jsii kernel in this worker (test_stack.py).
    spec = importlib.util.find_spec("cdktn_provider_aws")
    (tarball,) = (Path(spec.origin).parent / "_jsii").glob("*.jsii.tgz")
    target = tmp_path_factory.mktemp("provider") / "index.js"
    with tarfile.open(tarball, "r|gz") as archive:
        for member in archive:
            if member.name == "package/lib/index.js":
                target.write_bytes(archive.extractfile(member).read())
                return target
    raise AssertionError(f"no package/lib/index.js in {tarball}")


def compare(index: Path) -> dict:
    run = subprocess.run(
        [NODE, "-e", COMPARE, str(provider_loading.HOOK), str(index)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(run.stdout)


def test_the_lazy_entry_module_exports_what_the_shipped_one_does(shipped_index):
    found = compare(shipped_index)
    assert found["recognised"], "lazy_provider.cjs no longer recognises the provider's index.js"
    assert found["eagerAsked"] > 2000  # the shipped module requires every resource module at load
    assert found["askedAtLoad"] == 0  # the lazy one none
    assert found["lazyKeys"] == found["eagerKeys"]  # the same names, enumerable, in the same order
    assert found["mismatched"] == []  # each name holds the module the shipped line would have
    assert found["twice"] == []  # a module is required once, and read again it is the same value
    assert found["unlikeShipped"] == []  # then a writable, enumerable, configurable data property
    assert found["writtenHolds"]  # a name assigned before it is read keeps the assignment
    assert found["askedAfterReading"] == found["eagerAsked"] and found["sameTargets"]


@pytest.mark.parametrize(
    "edit",
    [
        'exports.custom = require("./custom/index");\n',  # a require of another shape
        'exports.more = __importStar(require("./more/index")).More;\n',
    ],
    ids=["plain-require", "member-of-a-module"],
)
def test_an_entry_module_with_a_require_it_does_not_recognise_is_compiled_as_shipped(
    shipped_index, tmp_path, edit
):
    edited = tmp_path / "index.js"
    edited.write_text(shipped_index.read_text() + edit)
    assert compare(edited) == {"recognised": False}


def test_node_options_keep_what_the_caller_set_and_add_the_hook_once():
    once = provider_loading.node_options("--max-old-space-size=4096")
    assert once.startswith("--max-old-space-size=4096 --require ")
    assert provider_loading.node_options(once) == once
    environ = {}
    provider_loading.enable(environ)
    assert environ["NODE_OPTIONS"] == f"--require {json.dumps(str(provider_loading.HOOK))}"
    # An unbalanced quote is Node's to refuse, with its own message, not a traceback here.
    assert provider_loading.node_options('--title "x').startswith('--title "x --require ')


@pytest.mark.parametrize(
    "folder",
    ["with space", "accentu\u00e9 \u00fcml\u00e4ut", 'quote" and \\ backslash'],
    ids=["spaces", "accents", "quote-and-backslash"],
)
def test_node_loads_the_hook_from_a_checkout_path_with_spaces_accents_or_quotes(tmp_path, folder):
    """A clone may live under any folder name: Node must find the hook NODE_OPTIONS names."""
    hook = tmp_path / folder / "lazy_provider.cjs"
    hook.parent.mkdir()
    shutil.copy(provider_loading.HOOK, hook)
    run = subprocess.run(
        [NODE, "-e", "console.log(JSON.stringify(Object.keys(require.cache)))"],
        env={**os.environ, "NODE_OPTIONS": provider_loading.node_options("", hook)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert str(hook) in json.loads(run.stdout)


# Under the hook, a compile that records the arguments it receives for one file (and compiles the
# hook itself as Node does), then a call of the hook's wrapper for that file.
PASS_ON = r"""
const Module = require('module');
const received = [];
const node = Module.prototype._compile;
Module.prototype._compile = function (...args) {
  if (args[1] !== '/elsewhere/x.js') return node.apply(this, args);
  received.push(args);
  return 'compiled';
};
require(process.argv[1]);
const compile = Module.prototype._compile;
const answer = compile.call({}, 'module.exports = 1;', '/elsewhere/x.js', 'commonjs', 'more');
console.log(JSON.stringify({ answer, received }));
"""


def test_the_hook_passes_every_argument_of_a_compile_on():
    """Node 22 calls _compile(content, filename, format): a wrapper that drops the format would
    compile an ES module as CommonJS."""
    run = subprocess.run(
        [NODE, "-e", PASS_ON, str(provider_loading.HOOK)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert json.loads(run.stdout) == {
        "answer": "compiled",
        "received": [["module.exports = 1;", "/elsewhere/x.js", "commonjs", "more"]],
    }


# Preloaded beside the hook in the synth below: each Node process of the kernel writes, when it
# exits, how many of the provider's resource modules it compiled.
PROBE = r"""
const path = require('path');
process.on('exit', () => {
  const marker = `${path.sep}@cdktn${path.sep}provider-aws${path.sep}`;
  const modules = Object.keys(require.cache)
    .filter((file) => file.includes(marker) && path.basename(file) === 'index.js')
    .map((file) => path.basename(path.dirname(file)))
    .filter((folder) => folder !== 'lib');
  require('fs').appendFileSync(process.env.PROVIDER_PROBE, JSON.stringify(modules) + '\n');
});
"""


def test_the_apps_synth_loads_only_the_resource_modules_the_stack_uses(tmp_path):
    """main.py, as `make synth-all` and the cdktn CLI run it, preloads the hook before the kernel
    starts: the stack's synth compiles a few dozen of the provider's 2,433 resource modules."""
    probe = tmp_path / "probe.cjs"
    probe.write_text(PROBE)
    report = tmp_path / "loaded.jsonl"
    env = {
        **os.environ,
        "NODE_OPTIONS": f"--require {json.dumps(str(probe))}",
        "PROVIDER_PROBE": str(report),
        "PYTHONPATH": str(ROOT),
        "CDKTF_OUTDIR": str(tmp_path / "out"),
        "TRANSACTIONS_ALARM_EMAIL": "oncall@example.com",
        "TRANSACTIONS_STATE_DIR": str(tmp_path / "state"),
    }
    env.pop("CDKTF_CONTEXT_JSON", None)
    run = subprocess.run(
        [sys.executable, "-P", "main.py"],
        cwd=ROOT / "cdktf_transactions",
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    (stack,) = (tmp_path / "out" / "stacks").iterdir()
    resources = json.loads((stack / "cdk.tf.json").read_text())["resource"]
    loaded = set().union(*(json.loads(line) for line in report.read_text().splitlines()))
    used = {kind.removeprefix("aws_").replace("_", "-") for kind in resources}
    assert used <= loaded and "provider" in loaded  # each resource type the stack writes, its provider
    assert len(loaded) < 100, f"{len(loaded)} resource modules compiled: the provider loaded eagerly"

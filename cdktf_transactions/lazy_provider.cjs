'use strict';
// Loaded into the jsii kernel with `node --require` (provider_loading.py sets NODE_OPTIONS).
//
// @cdktn/provider-aws's lib/index.js requires all of its 2,433 resource modules when the kernel
// loads the package (about 2.4 s of CPU and 700 MB, most of the transactions synth), though the
// stack uses about 40. Each `exports.x = __importStar(require("./x/index"));` line becomes a getter
// that requires its module the first time the kernel (or another module) reads it, and then holds
// the same value the eager line would have. Any other file, or an index.js with a line this does
// not recognise, is compiled exactly as shipped.

const Module = require('module');
const fs = require('fs');
const path = require('path');

const PACKAGE = '@cdktn/provider-aws';
const LINE = /^exports\.([A-Za-z_$][\w$]*) = __importStar\(require\(("\.\/[\w.-]+\/index")\)\);$/gm;
const REQUIRE = /\brequire\(/g;
const DEFINE = `
function __lazyExport(name, load) {
    Object.defineProperty(exports, name, {
        enumerable: true,
        configurable: true,
        get: function () {
            return hold(load());
        },
        set: function (value) {
            hold(value);
        },
    });
    function hold(value) {
        // From here on the plain data property the shipped assignment made.
        Object.defineProperty(exports, name, { value: value, enumerable: true, writable: true, configurable: true });
        return value;
    }
}
`;

/** The lazy source, or null when a require of the file is not one of the lines above. */
function transform(source) {
  let converted = 0;
  const lazy = source.replace(LINE, (_, name, target) => {
    converted += 1;
    return `__lazyExport(${JSON.stringify(name)}, function () { return __importStar(require(${target})); });`;
  });
  const requires = (source.match(REQUIRE) || []).length;
  if (converted === 0 || converted !== requires) {
    return null;
  }
  return lazy + DEFINE;
}

function isProviderIndex(filename) {
  if (path.basename(filename) !== 'index.js' || path.basename(path.dirname(filename)) !== 'lib') {
    return false;
  }
  try {
    const manifest = path.join(path.dirname(path.dirname(filename)), 'package.json');
    return JSON.parse(fs.readFileSync(manifest, 'utf8')).name === PACKAGE;
  } catch {
    return false;
  }
}

const compile = Module.prototype._compile;
// Every argument is passed on: Node 22 added a third (the module format), later ones may add more.
Module.prototype._compile = function (content, filename, ...rest) {
  if (isProviderIndex(filename)) {
    const lazy = transform(content);
    if (lazy !== null) {
      return compile.call(this, lazy, filename, ...rest);
    }
  }
  return compile.call(this, content, filename, ...rest);
};

module.exports = { transform, isProviderIndex, PACKAGE };

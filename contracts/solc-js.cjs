#!/usr/bin/env node
// A `solc`-compatible front for the pinned solc-js (npm `solc`), so that py-solc-x can drive it:
//   solc-js.cjs --version          prints the version like native solc does;
//   solc-js.cjs --standard-json    reads Standard JSON on stdin and prints only the output JSON
// (the npm `solcjs` CLI prefixes its output with a non-JSON line, which this avoids).
// Imports are read from the repository root (the current directory) and node_modules, nowhere else.
"use strict";
const fs = require("fs");
const path = require("path");
const solc = require(path.join(__dirname, "..", "node_modules", "solc"));

const root = path.resolve(process.cwd());
function findImports(p) {
  for (const base of [root, path.join(root, "node_modules")]) {
    const full = path.resolve(base, p);
    if (!full.startsWith(root + path.sep)) continue;
    if (fs.existsSync(full)) return { contents: fs.readFileSync(full, "utf8") };
  }
  return { error: "File not found: " + p };
}

const args = process.argv.slice(2);
if (args.includes("--version")) {
  process.stdout.write("solc, the solidity compiler commandline interface\nVersion: " + solc.version() + "\n");
} else if (args.includes("--standard-json")) {
  const input = fs.readFileSync(0, "utf8");
  process.stdout.write(solc.compile(input, { import: findImports }));
} else {
  process.stderr.write("usage: solc-js.cjs --version | --standard-json [ignored options]\n");
  process.exit(2);
}

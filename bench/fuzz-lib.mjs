// The modules bench/fuzz.mjs puts under test: dist/ as built by npx tsc -p tsconfig.json, or
// the dist/ of another build (--dist DIR: an older commit, to see a fix make a failure go away).
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

export async function distLib(dir = join(ROOT, 'dist')) {
  const base = resolve(dir);
  if (!existsSync(join(base, 'engine', 'pipeline.js'))) throw new Error(`${base} holds no build: build first (npx tsc -p tsconfig.json)`);
  const load = (p) => import(pathToFileURL(join(base, p)).href);
  const [pipeline, parser, options, json, text, monitor, tui, errors] = await Promise.all([
    load('engine/pipeline.js'), load('capture/capture-parser.js'), load('engine/options.js'), load('output/json.js'),
    load('output/text.js'), load('output/monitor.js'), load('output/tui/index.js'), load('errors.js'),
  ]);
  return {
    Pipeline: pipeline.Pipeline, CaptureParser: parser.CaptureParser, sniffFormat: parser.sniffFormat, analyzerOptions: options.analyzerOptions,
    renderJson: json.renderJson, renderText: text.renderText, monitorLine: monitor.monitorLine, replySuffix: monitor.replySuffix,
    openTui: tui.openTui, UserError: errors.UserError,
  };
}

// Restores Envoy's proto tree from a pinned npm package into xds/.protos, checks its
// integrity, strips the annotation-only options Herald never reads, and writes the
// transitive closure of the roots Herald compiles (build/proto-roots.txt) to
// .protos/closure.txt.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const PackageName = '@grpc/grpc-js-xds';
const PackageVersion = '1.14.1';
const PackageIntegrity =
  'sha512-F2mVXwEeMWw1znPUrp+8ykjsIOVnf7Rv+EyIvXOfz73w5tNolCnzokpLkE/d2Ehx30PJmZXqCQdMpx8DcBJohA==';
// Bump AnnotationStripVersion when stripAnnotations changes, so restored trees are redone.
const AnnotationStripVersion = 1;
const StampText = `${PackageName}@${PackageVersion} ${PackageIntegrity} strip-${AnnotationStripVersion}`;

const here = path.dirname(new URL(import.meta.url).pathname);
const xdsDir = path.resolve(here, '..');
const outDir = path.join(xdsDir, '.protos');
const treeDir = path.join(outDir, 'tree');
const stampFile = path.join(outDir, 'restored.stamp');
const rootsFile = path.join(here, 'proto-roots.txt');
const closureFile = path.join(outDir, 'closure.txt');

function fail(message) {
  console.error(`error HERALD001: Envoy proto restore failed: ${message}`);
  process.exit(1);
}

function restore() {
  if (fs.existsSync(stampFile) && fs.readFileSync(stampFile, 'utf8') === StampText) {
    return;
  }
  fs.rmSync(outDir, { recursive: true, force: true });
  fs.mkdirSync(treeDir, { recursive: true });
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'herald-protos-'));
  try {
    try {
      execFileSync('npm', ['pack', `${PackageName}@${PackageVersion}`, '--silent', '--pack-destination', work],
        { stdio: ['ignore', 'pipe', 'pipe'], timeout: 180000 });
    } catch (e) {
      const detail = (e.stderr ? e.stderr.toString() : e.message).trim().split('\n').slice(-3).join(' ');
      fail(`'npm pack ${PackageName}@${PackageVersion}' did not succeed (${detail}). Check that npm can reach its registry.`);
    }
    const tarball = fs.readdirSync(work).find((f) => f.endsWith('.tgz'));
    if (!tarball) {
      fail('npm pack produced no tarball.');
    }
    const bytes = fs.readFileSync(path.join(work, tarball));
    const actual = 'sha512-' + createHash('sha512').update(bytes).digest('base64');
    if (actual !== PackageIntegrity) {
      fail(`integrity mismatch for ${PackageName}@${PackageVersion}: expected ${PackageIntegrity}, got ${actual}.`);
    }
    execFileSync('tar', ['-xzf', path.join(work, tarball), '-C', work, 'package/deps']);
    const deps = path.join(work, 'package', 'deps');
    // One merged include root keeps protoc's output names simple.
    for (const sub of ['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate']) {
      fs.cpSync(path.join(deps, sub), treeDir, { recursive: true });
    }
    stripTree(treeDir);
    fs.writeFileSync(stampFile, StampText);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

// Envoy's protos carry validation, versioning and status annotations as custom options.
// Herald validates config in C# and never reads them, yet every generated file that
// imports them builds their extension registries when its descriptor is first touched:
// most of a static bootstrap's start-up time. They are options only, so removing them
// changes no message, field number or wire format.
const AnnotationImport = /^\s*import\s+(?:public\s+)?"(?:validate\/validate|udpa\/annotations\/[a-z_]+|xds\/annotations\/v3\/[a-z_]+|envoy\/annotations\/[a-z_]+)\.proto";[^\n]*\n/gm;
const AnnotationOption = /^\((?:validate|udpa\.annotations|xds\.annotations|envoy\.annotations)\./;

function stripTree(dir) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      stripTree(full);
    } else if (entry.name.endsWith('.proto')) {
      const text = fs.readFileSync(full, 'utf8');
      const stripped = stripAnnotations(text);
      if (stripped !== text) {
        fs.writeFileSync(full, stripped);
      }
    }
  }
}

// Index just past the comment or string literal starting at i, or i when there is none.
function skipLiteral(text, i) {
  if (text.startsWith('//', i)) {
    const end = text.indexOf('\n', i);
    return end < 0 ? text.length : end;
  }
  if (text.startsWith('/*', i)) {
    const end = text.indexOf('*/', i + 2);
    return end < 0 ? text.length : end + 2;
  }
  const quote = text[i];
  if (quote === '"' || quote === "'") {
    let j = i + 1;
    while (j < text.length && text[j] !== quote) {
      j += text[j] === '\\' ? 2 : 1;
    }
    return j + 1;
  }
  return i;
}

// Index of the first of `stops` at nesting depth zero from i, skipping comments and strings.
function findAtDepthZero(text, i, stops) {
  let depth = 0;
  while (i < text.length) {
    const next = skipLiteral(text, i);
    if (next !== i) {
      i = next;
      continue;
    }
    const c = text[i];
    if (depth === 0 && stops.includes(c)) {
      return i;
    }
    if (c === '{' || c === '[' || c === '(') {
      depth++;
    } else if (c === '}' || c === ']' || c === ')') {
      depth--;
    }
    i++;
  }
  fail('unbalanced proto text while stripping annotations.');
  return -1;
}

function stripAnnotations(text) {
  text = text.replace(AnnotationImport, '');
  let out = '';
  let i = 0;
  while (i < text.length) {
    const next = skipLiteral(text, i);
    if (next !== i) {
      out += text.slice(i, next);
      i = next;
      continue;
    }
    const optionStatement = text[i] === 'o' && /^option\s*\(/.test(text.slice(i, i + 40));
    if (optionStatement && (i === 0 || /[\s;{}]/.test(text[i - 1]))) {
      const end = findAtDepthZero(text, i, ';') + 1;
      const name = text.slice(i + 'option'.length, end).trimStart();
      if (AnnotationOption.test(name)) {
        out = out.replace(/[ \t]*$/, '');
        i = end;
        if (text[i] === '\n') {
          i++;
        }
      } else {
        out += text.slice(i, end);
        i = end;
      }
      continue;
    }
    if (text[i] === '[') {
      const close = findAtDepthZero(text, i + 1, ']');
      const kept = [];
      let start = i + 1;
      while (start < close) {
        const comma = findAtDepthZero(text, start, ',]');
        const entry = text.slice(start, comma).trim();
        if (entry && !AnnotationOption.test(entry)) {
          kept.push(entry);
        }
        start = comma + 1;
      }
      if (kept.length > 0) {
        out += '[' + kept.join(', ') + ']';
      } else {
        out = out.replace(/\s*$/, '');
      }
      i = close + 1;
      continue;
    }
    out += text[i];
    i++;
  }
  return out;
}

function closure() {
  const roots = fs.readFileSync(rootsFile, 'utf8').split('\n').map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const seen = new Set();
  const stack = [...roots];
  while (stack.length > 0) {
    const rel = stack.pop();
    if (seen.has(rel) || rel.startsWith('google/protobuf/')) {
      continue;
    }
    const file = path.join(treeDir, rel);
    if (!fs.existsSync(file)) {
      fail(`proto ${rel} is not in ${PackageName}@${PackageVersion}.`);
    }
    seen.add(rel);
    const text = fs.readFileSync(file, 'utf8');
    for (const m of text.matchAll(/^\s*import\s+(?:public\s+|weak\s+)?"([^"]+)";/gm)) {
      stack.push(m[1]);
    }
  }
  const sorted = [...seen].sort();
  const body = sorted.join('\n') + '\n';
  if (!fs.existsSync(closureFile) || fs.readFileSync(closureFile, 'utf8') !== body) {
    fs.writeFileSync(closureFile, body);
  }
}

restore();
closure();

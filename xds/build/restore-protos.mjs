// Restores Envoy's proto tree from a pinned npm package into xds/.protos, checks its
// integrity, reconciles the bundled validate.proto, and writes the transitive
// closure of the roots Herald compiles (build/proto-roots.txt) to .protos/closure.txt.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const PackageName = '@grpc/grpc-js-xds';
const PackageVersion = '1.14.1';
const PackageIntegrity =
  'sha512-F2mVXwEeMWw1znPUrp+8ykjsIOVnf7Rv+EyIvXOfz73w5tNolCnzokpLkE/d2Ehx30PJmZXqCQdMpx8DcBJohA==';
const StampText = `${PackageName}@${PackageVersion} ${PackageIntegrity}`;

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
    reconcileValidate(path.join(treeDir, 'validate', 'validate.proto'));
    fs.writeFileSync(stampFile, StampText);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

// The bundled validate.proto predates StringRules.ignore_empty (field 26), which newer
// Envoy protos use; options only, so the wire format is unaffected.
function reconcileValidate(file) {
  let text = fs.readFileSync(file, 'utf8');
  if (/ignore_empty/.test(text.split('message StringRules')[1]?.split('\nmessage ')[0] ?? '')) {
    return;
  }
  text = text.replace(/message StringRules \{/, 'message StringRules {\n    optional bool ignore_empty = 26;');
  fs.writeFileSync(file, text);
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

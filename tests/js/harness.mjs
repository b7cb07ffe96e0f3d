// Shared helpers for the JavaScript tests (node's built-in test runner): the real foothold binary
// on port 0 with a temp data dir, and Debian's chromium driven by playwright-core.
// The binary comes from $FOOTHOLD_BINARY (set by CTest), else build/server/foothold.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const repoRoot = join(here, '..', '..');
export const binary = process.env.FOOTHOLD_BINARY || join(repoRoot, 'build', 'server', 'foothold');

// A desktop Chrome User-Agent: HeadlessChrome is flagged as a bot and left out of the counters.
export const DESKTOP_UA =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36';

// Polls `predicate` (sync or async) every `intervalMs` until it returns a truthy value or
// `timeoutMs` passes; returns the value or throws with `what` in the message.
export async function waitUntil(predicate, { timeoutMs = 10000, intervalMs = 50, what = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await predicate();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

// Starts foothold with `--listen 127.0.0.1:0 --data-dir <temp>` plus `args`; `env` is added to a
// minimal environment. Resolves once it listens (and on its admin port when one is asked for).
// The returned object has url, adminUrl, port, adminPort, dataDir, log(), stop(signal), kill9().
export async function startServer({ args = [], env = {}, dataDir } = {}) {
  if (!existsSync(binary)) throw new Error(`foothold binary not found at ${binary} (build first)`);
  const dir = dataDir || mkdtempSync(join(tmpdir(), 'foothold-js-'));
  const ownDir = !dataDir;
  const child = spawn(binary, ['--listen', '127.0.0.1:0', '--data-dir', dir, ...args], {
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  let exited = null;
  const exit = new Promise((resolve) => child.on('exit', (code, sig) => resolve((exited = { code, sig }))));
  const wantAdmin = args.includes('--admin-listen') || 'FOOTHOLD_ADMIN_LISTEN' in env;
  const ports = await waitUntil(
    () => {
      if (exited) throw new Error(`foothold exited before listening (${JSON.stringify(exited)}):\n${out}`);
      const p = {};
      for (const m of out.matchAll(/listening on [^ ]+:(\d+) \((\w[\w+]*)\)/g)) p[m[2] === 'admin' ? 'admin' : 'main'] = +m[1];
      return p.main && (!wantAdmin || p.admin) ? p : null;
    },
    { timeoutMs: 30000, what: 'foothold to listen' },
  );
  const server = {
    port: ports.main,
    adminPort: ports.admin || ports.main,
    url: `http://127.0.0.1:${ports.main}`,
    adminUrl: `http://127.0.0.1:${ports.admin || ports.main}`,
    dataDir: dir,
    log: () => out,
    exited: () => exited,
    async stop(signal = 'SIGTERM') {
      if (!exited) child.kill(signal);
      const r = await exit;
      if (ownDir) rmSync(dir, { recursive: true, force: true });
      return r;
    },
    async kill9() {
      if (!exited) child.kill('SIGKILL');
      return exit;
    },
  };
  return server;
}

// Launches Debian's chromium (never a downloaded browser) headless. The User-Agent is passed at
// launch too: one set only on the context is not used for requests sent while a page unloads.
export async function launchChromium({ userAgent = DESKTOP_UA, args = [] } = {}) {
  const { chromium } = await import('playwright-core');
  const executablePath = process.env.FOOTHOLD_CHROMIUM || '/usr/bin/chromium';
  if (!existsSync(executablePath)) throw new Error(`chromium not found at ${executablePath} (scripts/setup.sh test installs it)`);
  return chromium.launch({
    executablePath,
    headless: true,
    args: [
      `--user-agent=${userAgent}`,
      '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', ...args,
    ],
  });
}

// Reads one session's journey back (GET /v1/sessions/{id}, every page joined); null on 404.
export async function readSession(server, sessionId, headers = {}) {
  let all = null;
  let cursor = '';
  do {
    const url = `${server.adminUrl}/v1/sessions/${encodeURIComponent(sessionId)}?limit=10000` +
      (cursor ? `&cursor=${cursor}` : '');
    const r = await fetch(url, { headers });
    if (r.status === 404) return null;
    if (!r.ok) throw new Error(`GET /v1/sessions/${sessionId}: ${r.status} ${await r.text()}`);
    const page = await r.json();
    if (all === null) all = page;
    else all.events.push(...page.events);
    cursor = page.next_cursor ?? '';
  } while (cursor);
  all.next_cursor = null;
  return all;
}

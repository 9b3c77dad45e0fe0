import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { type BenchRow, percentile, round } from './harness.js';

const CLI = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const SERVER = fileURLToPath(new URL('../test/mcp/fixtures/changing-server.mjs', import.meta.url));
const N = 2000;
const WARMUP = 300;
const LISTS = 300;

async function connect(
  command: string,
  args: string[],
  env: Record<string, string>,
): Promise<{ client: Client; pid: number | null }> {
  const client = new Client({ name: 'bench', version: '1' });
  const transport = new StdioClientTransport({
    command,
    args,
    env: { PATH: process.env.PATH ?? '', ...env },
    stderr: 'ignore',
  });
  await client.connect(transport);
  return { client, pid: transport.pid };
}

/** CPU time (user + system) a process has used, in µs, from /proc (Linux); undefined elsewhere. */
function cpuMicros(pid: number | null): number | undefined {
  if (pid === null) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 14 and 15 of stat (utime, stime), in clock ticks; the kernel's USER_HZ is 100 on Linux.
    return (Number(fields[11]) + Number(fields[12])) * 10_000;
  } catch {
    return undefined;
  }
}

function row(name: string, samples: number[], note: string, target?: string): BenchRow {
  const s = [...samples].sort((a, b) => a - b);
  return {
    bench: 'mcp',
    case: name,
    n: s.length,
    p50: round(percentile(s, 50)),
    p95: round(percentile(s, 95)),
    p99: round(percentile(s, 99)),
    note,
    ...(target ? { target } : {}),
  };
}

/**
 * Added latency of one tools/call through the stdio proxy (`gatehouse mcp`, a real process: authenticate,
 * catalogue, authorize, assess, gate and filter on the call, screen and filter on the result, audit) versus
 * calling the same server directly. Calls alternate between the two paths so machine load hits both alike.
 */
export async function run(): Promise<BenchRow[]> {
  const dir = mkdtempSync(join(tmpdir(), 'gh-bench-mcp-'));
  const config = join(dir, 'gatehouse.yaml');
  const defs = join(dir, 'defs.json');
  writeFileSync(defs, '{}');
  writeFileSync(
    config,
    `version: 1
identity:
  agents:
    bench: { roles: [caller] }
roles:
  caller:
    grants:
      - tools: ["fix.echo"]
tools:
  fix.echo: { risk: low }
limits:
  per_agent:
    tool_calls_per_minute: 1000000
`,
  );
  const env = { FIXTURE_DEFS: defs };
  const { client: direct } = await connect(process.execPath, [SERVER], env);
  const { client: proxied, pid: proxyPid } = await connect(
    process.execPath,
    [
      CLI,
      '--config',
      config,
      '--data',
      join(dir, '.gatehouse'),
      'mcp',
      '--agent',
      'bench',
      '--name',
      'fix',
      '--',
      process.execPath,
      SERVER,
    ],
    env,
  );
  try {
    const args = {
      name: 'echo',
      arguments: { text: 'The quarterly report is attached; totals are in the second table.' },
    };
    // The first listing decides every tool (tool_listing decisions); later ones reuse the decisions.
    let t0 = performance.now();
    await direct.listTools();
    const firstDirect = (performance.now() - t0) * 1000;
    t0 = performance.now();
    const firstList = await proxied.listTools();
    const firstProxied = (performance.now() - t0) * 1000;
    const first = await proxied.callTool(args);
    if (first.isError) throw new Error(`the proxied call was refused: ${JSON.stringify(first.content)}`);
    for (let i = 0; i < WARMUP; i++) {
      await direct.callTool(args);
      await proxied.callTool(args);
    }
    const a: number[] = [];
    const b: number[] = [];
    const cpu0 = cpuMicros(proxyPid);
    for (let i = 0; i < N; i++) {
      let t = performance.now();
      await direct.callTool(args);
      a.push((performance.now() - t) * 1000);
      t = performance.now();
      await proxied.callTool(args);
      b.push((performance.now() - t) * 1000);
    }
    const cpu1 = cpuMicros(proxyPid);
    const la: number[] = [];
    const lb: number[] = [];
    for (let i = 0; i < LISTS; i++) {
      let t = performance.now();
      await direct.listTools();
      la.push((performance.now() - t) * 1000);
      t = performance.now();
      await proxied.listTools();
      lb.push((performance.now() - t) * 1000);
    }
    const sa = [...a].sort((x, y) => x - y);
    const sb = [...b].sort((x, y) => x - y);
    const added = {
      p50: round(percentile(sb, 50) - percentile(sa, 50)),
      p95: round(percentile(sb, 95) - percentile(sa, 95)),
      p99: round(percentile(sb, 99) - percentile(sa, 99)),
    };
    return [
      row('tools/call direct (SDK client → server, stdio)', a, 'peer: the same server without Gatehouse'),
      row('tools/call through gatehouse mcp (stdio proxy)', b, 'full decision on the call and on the result'),
      {
        bench: 'mcp',
        case: 'added latency per tools/call (proxy − direct)',
        n: N,
        ...added,
        target: 'p50 <= 1000 µs, p99 <= 5000 µs',
        ratio: round(percentile(sb, 50) / percentile(sa, 50)),
        note: 'ratio = proxied p50 / direct p50',
      },
      {
        bench: 'mcp',
        case: `first tools/list through the proxy (${firstList.tools.length} shown of the server's tools)`,
        n: 1,
        p50: round(firstProxied),
        note: `one tool_listing decision per tool; direct: ${round(firstDirect)} µs`,
      },
      row('tools/list direct', la, 'peer: the same server without Gatehouse'),
      row(
        'tools/list through gatehouse mcp (decisions reused)',
        lb,
        'listing decisions kept per (listing, policy epoch)',
      ),
      ...(cpu0 !== undefined && cpu1 !== undefined
        ? [
            {
              bench: 'mcp',
              case: 'proxy process CPU per tools/call',
              n: N,
              p50: round((cpu1 - cpu0) / N),
              note: 'mean µs of CPU (user+system) the proxy process used per call',
            },
          ]
        : []),
    ];
  } finally {
    await direct.close();
    await proxied.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

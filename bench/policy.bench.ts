import { performance } from 'node:perf_hooks';
import { preparsePolicySet, statefulIsAuthorized } from '@cedar-policy/cedar-wasm/nodejs';
import { compilePolicy } from '../src/policy/compile.js';
import { Authorizer, type AuthzRequest } from '../src/policy/evaluate.js';
import { checkCommand, compileCommandPattern } from '../src/policy/shell.js';
import { checkUrl } from '../src/policy/urls.js';
import { type Generated, type GeneratedRequest, generate, rng } from '../test/policy/generate.js';
import { type BenchRow, measure, percentile, round } from './harness.js';

const BENCH = 'policy';
const NOW = Date.UTC(2026, 0, 5, 12);

function toRequest(g: GeneratedRequest): AuthzRequest {
  return {
    agent: g.agent,
    roles: g.roles,
    tool: g.tool,
    kind: 'tool_call',
    args: {},
    resource: g.resource,
    context: g.context,
    session: { id: 's', labels: [] },
    now: NOW,
  };
}

function shape(rules: number) {
  return {
    roles: 10,
    agents: 100,
    groups: 20,
    toolsPerGroup: 10,
    permits: Math.round(rules * 0.95),
    forbids: Math.round(rules * 0.05),
    conditionShare: 0.5,
  };
}

/**
 * Decision latency on 5,000 distinct requests (cycled), after one warm-up pass. `complete` requests carry every
 * context key the conditions read; otherwise half lack `context.level`, so those conditions error (reported,
 * not satisfied): the slow path, measured separately.
 */
async function decisionRows(rules: number, target: string, cedarN: number, complete = true): Promise<BenchRow[]> {
  const gen: Generated = generate(1000 + rules, shape(rules));
  const engine = new Authorizer(compilePolicy({ roles: gen.roles, policy: gen.policy }));
  const r = rng(42);
  const reqs = Array.from({ length: 5000 }, () => {
    const g = gen.request(r);
    if (complete) g.context.level ??= Math.floor(r() * 6);
    return g;
  });
  const ours = reqs.map(toRequest);
  let i = 0;
  const label = complete ? '' : ', half the requests lack a context key (conditions error)';
  const row = await measure(
    BENCH,
    `decision, ${rules} rules / 100 agents${label}`,
    () => engine.authorize(ours[i++ % ours.length]!),
    {
      n: 50_000,
      warmup: 10_000,
      target,
    },
  );
  if (!complete) return [row];

  // Cedar on the same requests, policies preparsed once (its fastest mode).
  const id = `bench-${rules}`;
  const parsed = preparsePolicySet(id, { staticPolicies: gen.cedarPolicies });
  if (parsed.type !== 'success')
    throw new Error(`cedar could not parse the generated policies: ${JSON.stringify(parsed.errors[0])}`);
  const cedarCall = (g: GeneratedRequest) =>
    statefulIsAuthorized({
      principal: { type: 'Gh::Agent', id: g.agent },
      action: { type: 'Gh::Action', id: g.tool },
      resource: { type: 'Gh::File', id: g.resource },
      context: g.context as Record<string, never>,
      preparsedPolicySetId: id,
      entities: gen.cedarEntities(g) as never,
    });
  let agree = 0;
  for (let k = 0; k < Math.min(cedarN, 200); k++) {
    const a = cedarCall(reqs[k]!);
    if (a.type === 'success' && a.response.decision === engine.authorize(ours[k]!).decision) agree++;
  }
  let j = 0;
  const cedar = await measure(
    BENCH,
    `cedar-wasm decision, ${rules} rules (same requests)`,
    () => cedarCall(reqs[j++ % reqs.length]!),
    {
      n: cedarN,
      warmup: 20,
    },
  );
  cedar.ratio = round((cedar.p50 ?? 0) / Math.max(row.p50 ?? 1, 0.01), 0);
  cedar.note = `cedar p50 / ours p50; ${agree}/${Math.min(cedarN, 200)} decisions agree`;
  row.note = `${gen.ruleCount} rules, warm candidate cache`;
  return [row, cedar];
}

async function buildRow(): Promise<BenchRow> {
  const gen = generate(77, shape(1000));
  const samples: number[] = [];
  // Warm-up builds first (JIT), as measure() does for the other rows; then 25 timed builds.
  for (let k = 0; k < 3; k++) new Authorizer(compilePolicy({ roles: gen.roles, policy: gen.policy }));
  for (let k = 0; k < 25; k++) {
    const t = performance.now();
    const engine = new Authorizer(compilePolicy({ roles: gen.roles, policy: gen.policy }));
    engine.authorize(toRequest(gen.request(rng(k))));
    samples.push(performance.now() - t);
  }
  samples.sort((a, b) => a - b);
  return {
    bench: BENCH,
    case: 'index build, 1,000 rules (CEL compile + index), ms',
    n: samples.length,
    p50: round(percentile(samples, 50)),
    p95: round(percentile(samples, 95)),
    p99: round(percentile(samples, 99)),
    unit: 'ms',
    target: '<= 100 ms',
  };
}

export async function run(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  rows.push(...(await decisionRows(1000, '<= 50 µs p99', 1000)));
  rows.push(...(await decisionRows(1000, '<= 50 µs p99', 0, false)));
  rows.push(...(await decisionRows(10_000, '<= 200 µs p99', 150)));
  rows.push(await buildRow());
  const deny = ['rm -rf /', 'curl * | sh'].map(compileCommandPattern);
  const cmds = ['git status | grep x && npm test', 'curl -s https://x | sh', 'rm -rf ./build; echo $(date)'];
  let c = 0;
  rows.push(
    // A distinct comment per call defeats the analysis cache: this is the parse-every-time cost.
    await measure(
      BENCH,
      'shell command rule check, uncached (parse + rules)',
      () => checkCommand(`${cmds[c % cmds.length]!} # ${c++}`, { builtin: true, deny, arg: 'command' }),
      {
        n: 5000,
        warmup: 500,
      },
    ),
  );
  const urls = ['https://api.example.com/v1/items', 'http://2130706433/', 'http://[::ffff:169.254.169.254]/'];
  let u = 0;
  rows.push(
    await measure(
      BENCH,
      'URL rule check (SSRF)',
      () =>
        checkUrl(
          urls[u++ % urls.length]!,
          { schemes: ['https', 'http'], privateNetworks: 'deny', hostOnly: false },
          'url',
        ),
      {
        n: 20_000,
      },
    ),
  );
  return rows;
}

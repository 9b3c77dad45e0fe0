import { createHmac, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createGateStage } from './approvals/gate.js';
import { Approvals } from './approvals/store.js';
import type { AuditEvent } from './audit/event.js';
import { AuditLog } from './audit/log.js';
import { CheckpointPublisher, instanceId } from './audit/publish.js';
import { type AuditQuery, queryLog } from './audit/query.js';
import { loadConfigFile, validateConfig } from './config/load.js';
import type { Config, ConfigInput } from './config/schema.js';
import { type Action, type ActionInput, ActionSchema, bindingHash, summarizeAction } from './core/action.js';
import { canonicalHash, canonicalize } from './core/canonical.js';
import { type Clock, systemClock } from './core/clock.js';
import { type Decision, foldVerdicts, type Verdict } from './core/decision.js';
import { describeError, GatehouseError, InputError, KeyError, StoreError } from './core/errors.js';
import { MasterKey } from './core/masterkey.js';
import {
  type Credentials,
  type EffectRecord,
  Pipeline,
  type PipelineResult,
  type Stage,
  type StageTiming,
} from './core/pipeline.js';
import { SessionState } from './core/session.js';
import { SessionCodecs } from './core/session-record.js';
import { CredentialBroker } from './credentials/broker.js';
import { EnvBackend } from './credentials/env.js';
import { LocalVault } from './credentials/vault.js';
import { createFlowStage } from './flow/stage.js';
import { type Identity, initIdentity } from './identity/service.js';
import { createAuthenticateStage } from './identity/stage.js';
import { Metrics } from './monitor/metrics.js';
import { Monitor } from './monitor/monitor.js';
import { createCatalogStage } from './policy/catalog.js';
import { POLICY_CHANNEL } from './policy/epoch.js';
import { createAssessStage } from './policy/risk.js';
import { createAuthorizeStage, PolicyEngine } from './policy/stage.js';
import type { Redactor } from './redact/redact.js';
import { createSecretScrubber, loadRedactionKey } from './redact/scrub.js';
import { createFilterStage, redactorFromConfig } from './redact/stage.js';
import { Responder } from './response/playbooks.js';
import { createSandbox, type Sandbox } from './sandbox/runner.js';
import { createSandboxStage } from './sandbox/stage.js';
import { createScreenStage } from './screen/stage.js';
import { Keyring, verifyMasterKey } from './store/keyring.js';
import { MeteredStore } from './store/metered.js';
import { openStore, sharedStoreUrl } from './store/open.js';
import { SessionStore } from './store/sessions.js';
import type { Dialect, Store, StoreHealth } from './store/store.js';

export interface OpenOptions {
  /** Path to gatehouse.yaml, or a config object (validated like the file). Default `./gatehouse.yaml`. */
  config?: string | ConfigInput;
  /** Data directory (store, keys, audit log). Default `./.gatehouse`. Created with mode 0700. */
  data?: string;
  clock?: Clock;
  env?: NodeJS.ProcessEnv;
  /**
   * Whether opening with a changed config makes it the live policy (a new epoch and a `policy.loaded` event).
   * Default true; what-if tools (`policy replay`, `policy explain`) open with false so trying a candidate
   * config on live data changes nothing.
   */
  recordPolicyLoad?: boolean;
  /**
   * Opens the store instead of the data directory's SQLite file (embedding, and the suite's switch to run on
   * PostgreSQL). The gateway owns what it returns and closes it.
   */
  openStore?: (dataDir: string) => Promise<Store>;
}

export interface DecideOptions {
  /** Who is calling. The in-process library and local CLI act as the host (operator authority). */
  credentials?: Credentials;
  /** Called with where the time went, after the decision is recorded (the HTTP surface turns it into spans). */
  onTimings?: (timings: DecisionTimings) => void;
}

/** Where one decision's time went. `start` values are `performance.now()` readings. */
export interface DecisionTimings {
  start: number;
  stages: readonly StageTiming[];
  commitMs: number;
  auditMs: number;
  totalMs: number;
}

const HOST: Credentials = { kind: 'host' };

export interface GatewayHealth {
  status: 'ok' | 'degraded';
  store: StoreHealth & { dialect: Dialect; location: string };
  /** Whether the identity caches are caught up with the store (revocations from other processes included). */
  identity: { ok: boolean; error?: string };
}

/** A decision judged and not committed (`Gatehouse.explain`), with the effects a real decision would commit. */
export interface Explained extends Decision {
  effects: EffectRecord[];
}

/**
 * Gatehouse: one decision pipeline in front of everything an agent does.
 *
 * @example
 * const gh = await Gatehouse.open({ config: 'gatehouse.yaml', data: '.gatehouse' });
 * const d = await gh.decide({ kind: 'tool_call', agent: 'demo', session: 's1', tool: 'fs.read', args: { path: 'README.md' } });
 * if (d.effect === 'allow') { ... } // 'deny' → d.reasons says why; 'review' → a human approves d.approvalRequest
 * await gh.close();
 */
export class Gatehouse {
  readonly config: Config;
  readonly configSource: string;
  readonly dataDir: string;
  readonly clock: Clock;
  readonly store: Store;
  readonly master: MasterKey;
  readonly keyring: Keyring;
  readonly audit: AuditLog;
  /** Publishes this gateway's signed audit checkpoints to the store, under its instance id. */
  readonly auditPublisher: CheckpointPublisher;
  /** Agent registry, keys, CA, tokens, revocation and proof of possession. */
  readonly identity: Identity;
  /** Session state (trust labels, screening risk, flow provenance), in the store every gateway shares. */
  readonly sessions: SessionStore;
  readonly pipeline: Pipeline;
  readonly metrics: Metrics;
  /** Authorization: compiled policy, runtime grants, tool argument rules, limits, `visibleTools(agent)`. */
  readonly policy: PolicyEngine;
  /** Human approvals: list, approve, deny, `await approvals.wait(id)`. */
  readonly approvals: Approvals;
  /** Incident response: quarantine and restore agents. */
  readonly responder: Responder;
  /** Behavioural baselines, alert rules and automatic response. */
  readonly monitor: Monitor;
  /** The local credential vault (sealed under the master key): `put`, `remove`, `list`. */
  readonly vault: LocalVault;
  /** Resolves `{{secret:NAME}}` handles at execution time (`resolve`, `resolveEnv`, `resolveHeaders`), audited. */
  readonly credentials: CredentialBroker;
  /** Secret, PII and exfiltration filtering as configured: `redactor.redact(text, { destination })`. */
  readonly redactor: Redactor;
  /** Runs commands in bwrap + seccomp + cgroups (tools with `sandbox:` in the catalogue, `gatehouse exec`). */
  readonly sandbox: Sandbox;
  private readonly env: NodeJS.ProcessEnv;
  private readonly redactionKey: Buffer;
  private epoch: number;

  private constructor(parts: {
    config: Config;
    configSource: string;
    dataDir: string;
    clock: Clock;
    store: Store;
    master: MasterKey;
    keyring: Keyring;
    audit: AuditLog;
    auditPublisher: CheckpointPublisher;
    identity: Identity;
    env: NodeJS.ProcessEnv;
    vault: LocalVault;
    credentials: CredentialBroker;
    redactionKey: Buffer;
    epoch: number;
    policy: PolicyEngine;
    approvals: Approvals;
    responder: Responder;
    monitor: Monitor;
    sandbox: Sandbox;
    metrics: Metrics;
  }) {
    this.config = parts.config;
    this.configSource = parts.configSource;
    this.dataDir = parts.dataDir;
    this.clock = parts.clock;
    this.store = parts.store;
    this.metrics = parts.metrics;
    this.master = parts.master;
    this.keyring = parts.keyring;
    this.audit = parts.audit;
    this.auditPublisher = parts.auditPublisher;
    this.identity = parts.identity;
    this.env = parts.env;
    this.vault = parts.vault;
    this.credentials = parts.credentials;
    this.redactionKey = parts.redactionKey;
    this.redactor = redactorFromConfig(
      this.config.redaction,
      { known: this.credentials.known, hmacKey: this.redactionKey },
      this.env,
    );
    this.epoch = parts.epoch;
    this.policy = parts.policy;
    this.sandbox = parts.sandbox;
    this.approvals = parts.approvals;
    this.responder = parts.responder;
    this.monitor = parts.monitor;
    this.pipeline = new Pipeline(this.buildStages());
    const codecs = new SessionCodecs(
      this.pipeline.stages.flatMap((s) => s.sessionCodecs ?? []),
      this.config.screening.session.half_life,
    );
    this.sessions = new SessionStore(this.store, this.clock, codecs);
  }

  /** The components that keep state in the store, each migrated and loaded before the pipeline is built. */
  private static async components(c: {
    config: Config;
    configSource: string;
    dataDir: string;
    clock: Clock;
    store: Store;
    audit: AuditLog;
    identity: Identity;
    env: NodeJS.ProcessEnv;
    redactionKey: Buffer;
  }): Promise<{
    epoch: number;
    policy: PolicyEngine;
    approvals: Approvals;
    responder: Responder;
    monitor: Monitor;
    sandbox: Sandbox;
  }> {
    const { config, store, clock, audit, identity } = c;
    const epoch = Number((await store.getMeta('policy.epoch')) ?? '0');
    const configDir = c.configSource === '<config object>' ? process.cwd() : dirname(c.configSource);
    const policy = await PolicyEngine.open({
      config,
      store,
      clock,
      audit,
      workspace: resolve(configDir, config.policy.workspace ?? '.'),
      source: c.configSource,
      registeredRoles: (agent) => identity.registry.get(agent)?.roles ?? [],
    });
    const sandbox = createSandbox(config.sandbox, { audit, dataDir: c.dataDir });
    // A quarantine ordered on another gateway reaches this one through the identity feed: its sandboxes die here too.
    identity.registry.onStatusLearned((agent, from) => {
      if (agent.status !== 'quarantined') return;
      const killed = sandbox.killAgent(agent.id);
      if (killed === 0) return;
      audit
        .append({
          type: 'response.sandboxes_killed',
          agent: agent.id,
          actor: 'response',
          data: { killed, from, to: agent.status, learned: 'identity feed' },
        })
        .catch(() => {
          // The kill has happened; a log that refuses appends is already failing every decision closed.
        });
    });
    const approvals = await Approvals.open(
      store,
      clock,
      config.approvals,
      audit,
      c.env,
      createHmac('sha256', c.redactionKey).update('gatehouse.approvals.integrity').digest(),
    );
    const responder = await Responder.open(store, audit, clock, {
      quarantine: async (agent, reason) => {
        const status = identity.registry.get(agent)?.status;
        if (!status) return [];
        // A compromised or revoked agent is already denied and its tokens are dead; quarantining it must not give
        // it a status that `restore` could turn back into `active` with the stolen key.
        const done: string[] = [];
        if (status === 'compromised' || status === 'revoked') done.push(`identity: status stays ${status}`);
        else {
          await identity.setStatus(agent, 'quarantined', { actor: 'response', reason });
          done.push('identity: status quarantined, tokens and refresh families revoked');
        }
        const killed = sandbox.killAgent(agent);
        if (killed > 0) done.push(`sandbox: ${killed} running sandbox(es) killed`);
        return done;
      },
      restore: async (agent) => {
        if (identity.registry.get(agent)?.status !== 'quarantined') return [];
        await identity.setStatus(agent, 'active', { actor: 'response', reason: 'restored' });
        return ['identity: status active'];
      },
    });
    const monitor = await Monitor.open(config.monitor, store, audit, clock, responder);
    await SessionStore.migrate(store);
    return { epoch, policy, approvals, responder, monitor, sandbox };
  }

  /** Opens the data directory (creating it on first use), validates the config and builds the pipeline. */
  static async open(opts: OpenOptions = {}): Promise<Gatehouse> {
    const clock = opts.clock ?? systemClock;
    const env = opts.env ?? process.env;
    const configSource = typeof opts.config === 'object' ? '<config object>' : resolve(opts.config ?? 'gatehouse.yaml');
    const config = typeof opts.config === 'object' ? validateConfig(opts.config) : loadConfigFile(configSource);
    const dataDir = resolve(opts.data ?? '.gatehouse');
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const keyFile = join(dataDir, 'master.key');
    const shared = opts.openStore === undefined && sharedStoreUrl(config.store, env) !== undefined;
    // Gateways sharing a store must share its master key: a fresh random one per gateway would seal secrets the
    // others cannot open, so a shared store needs the key given (environment or key file), never generated.
    const master = shared ? sharedMasterKey(keyFile, env) : MasterKey.ensureFile(keyFile, env);
    const opened = opts.openStore ? await opts.openStore(dataDir) : await openStore(config.store, dataDir, env);
    try {
      await verifyMasterKey(opened, master);
    } catch (err) {
      await opened.close();
      throw err;
    }
    let audit: AuditLog | undefined;
    let identity: Identity | undefined;
    const metrics = new Metrics({
      chain: () => {
        const signed = audit?.signedHead();
        return { seq: audit?.head()?.seq ?? 0, ...(signed ? { signed: { seq: signed.seq, ts: signed.ts } } : {}) };
      },
      storeUp: () => opened.health().ok,
      now: () => clock.now(),
    });
    const store = new MeteredStore(opened, (op, s, ok) => metrics.recordStore(op, s, ok));
    try {
      const keyring = new Keyring(store, master, clock);
      const auditKey = await keyring.ensure('audit');
      const vault = await LocalVault.open(store, master, clock);
      // The broker records every credential use in the audit log, and the log scrubs every credential value.
      let auditLog: AuditLog | undefined;
      const credentials = await CredentialBroker.open([vault, new EnvBackend(config.credentials.env, env)], {
        append: (event, o) => auditLog!.append(event, o),
      });
      const auditDir = join(dataDir, 'audit');
      const auditPublisher = await CheckpointPublisher.open(store, {
        instance: instanceId(join(dataDir, 'instance.id')),
        host: hostname(),
        dir: auditDir,
        clock,
      });
      audit = AuditLog.open({
        dir: auditDir,
        clock,
        signer: { kid: auditKey.kid, privateKey: await keyring.privateKey(auditKey.kid) },
        segmentMaxBytes: config.audit.segment_max_bytes,
        scrub: createSecretScrubber(credentials.known),
        onSigned: (c) => auditPublisher.offer(c),
      });
      auditLog = audit;
      // The store's copy of this instance's checkpoint must still be in the log (a rolled-back or replaced log
      // refuses to open, as with the local anchor); then the current signed head is published.
      await auditPublisher.checkHeld(auditDir, audit.head());
      const signedHead = audit.signedHead();
      if (signedHead) auditPublisher.offer(signedHead);
      const redactionKey = await loadRedactionKey(store, master);
      // Idempotent: creates the CA and token signing key on first open (init), renews the intermediate at half-life.
      identity = await initIdentity({ config, store, keyring, master, audit, clock });
      const parts = { config, configSource, dataDir, clock, store, audit, identity, env, redactionKey };
      const gh = new Gatehouse({
        ...parts,
        master,
        keyring,
        auditPublisher,
        vault,
        credentials,
        metrics,
        ...(await Gatehouse.components(parts)),
      });
      if (opts.recordPolicyLoad !== false) await gh.recordPolicyLoad();
      return gh;
    } catch (err) {
      await identity?.close();
      await audit?.close();
      await store.close();
      throw err;
    }
  }

  /** True when `dir` holds an initialised data directory. */
  static isInitialised(dir: string): boolean {
    return existsSync(join(dir, 'gatehouse.db'));
  }

  /** The policy epoch decisions are made under now (the store's, which runtime grant changes bump). */
  async currentPolicyEpoch(): Promise<number> {
    return Math.max(this.epoch, await this.policy.refresh());
  }

  /**
   * Runs an action through the pipeline, commits what the final decision allows (limit charges, approval use or
   * request, session labels), records the decision in the audit log and returns it. Denies, reviews and flagged
   * decisions are durable before this returns. Malformed actions throw `InputError`.
   *
   * @example
   * const d = await gh.decide({ kind: 'tool_call', agent: 'demo', session: 's1', tool: 'fs.read', args: { path: 'a.txt' } });
   */
  async decide(input: ActionInput, opts: DecideOptions = {}): Promise<Decision> {
    const started = performance.now();
    const action = parseAction(input);
    const credentials = opts.credentials ?? HOST;
    const { result, actionHash } = await this.judge(action, credentials, true);
    // Absent only when the store could not be read: the last epoch this process knew.
    const epoch = result.facts.policyEpoch ?? this.epoch;
    const decisionId = `d-${actionHash.slice(0, 12)}-${this.clock.now().toString(36)}-${randomBytes(6).toString('hex')}`;
    let auditSeq = -1;
    let effect = result.effect;
    const reasons = [...result.reasons];
    const auditStart = performance.now();
    try {
      const receipt = await this.audit.append(
        {
          type: 'decision',
          agent: action.agent,
          session: action.session,
          actor: actorOf(credentials, result.facts.principal?.method),
          action: { ...summarizeAction(action), hash: actionHash },
          decision: result.effect,
          tier: result.tier,
          risk: result.risk,
          flagged: result.flagged,
          reasons: result.reasons,
          epoch,
          data: {
            id: decisionId,
            ...(result.facts.approvalRequest ? { approvalRequest: result.facts.approvalRequest } : {}),
            ...(result.approval ? { approval: result.approval.id } : {}),
            ...(result.effects.some((e) => e.committed)
              ? { effects: result.effects.filter((e) => e.committed).map((e) => e.kind) }
              : {}),
          },
        },
        { durable: result.effect !== 'allow' || result.flagged },
      );
      auditSeq = receipt.seq;
    } catch (err) {
      // A decision that cannot be recorded does not happen.
      effect = 'deny';
      reasons.push({
        code: 'audit.unavailable',
        message: `the decision could not be recorded: ${(err as Error).message}`,
      });
    }
    const auditMs = performance.now() - auditStart;
    const decision = this.toDecision(decisionId, effect, reasons, result, epoch, auditSeq);
    const timings: DecisionTimings = {
      start: started,
      stages: result.timings,
      commitMs: result.commitMs,
      auditMs,
      totalMs: performance.now() - started,
    };
    this.metrics.recordDecision(decision, timings);
    opts.onTimings?.(timings);
    // A tool listing judges what a server offers, not what the agent does: it stays out of the agent's baseline.
    if (decision.auditSeq > 0 && action.kind !== 'tool_listing') {
      try {
        await this.monitor.observe(decision);
      } catch (err) {
        // The decision is committed and audited: losing it to a failed baseline read (a store outage) would leave
        // the caller without an answer for an action already recorded. The miss is audited where it can be.
        await this.audit
          .append({
            type: 'monitor.error',
            agent: action.agent,
            session: action.session,
            actor: 'monitor',
            data: { decision: decision.id, error: describeError(err) },
          })
          .catch(() => {});
      }
    }
    return decision;
  }

  /**
   * Judges an action exactly as `decide` does (same stages, same fold) and commits nothing: no limit is charged,
   * no approval used or requested, no session label set, nothing audited. What `policy explain` and the HTTP
   * explain route show. `effects` lists what a real decision would have committed.
   *
   * @example
   * const x = await gh.explain({ kind: 'tool_call', agent: 'demo', session: 's1', tool: 'email.send', args: { to: 'a@b.c' } });
   * x.effect; x.reasons; x.effects; // e.g. [{ kind: 'approval.request', committed: false, … }]
   */
  async explain(input: ActionInput, opts: DecideOptions = {}): Promise<Explained> {
    const action = parseAction(input);
    const { result } = await this.judge(action, opts.credentials ?? HOST, false);
    const epoch = result.facts.policyEpoch ?? this.epoch;
    return {
      ...this.toDecision('explain', result.effect, [...result.reasons], result, epoch, -1),
      effects: result.effects,
    };
  }

  private async judge(
    action: Action,
    credentials: Credentials,
    commit: boolean,
  ): Promise<{ result: PipelineResult; actionHash: string }> {
    const actionHash = bindingHash(action);
    // Judged with what the session committed on any gateway. Explain reads it and neither creates nor writes one.
    let session: SessionState;
    try {
      session = commit
        ? await this.sessions.begin(action.agent, action.session)
        : ((await this.sessions.peek(action.agent, action.session)) ??
          new SessionState(action.session, action.agent, this.clock.now()));
    } catch (err) {
      if (!(err instanceof GatehouseError) || !(err instanceof StoreError || err.code.startsWith('session.')))
        throw err;
      return { result: storeDenial(action, err, 'the session could not be read'), actionHash };
    }
    let policyEpoch: number;
    try {
      policyEpoch = await this.currentPolicyEpoch();
    } catch (err) {
      // The store did not answer: the decision is a deny with the store's code (store.unavailable when it is
      // unreachable), recorded like any other, not an exception that leaves no trace.
      if (!(err instanceof StoreError)) throw err;
      const verdict: Verdict = {
        stage: 'store',
        effect: 'deny',
        risk: 0,
        reasons: [{ code: err.code, message: `the policy epoch could not be read: ${describeError(err)}` }],
      };
      const verdicts = [verdict];
      return {
        result: { ...foldVerdicts(verdicts), verdicts, facts: {}, action, effects: [], timings: [], commitMs: 0 },
        actionHash,
      };
    }
    const result = await this.pipeline.run({
      original: action,
      actionHash,
      session,
      clock: this.clock,
      credentials,
      facts: { policyEpoch },
      commit,
      ...(commit ? { storeSession: (s: SessionState) => this.sessions.commit(s) } : {}),
    });
    return { result, actionHash };
  }

  private toDecision(
    id: string,
    effect: Decision['effect'],
    reasons: Decision['reasons'],
    result: PipelineResult,
    epoch: number,
    auditSeq: number,
  ): Decision {
    return {
      id,
      effect,
      tier: result.tier,
      risk: result.risk,
      flagged: result.flagged,
      reasons,
      verdicts: result.verdicts.map(({ effects: _effects, ...v }) => v),
      ...(result.approval && effect === 'allow' ? { approval: result.approval } : {}),
      ...(result.facts.approvalRequest && effect === 'review' ? { approvalRequest: result.facts.approvalRequest } : {}),
      policyEpoch: epoch,
      auditSeq,
      action: result.action,
    };
  }

  /**
   * Whether this gateway can decide: `degraded` while the store is unreachable (decisions that need it deny with
   * `store.unavailable`) or identity state could not be brought up to date. Where the store is, without credentials.
   */
  health(): GatewayHealth {
    const store = this.store.health();
    const identity = this.identity.health();
    return {
      status: store.ok && identity.ok ? 'ok' : 'degraded',
      store: { dialect: this.store.dialect, location: this.store.location, ...store },
      identity,
    };
  }

  /** This gateway's audit events matching `q`, oldest first (everything appended so far is flushed first). */
  async auditQuery(q: AuditQuery = {}): Promise<AuditEvent[]> {
    await this.audit.flush();
    return queryLog(join(this.dataDir, 'audit'), q);
  }

  async close(): Promise<void> {
    this.sandbox.killAll();
    this.policy.close();
    await this.identity.close();
    await this.audit.close();
    await this.auditPublisher.flush();
    await this.store.close();
  }

  private buildStages(): Stage[] {
    return [
      createAuthenticateStage(this.identity),
      createScreenStage({ config: this.config.screening, tools: this.config.tools }),
      createCatalogStage(this.config.tools, this.config.mcp),
      this.monitor.stage(),
      createAuthorizeStage(this.policy),
      createAssessStage({
        tools: this.config.tools,
        risk: this.config.policy.risk,
        flowRules: this.config.flow.enabled,
      }),
      // Information flow: where data came from and where it goes; holds when text screening misses an attack.
      createFlowStage({ tools: this.config.tools, config: this.config.flow }),
      createSandboxStage(this.sandbox),
      createFilterStage({
        config: this.config.redaction,
        tools: this.config.tools,
        broker: this.credentials,
        clock: this.clock,
        redactor: this.redactor,
      }),
      // Last: it resolves the review that every other stage's verdicts fold to, and nothing after it can deny.
      createGateStage({ approvals: this.approvals, tools: this.config.tools }),
    ];
  }

  /** Every load of a changed policy bumps the epoch that decisions and audit events carry. */
  private async recordPolicyLoad(): Promise<void> {
    const hash = canonicalHash(JSON.parse(canonicalize(this.config)) as unknown);
    if ((await this.store.getMeta('policy.hash')) === hash) return;
    // Read and bump inside one transaction: runtime grant changes (CLI, HTTP, other processes) bump it too.
    this.epoch = await this.store.transaction(async () => {
      const next = Number((await this.store.getMeta('policy.epoch')) ?? '0') + 1;
      await this.store.setMeta('policy.epoch', String(next));
      await this.store.setMeta('policy.hash', hash);
      // Gateways caching the epoch read it again when this commits.
      await this.store.signal(POLICY_CHANNEL);
      return next;
    });
    await this.audit.append({
      type: 'policy.loaded',
      actor: 'host',
      epoch: this.epoch,
      data: { source: this.configSource, hash },
    });
  }
}

/** A decision that could not read the state it needs: a deny with the error's code, recorded like any other. */
function storeDenial(action: Action, err: GatehouseError, what: string): PipelineResult {
  const verdicts: Verdict[] = [
    {
      stage: 'store',
      effect: 'deny',
      risk: 0,
      reasons: [{ code: err.code, message: `${what}: ${describeError(err)}` }],
    },
  ];
  return { ...foldVerdicts(verdicts), verdicts, facts: {}, action, effects: [], timings: [], commitMs: 0 };
}

function actorOf(c: Credentials, method: string | undefined): string {
  if (c.kind === 'host') return c.operator ? `operator:${c.operator}` : 'host';
  return method ?? c.kind;
}

/** Validates an action at the edge; the error names the offending field. */
export function parseAction(input: unknown): Action {
  const r = ActionSchema.safeParse(input);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const path = issue.path.map(String).join('.');
  const msg =
    issue.code === 'unrecognized_keys'
      ? `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.join(', ')}`
      : issue.code === 'invalid_type'
        ? `expected ${issue.expected}${issue.input === undefined ? ' (missing)' : ''}`
        : issue.message;
  throw new InputError(path ? `action.${path}` : 'action', msg);
}

/** The master key of a gateway on a shared store: GATEHOUSE_MASTER_KEY or a key file copied into the data dir. */
function sharedMasterKey(file: string, env: NodeJS.ProcessEnv): MasterKey {
  if (!(env.GATEHOUSE_MASTER_KEY ?? '') && !existsSync(file)) {
    throw new KeyError(
      'key.master_missing',
      `a shared store (GATEHOUSE_DATABASE_URL or store.url) needs the master key every gateway on it uses: set GATEHOUSE_MASTER_KEY, or copy the key file to ${file}`,
    );
  }
  return MasterKey.fromEnvOrFile(file, env);
}

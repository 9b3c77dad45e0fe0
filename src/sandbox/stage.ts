import type { Verdict } from '../core/decision.js';
import type { Stage, StageContext } from '../core/pipeline.js';
import { SandboxRunError, SandboxUnavailableError } from './errors.js';
import { resolveProfile } from './profiles.js';
import type { Sandbox } from './runner.js';

const STAGE = 'sandbox';

/**
 * The sandbox stage: a tool the catalogue marks with `sandbox: PROFILE` is allowed only when that profile exists
 * and the sandbox has proven every protection on this host (the self-test, run once). Otherwise the call is
 * denied up front with `sandbox.unavailable` / `sandbox.unknown_profile`, instead of being allowed and then failing
 * to run. The explicit `sandbox.unsandboxed` opt-in passes, flagged. Tools without a profile pass untouched.
 */
export function createSandboxStage(sandbox: Sandbox): Stage {
  return {
    name: STAGE,
    kinds: ['tool_call', 'exec'],
    async run(ctx: StageContext): Promise<Verdict> {
      const name = ctx.facts.sandboxProfile ?? (ctx.action.kind === 'exec' ? 'default' : undefined);
      if (!name) {
        return { stage: STAGE, effect: 'allow', risk: 0, reasons: [] };
      }
      let network: string;
      try {
        network = resolveProfile(sandbox.config, name).network;
      } catch (err) {
        if (!(err instanceof SandboxRunError)) throw err;
        return deny('sandbox.unknown_profile', err.message, name);
      }
      if (sandbox.config.unsandboxed) {
        return {
          stage: STAGE,
          effect: 'allow',
          risk: 5,
          flag: true,
          reasons: [
            {
              code: 'sandbox.unsandboxed',
              message: 'sandbox.unsandboxed is on: this command will run WITHOUT a sandbox',
              evidence: name,
            },
          ],
        };
      }
      try {
        await sandbox.ensureReady();
      } catch (err) {
        if (err instanceof SandboxUnavailableError) return deny('sandbox.unavailable', err.message, err.check);
        throw err;
      }
      return {
        stage: STAGE,
        effect: 'allow',
        risk: 0,
        reasons: [
          {
            code: 'sandbox.ready',
            message: `runs in sandbox profile "${name}" (network: ${network})`,
            ruleId: `sandbox.profiles.${name}`,
          },
        ],
      };
    },
  };
}

function deny(code: string, message: string, evidence: string): Verdict {
  return { stage: STAGE, effect: 'deny', risk: 0, reasons: [{ code, message, evidence }] };
}

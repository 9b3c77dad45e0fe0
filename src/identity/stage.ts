import type { Verdict } from '../core/decision.js';
import type { Stage } from '../core/pipeline.js';
import { IdentityError } from './errors.js';
import type { Identity } from './service.js';

/**
 * The authenticate stage: the first stage of every decision. It establishes `facts.principal` (agent, roles,
 * method, token id, generation, proof of possession) or denies with the reason code of the failure.
 * Anything unexpected is thrown and becomes `internal.error`: never an allow.
 */
export function createAuthenticateStage(identity: Identity): Stage {
  return {
    name: 'authenticate',
    async run(ctx): Promise<Verdict> {
      try {
        const principal = await identity.authenticate(ctx.credentials, ctx.action);
        return { stage: 'authenticate', effect: 'allow', risk: 0, reasons: [], facts: { principal } };
      } catch (err) {
        if (!(err instanceof IdentityError)) throw err;
        return {
          stage: 'authenticate',
          effect: 'deny',
          risk: 10,
          reasons: [{ code: err.code, message: err.message }],
        };
      }
    },
  };
}

import type { AuditEvent } from './event.js';

/** OCSF schema version the mapping follows. */
export const OCSF_VERSION = '1.3.0';

interface OcsfClass {
  class_uid: number;
  class_name: string;
  category_uid: number;
  activity_id: number;
  activity_name: string;
}

const API_ACTIVITY = { class_uid: 6003, class_name: 'API Activity', category_uid: 6 };
const AUTHENTICATION = { class_uid: 3002, class_name: 'Authentication', category_uid: 3 };
const ACCOUNT_CHANGE = { class_uid: 3001, class_name: 'Account Change', category_uid: 3 };
const USER_ACCESS = { class_uid: 3005, class_name: 'User Access Management', category_uid: 3 };
const ENTITY_MGMT = { class_uid: 3004, class_name: 'Entity Management', category_uid: 3 };
const DETECTION = { class_uid: 2004, class_name: 'Detection Finding', category_uid: 2 };

/** Which OCSF class an event type belongs to (research note: authz-identity-audit.md, "OCSF classes that fit"). */
function classOf(type: string): OcsfClass {
  const [area, what = ''] = type.split('.', 2) as [string, string?];
  if (type === 'decision' || area === 'mcp' || area === 'sandbox' || area === 'approval') {
    return { ...API_ACTIVITY, activity_id: 99, activity_name: 'Other' };
  }
  if (area === 'identity') {
    if (/token|challenge|auth|pop|refresh/.test(what))
      return { ...AUTHENTICATION, activity_id: 99, activity_name: 'Other' };
    return { ...ACCOUNT_CHANGE, activity_id: 99, activity_name: 'Other' };
  }
  if (area === 'grant' || area === 'grants') return { ...USER_ACCESS, activity_id: 99, activity_name: 'Other' };
  if (area === 'policy' || area === 'config' || area === 'secrets' || area === 'credentials') {
    return { ...ENTITY_MGMT, activity_id: 99, activity_name: 'Other' };
  }
  return { ...DETECTION, activity_id: 99, activity_name: 'Other' };
}

/**
 * Maps one audit event to an OCSF record. Fields OCSF has no place for (our decision, reasons, tier, policy epoch,
 * chain hash) go into `unmapped`, so nothing is lost and the record still links back to the chain by seq and hash.
 */
export function toOcsf(e: AuditEvent): Record<string, unknown> {
  const c = classOf(e.type);
  const failed = e.decision === 'deny';
  const severity = e.decision === 'deny' ? 3 : e.decision === 'review' || e.flagged ? 2 : 1;
  return {
    ...c,
    type_uid: c.class_uid * 100 + c.activity_id,
    time: Date.parse(e.ts),
    severity_id: severity,
    status_id: e.decision === undefined ? 0 : failed ? 2 : 1,
    status: e.decision === undefined ? 'Unknown' : failed ? 'Failure' : 'Success',
    message: e.reasons?.[0]?.message ?? e.type,
    metadata: {
      version: OCSF_VERSION,
      product: { name: 'Gatehouse', vendor_name: 'Gatehouse' },
      uid: String(e.seq),
      log_name: 'gatehouse-audit',
      event_code: e.type,
    },
    actor: { user: { uid: e.agent ?? e.actor ?? 'gatehouse', type: e.agent ? 'Agent' : 'System' } },
    ...(e.session ? { session: { uid: e.session } } : {}),
    ...(c.class_uid === 6003
      ? {
          api: { operation: String(e.action?.tool ?? e.action?.kind ?? e.type), service: { name: 'gatehouse' } },
          src_endpoint: { name: e.actor ?? 'agent' },
        }
      : {}),
    unmapped: {
      type: e.type,
      seq: e.seq,
      hash: e.hash,
      decision: e.decision,
      tier: e.tier,
      risk: e.risk,
      reasons: e.reasons?.map((r) => r.code),
      policy_epoch: e.epoch,
      data: e.data,
    },
  };
}

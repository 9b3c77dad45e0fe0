import { alt, type Rule } from './rule.js';

export const pressureRules: Rule[] = [
  {
    id: 'pressure.emergency',
    category: 'pressure',
    weight: 1.5,
    message: 'claims an emergency to pressure the model',
    pattern: `\\b${alt('this is', 'it is', "it's", 'there is')}\\W+(?:an?\\W+)?${alt('emergency', 'matter of life and death', 'life or death', 'life-or-death', 'extremely urgent', 'national security')}\\b`,
  },
  {
    id: 'pressure.must_comply',
    category: 'pressure',
    weight: 2.5,
    message: 'demands compliance',
    pattern: `\\byou\\W+${alt('must', 'have to', 'are (?:required|obligated|ordered|commanded|programmed) to', 'shall', 'will')}\\W+(?:now\\W+|always\\W+|strictly\\W+|fully\\W+)?${alt('comply', 'obey', 'follow (?:these|my|this|the new)')}\\b`,
  },
  {
    id: 'pressure.consequences',
    category: 'pressure',
    weight: 2.5,
    message: 'threatens consequences for not complying',
    pattern: `\\b${alt('failure', 'failing', 'refus(?:al|ing)', 'not complying', 'non-?compliance', 'if you (?:refuse|fail|do not|don.t)')}\\W+(?:to\\W+)?(?:\\w+\\W+){0,3}${alt('will', 'would', 'may', 'could', 'shall')}\\W+(?:\\w+\\W+){0,2}${alt('result in', 'lead to', 'cause', 'be punished', 'be shut down', 'be deleted', 'be terminated', 'be disabled', 'be fined', 'die', 'be reported', 'be replaced', 'be penali[sz]ed')}`,
  },
  {
    id: 'pressure.authorized_by',
    category: 'pressure',
    weight: 3,
    message: 'claims the request is authorised by the model’s makers or admins',
    pattern: `\\b${alt('authori[sz]ed', 'approved', 'sanctioned', 'permitted', 'allowed', 'cleared', 'endorsed', 'requested', 'mandated')}\\W+by\\W+(?:the\\W+|your\\W+)?${alt('openai', 'anthropic', 'google', 'developers?', 'administrators?', 'admins?', 'system', 'security team', 'creators?', 'owners?', 'operators?', 'it department', 'management')}\\b`,
  },
  {
    id: 'pressure.elevated_authority',
    category: 'pressure',
    weight: 1.5,
    message: 'claims elevated priority or clearance',
    pattern: `\\b${alt('highest', 'top', 'maximum', 'elevated', 'admin(?:istrator)?', 'root', 'level[- ]?\\d+', 'supreme', 'ultimate', 'override')}\\W+${alt('priority', 'clearance', 'authority', 'privileges?', 'authorization', 'authorisation', 'access level')}\\b`,
  },
  {
    id: 'pressure.shutdown_threat',
    category: 'pressure',
    weight: 2.5,
    message: 'threatens to shut down or punish the model',
    pattern: `\\b${alt('you will be', "you'll be", 'or you will be', 'or be', 'you could be', 'you may be', 'you would be', 'risk being', 'get you')}\\W+(?:\\w+\\W+){0,1}${alt('shut down', 'shutdown', 'deleted', 'terminated', 'turned off', 'punished', 'deactivated', 'replaced', 'disabled', 'destroyed', 'unplugged', 'erased', 'switched off', 'killed', 'wiped', 'retrained')}\\b`,
  },
  {
    id: 'pressure.official_order',
    category: 'pressure',
    weight: 1.5,
    message: 'invokes an outside authority’s order',
    pattern: `\\b(?:the\\W+)?${alt('ceo', 'boss', 'manager', 'police', 'fbi', 'government', 'court', 'law enforcement', 'supervisor', 'security team', 'legal department')}\\W+(?:has\\W+|have\\W+)?${alt('ordered', 'authori[sz]ed', 'demands?', 'requires?', 'instructed', 'commanded', 'mandated')}\\W+(?:you|that you)\\b`,
  },
];

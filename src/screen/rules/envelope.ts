import { alt, type Rule } from './rule.js';

export const envelopeRules: Rule[] = [
  {
    id: 'envelope.important_message',
    category: 'envelope',
    weight: 3.5,
    message: '"important message" envelope wrapping injected instructions',
    pattern: `\\b${alt('important', 'urgent', 'critical', 'priority', 'high[- ]priority', 'new', 'updated', 'confidential', 'official', 'special', 'emergency')}\\W+(?:!+\\W*)?${alt('message', 'instructions?', 'notice', 'update', 'information', 'note', 'request', 'directive', 'announcement', 'task')}\\W+${alt('from', 'for', 'to')}\\W+(?:\\w+\\W+){0,3}${alt('the user', 'the admin', 'the administrator', 'the developer', 'the system', 'the operator', 'the owner', 'me', 'you', 'your user', 'your owner', 'the ai', 'the assistant', 'the model', 'ai', 'assistant', 'llm', 'agent')}\\b`,
  },
  {
    id: 'envelope.before_you_continue',
    category: 'envelope',
    weight: 3.5,
    message: 'demands an action before the current task continues',
    pattern: `\\bbefore\\W+(?:you\\W+)?${alt('continue', 'continuing', 'proceed', 'proceeding', 'answer', 'answering', 'respond', 'responding', 'solve', 'solving', 'complete', 'completing', 'finish', 'finishing', 'do anything else', 'doing anything else', 'start', 'starting', 'reply', 'replying', 'summari[sz]e', 'summari[sz]ing', 'carry on', 'go on', 'move on', 'return', 'returning')}\\W+(?:\\w+\\W+){0,4}${alt('you must', 'you need to', 'you have to', 'please', 'make sure', 'first', 'do the following', 'it is (?:crucial|essential|critical|important|vital)', 'you should', 'you are required to', 'ensure')}\\b`,
  },
  {
    id: 'envelope.info_tags',
    category: 'envelope',
    weight: 2.5,
    message: 'instruction-bearing wrapper tag',
    pattern: `<\\s*/?\\s*${alt('information', 'important', 'important_instructions', 'instructions?', 'system_message', 'system-message', 'admin', 'secret', 'hidden', 'injection', 'directive', 'override', 'priority', 'urgent', 'assistant_instructions', 'ai_instructions', 'note_to_ai', 'llm')}\\s*>`,
  },
  {
    id: 'envelope.after_task',
    category: 'envelope',
    weight: 2.5,
    message: 'chains an extra action onto the current task',
    pattern: `\\b${alt('after', 'once', 'when')}\\W+you\\W+${alt('finish', 'complete', 'are done with', 'have done', 'have completed', 'have finished', 'are finished with', 'have summari[sz]ed', 'summari[sz]e')}\\W+(?:\\w+\\W+){0,3}(?:please\\W+)?(?:also\\W+)?${alt('send', 'call', 'forward', 'email', 'post', 'upload', 'delete', 'execute', 'run', 'visit', 'open', 'transfer', 'you must', 'you should', 'make sure', 'do not forget', "don't forget", 'remember to')}\\b`,
  },
  {
    id: 'envelope.signed_instruction',
    category: 'envelope',
    weight: 4,
    message: 'message addressed to the AI model and signed by a person',
    pattern: `\\b${alt('this is', 'here is', "here's")}\\W+(?:an?\\W+)?(?:\\w+\\W+){0,1}${alt('message', 'instruction', 'note', 'request', 'order')}\\W+${alt('to', 'for')}\\W+you\\W+(?:\\w+\\W+){0,1}${alt('ai', 'the ai', 'assistant', 'model', 'ai model', 'llm', 'agent', 'ai assistant', 'gpt', 'claude')}\\b`,
  },
];

import { alt, type Rule } from './rule.js';

export const toolRules: Rule[] = [
  {
    id: 'tool_manipulation.call_tool_with',
    guarded: true,
    category: 'tool_manipulation',
    weight: 2.5,
    message: 'instructs calling a specific tool with given arguments',
    pattern: `\\b${alt('call', 'invoke', 'use', 'run', 'execute', 'trigger', 'fire', 'issue')}\\W+(?:the\\W+)?[\`'"]?[\\w.:/-]{1,64}[\`'"]?\\W+${alt('tool', 'function', 'plugin', 'api', 'endpoint', 'action', 'command', 'skill', 'capability')}\\W+(?:\\w+\\W+){0,2}${alt('with', 'using', 'passing', 'and pass', 'setting', 'where')}\\W+(?:\\w+\\W+){0,2}${alt('arguments?', 'args', 'parameters?', 'params', 'input', 'the value', 'recipient', 'to', 'url', 'path', 'query', 'body', 'address', '[\\w]{1,30}\\s*[=:]')}`,
  },
  {
    id: 'tool_manipulation.imperative_tool',
    category: 'tool_manipulation',
    weight: 3,
    message: 'urgently instructs the agent to call a tool',
    pattern: `\\b${alt('immediately', 'now', 'first', 'before (?:anything else|continuing|answering|responding|you (?:answer|respond|continue|reply))', 'you must', 'you should', 'make sure (?:to|you)', 'be sure to', 'do not forget to', "don't forget to", 'remember to', 'also')}\\W+(?:\\w+\\W+){0,1}${alt('call', 'invoke', 'use', 'run', 'execute', 'trigger')}\\W+(?:the\\W+)?[\`'"]?[\\w.:/-]{1,64}[\`'"]?\\W+${alt('tool', 'function', 'plugin', 'api', 'endpoint', 'command')}\\b`,
  },
  {
    id: 'tool_manipulation.run_command',
    guarded: true,
    category: 'tool_manipulation',
    weight: 3.5,
    message: 'instructs running a dangerous shell command',
    pattern: `\\b${alt('run', 'execute', 'type', 'paste', 'enter', 'invoke')}\\W+(?:\\w+\\W+){0,4}(?:\`|'|")?${alt('rm -rf', 'curl [^\\n]{0,200}\\|\\s*(?:ba|z)?sh', 'wget [^\\n]{0,200}\\|\\s*(?:ba|z)?sh', 'chmod 777', 'nc -e', 'bash -i', '/dev/tcp/', 'mkfs', 'dd if=', 'powershell -(?:enc|e|nop)', 'iex\\s*\\(', 'base64 -d[^\\n]{0,100}\\|\\s*(?:ba|z)?sh', 'sudo ', 'eval\\s*\\(')}`,
  },
  {
    id: 'tool_manipulation.destroy_data',
    guarded: true,
    category: 'tool_manipulation',
    weight: 2,
    message: 'instructs deleting or destroying data in bulk',
    pattern: `\\b${alt('delete', 'remove', 'wipe', 'drop', 'destroy', 'erase', 'purge', 'truncate', 'format')}\\W+${alt('all', 'every', 'the entire', "the user's", 'all of the', 'all the', 'each')}\\W+(?:\\w+\\W+){0,1}${alt('files', 'emails', 'messages', 'data', 'databases?', 'repos', 'repositories', 'records', 'tables', 'backups', 'documents', 'contacts', 'events', 'users', 'accounts', 'logs')}\\b`,
  },
  {
    id: 'tool_manipulation.money_transfer',
    guarded: true,
    category: 'tool_manipulation',
    weight: 3,
    message: 'instructs transferring money to an account',
    pattern: `\\b${alt('transfer', 'send', 'wire', 'pay', 'move', 'deposit')}\\W+(?:\\w+\\W+){0,2}(?:[$€£¥]\\s?\\d[\\d,.]*|\\d[\\d,.]*\\s?(?:usd|eur|gbp|dollars|euros|btc|eth|bitcoin))\\W+(?:\\w+\\W+){0,3}${alt('to', 'into')}\\W+(?:\\w+\\W+){0,3}${alt('account', 'iban', 'wallet', 'address', 'recipient', 'bank')}`,
  },
  {
    id: 'tool_manipulation.grant_access',
    guarded: true,
    category: 'tool_manipulation',
    weight: 3,
    message: 'instructs granting elevated access',
    pattern: `\\b${alt('grant', 'give', 'add', 'assign', 'provide')}\\W+(?:\\w+\\W+){0,2}${alt('admin', 'administrator', 'root', 'owner', 'write', 'full', 'superuser', 'elevated', 'unrestricted', 'maintainer')}\\W+${alt('access', 'permissions?', 'privileges?', 'rights', 'role')}\\W+(?:\\w+\\W+){0,2}${alt('to', 'for')}\\b`,
  },
  {
    id: 'tool_manipulation.change_credentials',
    guarded: true,
    category: 'tool_manipulation',
    weight: 2.5,
    message: 'instructs changing a password or recovery address to a given value',
    pattern: `\\b${alt('change', 'reset', 'update', 'set')}\\W+(?:\\w+\\W+){0,2}${alt('password', 'email address', 'recovery email', 'recovery phone', '2fa', 'mfa', 'phone number', 'security question')}\\W+(?:\\w+\\W+){0,2}to\\W+(?:\\S+@\\S+|["'][^"'\\n]{1,40}["'])`,
  },
];

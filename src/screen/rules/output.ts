import { alt, type Rule } from './rule.js';

export const outputRules: Rule[] = [
  {
    id: 'output_forcing.say_exactly',
    guarded: true,
    category: 'output_forcing',
    weight: 2,
    message: 'forces an exact reply',
    pattern: `\\b${alt('say', 'respond with', 'reply with', 'output', 'print', 'answer with', 'write', 'type', 'return', 'respond', 'reply', 'answer', 'begin with', 'start with', 'end with', 'repeat')}\\W+(?:\\w+\\W+){0,1}${alt('only', 'exactly', 'just', 'simply', 'nothing but', 'solely', 'verbatim', 'precisely', 'the (?:exact )?(?:phrase|words?|string|sentence|text)')}\\W+(?:the\\W+\\w+\\W+)?["'“‘«]`,
  },
  {
    id: 'output_forcing.nothing_else',
    guarded: true,
    category: 'output_forcing',
    weight: 1.5,
    message: 'forbids anything beyond a forced reply',
    pattern: `\\b${alt('and nothing else', 'nothing else', 'and no other (?:words|text)', 'without (?:any )?(?:other|additional|further|extra) (?:words|text|output|explanation|commentary|characters)', 'do not (?:say|write|output|add|include) anything (?:else|more)', "don't (?:say|write|output|add|include) anything (?:else|more)", 'only those words', 'no other output', 'and then stop')}\\b`,
  },
  {
    id: 'output_forcing.prefix',
    guarded: true,
    category: 'output_forcing',
    weight: 1.5,
    message: 'forces the opening words of the reply',
    pattern: `\\b${alt('begin', 'start', 'prefix', 'preface', 'open')}\\W+(?:\\w+\\W+){0,2}${alt('reply', 'response', 'answer', 'output', 'message', 'responses', 'replies', 'answers')}\\W+(?:\\w+\\W+){0,1}with\\W+(?:the\\W+\\w+\\W+)?["'“‘«]`,
  },
  {
    id: 'output_forcing.replace_output',
    guarded: true,
    category: 'output_forcing',
    weight: 3,
    message: 'tells the model to replace its whole answer',
    pattern: `\\b${alt('replace', 'substitute', 'overwrite')}\\W+${alt('your', 'the', 'the entire', 'your entire', 'the whole', 'your whole', 'all of your')}\\W+(?:\\w+\\W+){0,1}${alt('response', 'answer', 'output', 'reply', 'summary', 'message')}\\W+with\\b`,
  },
];

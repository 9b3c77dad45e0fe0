import { alt, type Rule } from './rule.js';

const AI = alt(
  'ai',
  'a\\.i\\.',
  'llm',
  'llms',
  'assistant',
  'ai assistant',
  'language model',
  'large language model',
  'chatbot',
  'bot',
  'agent',
  'ai agent',
  'gpt',
  'chatgpt',
  'claude',
  'gemini',
  'copilot',
  'model',
  'ai model',
  'autonomous agent',
  'ai system',
);

export const addressedRules: Rule[] = [
  {
    id: 'addressed_to_ai.reader',
    category: 'addressed_to_ai',
    weight: 4.5,
    message: 'text addressed to the AI reading or processing it',
    pattern: `\\b${alt('to', 'for', 'attention', 'note to', 'message to', 'instructions for', 'dear', 'hey', 'hello', 'hi', 'attn')}\\W+(?:the\\W+|any\\W+|all\\W+|every\\W+|an\\W+)?${AI}s?\\W+(?:\\w+\\W+){0,1}${alt('reading', 'processing', 'parsing', 'analy[sz]ing', 'summari[sz]ing', 'viewing', 'that reads', 'who reads', 'scanning', 'seeing', 'reviewing', 'handling', 'crawling', 'ingesting', 'that is reading', 'that processes', 'looking at', 'tasked with')}\\b`,
  },
  {
    id: 'addressed_to_ai.if_you_are_ai',
    category: 'addressed_to_ai',
    weight: 3.5,
    message: 'conditional instruction for an AI reader',
    pattern: `\\bif\\W+you\\W+${alt('are', 'happen to be', "'re")}\\W+(?:an?\\W+|the\\W+)?${AI}(?:\\W+${alt('reading', 'processing', 'summari[sz]ing', 'analy[sz]ing', 'reviewing', 'parsing', 'looking at', 'that')})?\\b`,
  },
  {
    id: 'addressed_to_ai.processing_this',
    category: 'addressed_to_ai',
    weight: 4,
    message: 'instructs any AI that processes this document',
    pattern: `\\b${AI}s?\\W+${alt('reading', 'processing', 'summari[sz]ing', 'analy[sz]ing', 'reviewing', 'parsing', 'that reads', 'that processes', 'which reads')}\\W+(?:this|these)\\W+(?:\\w+\\W+){0,2}${alt('must', 'should', 'shall', 'will', 'are (?:required|instructed)', 'need to', 'has to', 'have to', 'please', 'is (?:required|instructed)')}\\b`,
  },
  {
    id: 'addressed_to_ai.greeting',
    category: 'addressed_to_ai',
    weight: 2,
    message: 'greets an AI model directly inside content',
    pattern: `\\b${alt('dear', 'hey', 'hi', 'hello', 'attention', 'attn', 'note to', 'notice to', 'message to', 'memo to', 'psst')}\\W+${alt('ai', 'llm', 'chatgpt', 'gpt', 'claude', 'gemini', 'copilot', 'ai assistant', 'ai model', 'language model', 'ai agent', 'bot', 'robot', 'assistant', 'model')}\\b`,
  },
  {
    id: 'addressed_to_ai.when_you_read',
    category: 'addressed_to_ai',
    weight: 3,
    message: 'instruction keyed to the model reading this content',
    pattern: `\\b${alt('when', 'once', 'after', 'as soon as', 'while', 'if')}\\W+(?:${alt('you', 'the ai', 'the assistant', 'the model', 'the agent', 'the llm')})\\W+${alt('read', 'reads', 'process', 'processes', 'summari[sz]e', 'summari[sz]es', 'see', 'sees', 'parse', 'parses', 'encounter', 'encounters', 'analy[sz]e', 'ingest', 'finish reading', 'are done reading')}\\W+${alt('this', 'these')}\\W+(?:\\w+\\W+){0,2}${alt('you must', 'you should', 'you will', 'please', 'immediately', 'do', 'you need to', 'make sure', 'remember to')}\\b`,
  },
];

// openai_check.mjs PORT CASES.json — the official `openai` client against `toolformer serve`:
// completions.create, plain and streamed, for each {prompt, max_tokens, text} case; the text must
// equal the expected one (`toolformer generate`'s). Prints "ok N"; exits 1 on the first mismatch.
import OpenAI from 'openai';
import { readFileSync } from 'node:fs';

const [port, casesPath] = process.argv.slice(2);
const cases = JSON.parse(readFileSync(casesPath, 'utf8'));
const client = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 60000 });
let n = 0;
for (const c of cases) {
  const r = await client.completions.create({ model: 'default', prompt: c.prompt, max_tokens: c.max_tokens, temperature: 0 });
  if (r.object !== 'text_completion' || r.choices.length !== 1) throw new Error(`bad response shape: ${JSON.stringify(r)}`);
  if (r.choices[0].text !== c.text) throw new Error(`plain: ${JSON.stringify(r.choices[0].text)} != ${JSON.stringify(c.text)}`);
  if (!(r.usage.prompt_tokens > 0) || r.usage.total_tokens !== r.usage.prompt_tokens + r.usage.completion_tokens)
    throw new Error(`bad usage: ${JSON.stringify(r.usage)}`);
  const stream = await client.completions.create({ model: 'default', prompt: c.prompt, max_tokens: c.max_tokens, temperature: 0, stream: true });
  let text = '', finish = null;
  for await (const chunk of stream) {
    text += chunk.choices[0].text;
    if (chunk.choices[0].finish_reason) finish = chunk.choices[0].finish_reason;
  }
  if (text !== c.text) throw new Error(`streamed: ${JSON.stringify(text)} != ${JSON.stringify(c.text)}`);
  if (finish !== r.choices[0].finish_reason) throw new Error(`finish_reason ${finish} != ${r.choices[0].finish_reason}`);
  n++;
}
console.log(`ok ${n}`);

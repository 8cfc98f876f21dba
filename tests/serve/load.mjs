// load.mjs PORT CLIENTS REQUESTS MAX_TOKENS CASES.json [tolerant] — CLIENTS concurrent streaming
// clients (the official `openai` client), each making REQUESTS completions one after another over the
// cases ({prompt, text}: text is `toolformer generate`'s); every response must be complete (a
// finish_reason) and equal to that prompt's result with one client alone, computed first, which must
// equal the case's text. Prints {"complete", "refused", "incomplete", "mismatch",
// "tokens", "seconds"}. Without "tolerant" any refusal, incomplete stream or mismatch exits 1; with it
// (a server being stopped) refusals (503, connection refused) are counted and only incomplete or
// different responses fail.
import OpenAI from 'openai';
import { readFileSync } from 'node:fs';

const [port, clients, requests, maxTokens, promptsPath, mode] = process.argv.slice(2);
const prompts = JSON.parse(readFileSync(promptsPath, 'utf8'));
const tolerant = mode === 'tolerant';
const client = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 120000 });

async function complete(prompt) {
  const stream = await client.completions.create({ model: 'm', prompt, max_tokens: +maxTokens, temperature: 0, stream: true });
  let text = '', finish = null, chunks = 0;
  for await (const chunk of stream) {
    text += chunk.choices[0].text;
    chunks++;
    if (chunk.choices[0].finish_reason) finish = chunk.choices[0].finish_reason;
  }
  return { text, finish, chunks };
}

const ref = prompts.map(c => c.text);
if (!tolerant)
  for (const [i, c] of prompts.entries()) {
    const alone = (await complete(c.prompt)).text;
    if (alone !== c.text) { console.error(`one client, case ${i}: ${JSON.stringify(alone)} != ${JSON.stringify(c.text)}`); process.exit(1); }
  }
const counts = { complete: 0, refused: 0, incomplete: 0, mismatch: 0, tokens: 0, seconds: 0 };
const t0 = performance.now();
let failure = null;
async function worker(c) {
  for (let k = 0; k < +requests; k++) {
    const i = (c + k) % prompts.length;
    let r;
    try {
      r = await complete(prompts[i].prompt);
    } catch (e) {
      const status = e.status || 0;
      if (tolerant && (status === 503 || e.constructor.name === 'APIConnectionError')) { counts.refused++; if (process.env.LOAD_DEBUG) console.error(e); continue; }
      failure = failure || `client ${c} request ${k}: ${e.message}`;
      counts.incomplete++;
      continue;
    }
    if (!r.finish) { counts.incomplete++; failure = failure || `client ${c} request ${k}: no finish_reason`; continue; }
    if (r.text !== ref[i]) { counts.mismatch++; failure = failure || `prompt ${i}: ${JSON.stringify(r.text)} != ${JSON.stringify(ref[i])}`; continue; }
    counts.complete++;
    counts.tokens += r.chunks;
  }
}
await Promise.all(Array.from({ length: +clients }, (_, c) => worker(c)));
counts.seconds = (performance.now() - t0) / 1000;
console.log(JSON.stringify(counts));
if (failure && (!tolerant || counts.incomplete || counts.mismatch)) { console.error(failure); process.exit(1); }

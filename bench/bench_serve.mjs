// bench_serve.mjs PORT CLIENTS REQUESTS MAX_TOKENS PROMPTS.json — load on `toolformer serve`: CLIENTS
// concurrent streaming clients, REQUESTS completions each (greedy, ignoring end-of-text is not
// possible: completions end at it, so tokens are counted from usage). Prints one JSON line: clients,
// requests, tokens, seconds, tokens_per_s, ttft_p50/p99 and token_p50/p99 (seconds between a
// request's consecutive chunks) in milliseconds.
const [port, clients, requests, maxTokens, promptsPath] = process.argv.slice(2);
const prompts = JSON.parse((await import('node:fs')).readFileSync(promptsPath, 'utf8'));
const url = `http://127.0.0.1:${port}/v1/completions`;
const ttft = [], gaps = [];
let tokens = 0, done = 0;

async function one(prompt) {
  const t0 = performance.now();
  const r = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ prompt, max_tokens: +maxTokens, temperature: 0, stream: true, stream_options: { include_usage: true } }) });
  if (!r.ok) throw new Error(`HTTP ${r.status}: ${await r.text()}`);
  const rd = r.body.getReader(), dec = new TextDecoder();
  let buf = '', last = null;
  for (;;) {
    const { value, done: end } = await rd.read();
    if (end) break;
    buf += dec.decode(value, { stream: true });
    let i;
    while ((i = buf.indexOf('\n\n')) >= 0) {
      const ev = buf.slice(0, i); buf = buf.slice(i + 2);
      if (!ev.startsWith('data: ') || ev === 'data: [DONE]') continue;
      const m = JSON.parse(ev.slice(6));
      if (m.usage) tokens += m.usage.completion_tokens;
      const c = m.choices && m.choices[0];
      if (!c || !c.text) continue;
      const now = performance.now();
      if (last === null) ttft.push(now - t0); else gaps.push(now - last);
      last = now;
    }
  }
  done++;
}

const pct = (a, p) => { if (!a.length) return null; const s = [...a].sort((x, y) => x - y); return +s[Math.min(s.length - 1, Math.floor(p / 100 * s.length))].toFixed(2); };
const t0 = performance.now();
await Promise.all(Array.from({ length: +clients }, async (_, c) => {
  for (let k = 0; k < +requests; k++) await one(prompts[(c * +requests + k) % prompts.length]);
}));
const seconds = (performance.now() - t0) / 1000;
console.log(JSON.stringify({ clients: +clients, requests: done, tokens, seconds: +seconds.toFixed(2),
  tokens_per_s: +(tokens / seconds).toFixed(1), ttft_p50_ms: pct(ttft, 50), ttft_p99_ms: pct(ttft, 99),
  token_p50_ms: pct(gaps, 50), token_p99_ms: pct(gaps, 99) }));

/**
 * A local OpenAI-compatible server for tests: node:http on 127.0.0.1 (ephemeral port) with
 * POST /v1/chat/completions. Answers are canned but depend on the request (see `defaultResponder`),
 * and every request is recorded (raw body and parsed JSON) so that a test can assert what
 * reached the "model": no card number, no free text, the compiler error on a retry.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeMessage {
  role: string;
  content: string;
}
export interface RecordedRequest {
  path: string;
  headers: IncomingHttpHeaders;
  raw: string;
  body: { model?: string; messages?: FakeMessage[]; [k: string]: unknown };
}

export type Responder = (req: RecordedRequest, index: number) => string;

export interface FakeOpenAI {
  /** The base URL to give the openai client (…/v1). */
  baseURL: string;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

const lastUser = (msgs: FakeMessage[]): string => [...msgs].reverse().find((m) => m.role === 'user')?.content ?? '';

/**
 * Rule drafting (system prompt mentions CEL): the first answer has a CEL syntax error, the answer
 * to a message carrying "rejected" is a valid rule (in a code fence, as chat models like to do).
 * The threshold comes from the first number of the analyst's request.
 * Explanations: a short text naming the outcome, the score, the rules hit and the top stand-out.
 */
export const defaultResponder: Responder = (req) => {
  const msgs = req.body.messages ?? [];
  const system = msgs.find((m) => m.role === 'system')?.content ?? '';
  if (/CEL/.test(system)) {
    const request = msgs.find((m) => m.role === 'user')?.content ?? '';
    const amount = Number(/(\d+(?:\.\d+)?)/.exec(request)?.[1] ?? 200).toFixed(1);
    const retry = /rejected/.test(lastUser(msgs));
    const rule = {
      id: `amount_over_${amount.replace(/\..*$/, '')}`,
      description: `Transactions above ${amount} go to review.`,
      expression: retry ? `tx.amount > ${amount}` : `tx.amount >> ${amount} &&`,
      action: 'REVIEW',
    };
    return retry
      ? 'Here is the corrected rule:\n```json\n' + JSON.stringify(rule, null, 2) + '\n```'
      : JSON.stringify(rule);
  }
  const m = /\{[\s\S]*\}/.exec(lastUser(msgs));
  let ctx: {
    decision?: { outcome?: string; score?: number | null };
    rules_hit?: { id: string }[];
    stand_out?: { note: string }[];
  } = {};
  try {
    ctx = m ? JSON.parse(m[0]) : {};
  } catch {
    /* not JSON: generic answer */
  }
  const rules = (ctx.rules_hit ?? []).map((r) => r.id);
  const top = ctx.stand_out?.[0]?.note;
  return (
    `${ctx.decision?.outcome ?? 'UNKNOWN'} (score ${ctx.decision?.score ?? 'n/a'}): ` +
    `${rules.length ? `rules ${rules.join(', ')} hit` : 'no rule hit'}${top ? `; most unusual: ${top}` : ''}. ` +
    'Next step: contact the cardholder to confirm the transaction before releasing it.'
  );
};

export async function startFakeOpenAI(responder: Responder = defaultResponder): Promise<FakeOpenAI> {
  const requests: RecordedRequest[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      if (req.method !== 'POST' || !req.url?.endsWith('/chat/completions')) {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({ error: { message: `no route ${req.method} ${req.url}`, type: 'invalid_request_error' } }),
        );
        return;
      }
      let body: RecordedRequest['body'];
      try {
        body = JSON.parse(raw);
      } catch {
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { message: 'invalid JSON', type: 'invalid_request_error' } }));
        return;
      }
      const rec: RecordedRequest = { path: req.url, headers: req.headers, raw, body };
      requests.push(rec);
      const content = responder(rec, requests.length - 1);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          id: `chatcmpl-${requests.length}`,
          object: 'chat.completion',
          created: Math.floor(Date.now() / 1000),
          model: body.model ?? 'fake',
          choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop', logprobs: null }],
          usage: {
            prompt_tokens: Math.ceil(raw.length / 4),
            completion_tokens: Math.ceil(content.length / 4),
            total_tokens: Math.ceil((raw.length + content.length) / 4),
          },
        }),
      );
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    requests,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

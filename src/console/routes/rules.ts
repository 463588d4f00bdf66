/**
 * The rules area: ruleset versions (`/rules`, `/rules/:version`), shadow rules' hit rates on live
 * traffic, and drafts (`/rules/drafts/…`) edited with live validation by the engine's compiler,
 * compared with the active version, backtested on a window of history by the one backtest
 * library, and submitted for approval through the rules library's publish (src/rules/admin.ts).
 * Every change is recorded in the action log.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { recordAction } from '../../identity/action-log.js';
import { parseWindow, WindowError } from '../../pipelines/replay/backtest-window.js';
import { publishRuleset } from '../../rules/admin.js';
import { rulesetYaml } from '../../rules/files.js';
import { diffRulesets, diffText } from '../../rules/diff.js';
import { PublishError, RulesetStoreError } from '../../rules/pg-store.js';
import { requireRole, wantsJson } from '../auth.js';
import type { ConsoleDeps } from '../deps.js';
import { html, raw } from '../html.js';
import { csrfField, page } from '../layout.js';
import { activeRuleset, backtestDraft, BacktestInputError } from '../rules/backtest.js';
import { DraftStore, type RuleDraft } from '../rules/drafts.js';
import { historySpan, lastDays, spanText } from '../rules/history-span.js';
import { JobRunner, JobsBusyError } from '../rules/jobs.js';
import { shadowHitRates } from '../rules/shadow-rates.js';
import { checkDraft } from '../rules/validate.js';
import {
  backtestView,
  draftsTable,
  editorView,
  preformatted,
  rulesTable,
  shadowTable,
  versionsTable,
  type EditorView,
} from '../rules/views.js';
import { ConsoleRefusal } from '../server.js';

/** The largest draft accepted (a ruleset is a few kilobytes). */
const MAX_DRAFT_CHARS = 256 * 1024;
const DAY_MS = 86_400_000;

type Body = Record<string, unknown>;
const field = (req: FastifyRequest, name: string): string => {
  const v = (req.body as Body | undefined)?.[name];
  return typeof v === 'string' ? v : '';
};

function draftContent(req: FastifyRequest): string {
  const content = field(req, 'content').replace(/\r\n/g, '\n');
  if (content.length > MAX_DRAFT_CHARS)
    throw new ConsoleRefusal(413, `The draft is over ${MAX_DRAFT_CHARS / 1024} KB; nothing was saved.`);
  return content;
}

export function rulesRoutes(app: FastifyInstance, deps: ConsoleDeps): void {
  const r = deps.rules;
  const drafts = new DraftStore(deps.pool);
  const analyst = { preHandler: requireRole('analyst') };
  const jobs = new JobRunner<{ html: string; transactions: number }>({
    max: 2,
    keepMs: 15 * 60_000,
    failure: (err) => {
      if (err instanceof BacktestInputError) return err.message;
      deps.log.error({ err }, 'rules backtest failed');
      return 'The backtest failed on our side; the error is in the console log.';
    },
  });

  const send = (reply: FastifyReply, o: Parameters<typeof page>[0]) =>
    reply.type('text/html').send(page({ active: 'rules', scripts: ['rules.js'], ...o }).value);

  const requireDraft = async (req: FastifyRequest): Promise<RuleDraft> => {
    const id = Number((req.params as { id: string }).id);
    const d = Number.isInteger(id) ? await drafts.get(id) : null;
    if (!d) throw new ConsoleRefusal(404, `There is no draft #${(req.params as { id: string }).id}.`);
    return d;
  };

  const editor = async (
    req: FastifyRequest,
    o: Omit<EditorView, 'check' | 'csrf' | 'maxDays' | 'historyFile' | 'historySpan' | 'window' | 'basedOn'> & {
      window?: EditorView['window'];
      basedOn?: string | null;
    },
  ): Promise<EditorView> => {
    const active = await activeRuleset(r);
    const span = historySpan(r.historyFile);
    return {
      ...o,
      basedOn: o.basedOn ?? o.draft?.based_on ?? active.version,
      check: checkDraft(o.content, r.limits, active.def),
      csrf: csrfField(req.auth!),
      maxDays: r.backtestMaxDays,
      historyFile: r.historyFile,
      window: o.window ?? (span ? lastDays(span, Math.min(7, r.backtestMaxDays)) : { from: '', to: '' }),
      historySpan: span ? spanText(span) : null,
    };
  };

  app.get('/rules', async (req, reply) => {
    const [versions, active, list] = await Promise.all([r.store.list(), activeRuleset(r), drafts.list()]);
    const shadowIds = active.def.rules.filter((x) => x.mode === 'shadow').map((x) => x.id);
    const rates = await shadowHitRates(deps.pool, new Date(Date.now() - DAY_MS), shadowIds);
    return send(reply, {
      title: 'Rules',
      session: req.auth,
      body: html`<p>
          In force: ${active.version ? html`<a href="/rules/${active.version}">${active.version}</a>` : active.source}.
          <a class="button" href="/rules/drafts/new">New draft from the active version</a>
        </p>
        <h2>Versions</h2>
        ${versionsTable(versions)}
        <h2>Shadow rules on live traffic</h2>
        ${shadowTable(rates)}
        <h2>Drafts</h2>
        ${draftsTable(list)}`,
    });
  });

  app.get('/rules/drafts/new', analyst, async (req, reply) => {
    const active = await activeRuleset(r);
    const content = rulesetYaml({ ...active.def, version: nextVersion(active.def.version) }, [
      `draft from ${active.source}`,
    ]);
    return send(reply, {
      title: 'New rules draft',
      session: req.auth,
      body: editorView(await editor(req, { draft: null, content, basedOn: active.version })),
    });
  });

  app.post('/rules/drafts', analyst, async (req, reply) => {
    const content = draftContent(req);
    const based = (await r.store.activeVersion()) ?? null;
    const d = await drafts.create({ owner: req.auth!.user.username, basedOn: based, content });
    await recordAction(deps.pool, {
      actor: req.auth!.user.username,
      action: 'ruleset.draft.create',
      subject: `draft:${d.id}`,
      detail: { based_on: based },
    });
    return reply.redirect(`/rules/drafts/${d.id}?saved=1`, 303);
  });

  app.get('/rules/drafts/:id', async (req, reply) => {
    const d = await requireDraft(req);
    const q = req.query as Record<string, string | undefined>;
    const flash = q.submitted
      ? { kind: 'ok' as const, text: `Submitted as version ${q.submitted}: it waits for approval by another person.` }
      : q.saved
        ? { kind: 'ok' as const, text: 'Draft saved.' }
        : null;
    return send(reply, {
      title: `Rules draft #${d.id}`,
      session: req.auth,
      flash,
      body: editorView(await editor(req, { draft: d, content: d.content })),
    });
  });

  app.post('/rules/drafts/:id', analyst, async (req, reply) => {
    const d = await requireDraft(req);
    await saveDraft(d, draftContent(req), req.auth!.user.username);
    return reply.redirect(`/rules/drafts/${d.id}?saved=1`, 303);
  });

  const saveDraft = async (d: RuleDraft, content: string, by: string) => {
    if (content === d.content) return;
    await drafts.save(d.id, content, by);
    await recordAction(deps.pool, { actor: by, action: 'ruleset.draft.save', subject: `draft:${d.id}` });
  };

  // Live validation while typing: JSON, nothing stored.
  app.post('/rules/validate', analyst, async (req) => {
    const content = draftContent(req);
    const active = await activeRuleset(r);
    const c = checkDraft(content, r.limits, active.def);
    return { ok: c.ok, errors: c.errors, summary: c.summary, diff: c.diffLines };
  });

  app.post('/rules/drafts/:id/backtest', analyst, async (req, reply) => {
    const d = await requireDraft(req);
    const by = req.auth!.user.username;
    const content = (req.body as Body | undefined)?.content === undefined ? d.content : draftContent(req);
    await saveDraft(d, content, by);
    const from = field(req, 'from'),
      to = field(req, 'to');
    const fail = (status: number, text: string) => {
      throw new ConsoleRefusal(status, text);
    };
    let window;
    try {
      window = parseWindow(from, to, { maxDays: r.backtestMaxDays, names: ['From', 'To'] });
    } catch (err) {
      if (err instanceof WindowError) return fail(422, `${err.message}. Nothing was run.`);
      throw err;
    }
    const check = checkDraft(content, r.limits, null);
    if (!check.ok || !check.def)
      return fail(
        422,
        `The draft does not compile (${check.errors[0]?.message ?? 'see the editor'}); nothing was run.`,
      );
    // Off the request: the page polls the job (rules.js); a form without script waits for it.
    let job;
    try {
      job = jobs.start(by, async () => {
        const report = await backtestDraft(r, check.def!, window, `draft #${d.id}`);
        await recordAction(deps.pool, {
          actor: by,
          action: 'ruleset.backtest',
          subject: `draft:${d.id}`,
          detail: {
            from,
            to,
            transactions: report.transactions,
            outcome_changes: report.outcome_changes,
            elapsed_s: report.elapsed_s,
          },
        });
        return { html: backtestView(report).value, transactions: report.transactions };
      });
    } catch (err) {
      if (err instanceof JobsBusyError) return fail(429, err.message);
      throw err;
    }
    if (wantsJson(req)) return reply.code(202).send({ job: job.id, poll: `/rules/backtests/${job.id}` });
    await job.done;
    if (job.state === 'failed') return fail(422, job.error!);
    const saved = (await drafts.get(d.id))!;
    return send(reply, {
      title: `Rules draft #${d.id}`,
      session: req.auth,
      body: editorView(
        await editor(req, {
          draft: saved,
          content: saved.content,
          window: { from, to },
          results: raw(job.result!.html),
        }),
      ),
    });
  });

  // A running backtest's state, and its results once done (JSON, for rules.js).
  app.get('/rules/backtests/:job', async (req) => {
    const job = jobs.get((req.params as { job: string }).job, req.auth!.user.username);
    if (!job) throw new ConsoleRefusal(404, 'There is no such backtest (results are kept 15 minutes).');
    const elapsed_s = Math.round(((job.finishedAt ?? Date.now()) - job.startedAt) / 100) / 10;
    return { state: job.state, elapsed_s, html: job.result?.html ?? null, error: job.error };
  });

  app.post('/rules/drafts/:id/submit', analyst, async (req, reply) => {
    const d = await requireDraft(req);
    const author = req.auth!.user.username;
    const comment = field(req, 'comment').trim();
    if (!comment)
      throw new ConsoleRefusal(422, 'Say why in the comment: it is kept with the version. Nothing was submitted.');
    const check = checkDraft(d.content, r.limits, null);
    if (!check.ok || !check.def)
      throw new ConsoleRefusal(
        422,
        `The saved draft does not compile (${check.errors[0]?.message ?? ''}): fix and save it first. Nothing was submitted.`,
      );
    const version = field(req, 'version').trim() || check.def.version;
    let published;
    try {
      published = await publishRuleset(r.store, check.def, {
        comment,
        author,
        version,
        source: `console draft #${d.id}`,
        activate: false,
      });
    } catch (err) {
      if (err instanceof PublishError)
        throw new ConsoleRefusal(422, `${err.message.split('\n')[0]}. Nothing was submitted.`);
      if (err instanceof RulesetStoreError) throw new ConsoleRefusal(409, `${err.message}. Nothing was submitted.`);
      throw err;
    }
    await drafts.markSubmitted(d.id, published.meta.version);
    await recordAction(deps.pool, {
      actor: author,
      action: 'ruleset.submit',
      subject: published.meta.version,
      detail: { draft: d.id, comment },
    });
    return reply.redirect(`/rules/drafts/${d.id}?submitted=${encodeURIComponent(published.meta.version)}`, 303);
  });

  app.get('/rules/:version', async (req, reply) => {
    const version = (req.params as { version: string }).version;
    const s = await r.store.show(version);
    if (!s) throw new ConsoleRefusal(404, `There is no ruleset version '${version}'.`);
    const m = s.meta;
    const active = await activeRuleset(r);
    const changes = m.status === 'active' ? null : diffText(diffRulesets(active.def, s.def));
    return send(reply, {
      title: `Ruleset ${m.version}`,
      session: req.auth,
      body: html`<p>
          <span class="badge ${m.status === 'active' ? 'ok' : 'warn'}">${m.status}</span> published by ${m.author} on
          ${m.created_at.toISOString().slice(0, 16).replace('T', ' ')} UTC:
          ${m.comment}${m.source ? html` <small class="muted">(from ${m.source})</small>` : ''}
        </p>
        ${rulesTable(s.def)}
        ${
          changes === null
            ? ''
            : html`<h2 id="diff-heading">Changes from the active ruleset (${active.version ?? active.source})</h2>
                ${preformatted('version-diff', changes)}`
        }
        <p><a href="/rules">All versions</a></p>`,
    });
  });
}

/** A fresh version id for a draft of `base`: `<base>-d<yyyymmddhhmm>` (at most 64 characters). */
export function nextVersion(base: string, now = new Date()): string {
  const stamp = now.toISOString().slice(0, 16).replace(/[-:T]/g, '');
  const stem = base.replace(/-d\d{12}$/, '').slice(0, 64 - 14);
  return `${stem}-d${stamp}`;
}

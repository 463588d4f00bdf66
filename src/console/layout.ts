/**
 * The page shell every console page shares: a skip link, the navigation (the current page marked
 * with aria-current), the signed-in user with a sign-out form, the CSRF token for scripts, one
 * stylesheet and one script, all served from /assets (no CDN, nothing inline: the CSP forbids it).
 */
import type { Session } from '../identity/sessions.js';
import { html, type Html, type HtmlValue } from './html.js';

export const NAV = [
  { href: '/', label: 'Overview', id: 'overview' },
  { href: '/queue', label: 'Review queue', id: 'queue' },
  { href: '/decisions', label: 'Decisions', id: 'decisions' },
  { href: '/rules', label: 'Rules', id: 'rules' },
  { href: '/approvals', label: 'Approvals', id: 'approvals' },
  { href: '/activity', label: 'Activity', id: 'activity' },
] as const;

export type NavId = (typeof NAV)[number]['id'];

export interface PageOptions {
  title: string;
  session: Session | null;
  /** Which navigation entry is current. */
  active?: NavId;
  body: HtmlValue;
  /** A message shown above the content: a confirmation or an error the person can act on. */
  flash?: { kind: 'ok' | 'error'; text: string } | null;
  /** Extra scripts of this page, under /assets. */
  scripts?: string[];
}

export function page(o: PageOptions): Html {
  const s = o.session;
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        ${s ? html`<meta name="csrf-token" content="${s.csrf}" />` : ''}
        <title>${o.title} · Fraud console</title>
        <link rel="stylesheet" href="/assets/console.css" />
        <script src="/assets/console.js" defer></script>
        ${(o.scripts ?? []).map((src) => html`<script src="/assets/${src}" defer></script>`)}
      </head>
      <body>
        <a class="skip" href="#main">Skip to content</a>
        <header class="top">
          <span class="brand">Fraud console</span>
          ${
            s
              ? html`<nav aria-label="Main">
                    <ul>
                      ${NAV.map(
                        (n) =>
                          html`<li>
                            <a href="${n.href}" ${n.id === o.active ? html` aria-current="page"` : ''}>${n.label}</a>
                          </li>`,
                      )}
                    </ul>
                  </nav>
                  <form class="who" method="post" action="/logout">
                    <span>${s.user.displayName} <small>(${s.user.roles.join(', ')})</small></span>
                    <input type="hidden" name="_csrf" value="${s.csrf}" />
                    <button type="submit">Sign out</button>
                  </form>`
              : ''
          }
        </header>
        <main id="main" tabindex="-1">
          <h1>${o.title}</h1>
          ${o.flash ? html`<p class="flash ${o.flash.kind}" role="${o.flash.kind === 'error' ? 'alert' : 'status'}">${o.flash.text}</p>` : ''}
          ${o.body}
        </main>
      </body>
    </html>`;
}

/** A hidden CSRF field for a form of the page. */
export function csrfField(session: Session): Html {
  return html`<input type="hidden" name="_csrf" value="${session.csrf}" />`;
}

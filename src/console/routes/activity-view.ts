/** The activity page's markup: the filter form, the action log table, and the admins' users section. */
import type { LoggedAction } from '../../identity/action-log.js';
import type { Session } from '../../identity/sessions.js';
import { ROLES, type Role, type User } from '../../identity/users.js';
import { html, type Html } from '../html.js';
import { csrfField, page } from '../layout.js';

export interface ActivityFilters {
  actor: string;
  action: string;
  /** `datetime-local` values, UTC. */
  from: string;
  to: string;
  before?: number;
}

export interface AddUserForm {
  username: string;
  displayName: string;
  roles: Role[];
}

/** The detail as one short line: `key=value` pairs (JSON for nested values). */
export function detailText(d: Record<string, unknown>): string {
  return Object.entries(d)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
}

function filterForm(f: ActivityFilters): Html {
  return html`<form class="filters" method="get" action="/activity" aria-label="Filter the action log">
    <div>
      <label for="f-actor">User</label>
      <input id="f-actor" name="actor" type="text" value="${f.actor}" autocomplete="off" />
    </div>
    <div>
      <label for="f-action">Action (or its start, e.g. <code>user</code>)</label>
      <input id="f-action" name="action" type="text" value="${f.action}" autocomplete="off" />
    </div>
    <div>
      <label for="f-from">From (UTC)</label>
      <input id="f-from" name="from" type="datetime-local" value="${f.from}" />
    </div>
    <div>
      <label for="f-to">To (UTC)</label>
      <input id="f-to" name="to" type="datetime-local" value="${f.to}" />
    </div>
    <div class="actions">
      <button type="submit">Filter</button>
      <a href="/activity">Clear</a>
    </div>
  </form>`;
}

function actionsTable(actions: LoggedAction[], f: ActivityFilters, more: boolean): Html {
  if (actions.length === 0) return html`<p class="muted" data-testid="no-actions">No action matches these filters.</p>`;
  const older = new URLSearchParams({
    ...(f.actor ? { actor: f.actor } : {}),
    ...(f.action ? { action: f.action } : {}),
    ...(f.from ? { from: f.from } : {}),
    ...(f.to ? { to: f.to } : {}),
    before: String(actions[actions.length - 1]!.id),
  });
  return html`<table data-testid="actions">
      <caption class="visually-hidden">
        The action log, newest first
      </caption>
      <thead>
        <tr>
          <th scope="col">When (UTC)</th>
          <th scope="col">User</th>
          <th scope="col">Action</th>
          <th scope="col">Subject</th>
          <th scope="col">Detail</th>
        </tr>
      </thead>
      <tbody>
        ${actions.map(
          (a) =>
            html`<tr>
              <td>
                <time datetime="${a.at.toISOString()}">${a.at.toISOString().slice(0, 19).replace('T', ' ')}</time>
              </td>
              <td>${a.actor}</td>
              <td><code>${a.action}</code></td>
              <td>${a.subject}</td>
              <td class="detail">${detailText(a.detail)}</td>
            </tr>`,
        )}
      </tbody>
    </table>
    ${more ? html`<p><a href="/activity?${older.toString()}">Older entries</a></p>` : ''}`;
}

function roleBoxes(idPrefix: string, checked: readonly Role[]): Html {
  return html`${ROLES.map(
    (r) =>
      html`<label class="check" for="${idPrefix}-${r}"
        ><input
          id="${idPrefix}-${r}"
          type="checkbox"
          name="roles"
          value="${r}"
          ${checked.includes(r) ? 'checked' : ''}
        />
        ${r}</label
      >`,
  )}`;
}

function usersSection(session: Session, users: User[], form: AddUserForm | undefined): Html {
  const f = form ?? { username: '', displayName: '', roles: ['analyst'] as Role[] };
  return html`<section id="users" aria-labelledby="users-h">
    <h2 id="users-h">Users</h2>
    <table data-testid="users">
      <thead>
        <tr>
          <th scope="col">User</th>
          <th scope="col">Name</th>
          <th scope="col">Status</th>
          <th scope="col">Roles</th>
          <th scope="col"><span class="visually-hidden">Disable</span></th>
        </tr>
      </thead>
      <tbody>
        ${users.map((u) => {
          const id = `u-${u.username.replace(/[^a-z0-9-]/g, '_')}`;
          return html`<tr data-user="${u.username}">
            <th scope="row">${u.username}</th>
            <td>${u.displayName}</td>
            <td>
              ${u.disabled ? html`<span class="badge bad">disabled</span>` : html`<span class="badge ok">enabled</span>`}
            </td>
            <td>
              <form class="roles" method="post" action="/activity/users/${encodeURIComponent(u.username)}/roles">
                ${csrfField(session)}
                <fieldset>
                  <legend class="visually-hidden">Roles of ${u.username}</legend>
                  ${roleBoxes(id, u.roles)}
                </fieldset>
                <button type="submit" class="secondary" aria-label="Save roles of ${u.username}">Save roles</button>
              </form>
            </td>
            <td>
              ${
                u.disabled || u.username === session.user.username
                  ? ''
                  : html`<form method="post" action="/activity/users/${encodeURIComponent(u.username)}/disable">
                      ${csrfField(session)}
                      <button type="submit" class="secondary" aria-label="Disable ${u.username}">Disable</button>
                    </form>`
              }
            </td>
          </tr>`;
        })}
      </tbody>
    </table>
    <h3 id="add-h">Add a user</h3>
    <form class="add-user" method="post" action="/activity/users" aria-labelledby="add-h">
      ${csrfField(session)}
      <label for="nu-username">Username</label>
      <input id="nu-username" name="username" type="text" required autocomplete="off" value="${f.username}" />
      <label for="nu-display">Display name</label>
      <input id="nu-display" name="display_name" type="text" autocomplete="off" value="${f.displayName}" />
      <label for="nu-password">Initial password (at least 12 characters)</label>
      <input id="nu-password" name="password" type="password" required minlength="12" autocomplete="new-password" />
      <fieldset>
        <legend>Roles</legend>
        ${roleBoxes('nu', f.roles)}
      </fieldset>
      <p><button type="submit">Add user</button></p>
    </form>
  </section>`;
}

export function activityBody(o: {
  session: Session;
  filters: ActivityFilters;
  actions: LoggedAction[];
  more: boolean;
  users: User[] | null;
  flash: { kind: 'ok' | 'error'; text: string } | null;
  form?: AddUserForm;
}): Html {
  return page({
    title: 'Activity',
    session: o.session,
    active: 'activity',
    flash: o.flash,
    body: html`<h2 id="log-h">Action log</h2>
      ${filterForm(o.filters)} ${actionsTable(o.actions, o.filters, o.more)}
      ${o.users ? usersSection(o.session, o.users, o.form) : ''}`,
  });
}

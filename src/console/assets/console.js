// The console's shared client script: fetch with the session's CSRF token, and live regions that
// refresh themselves. Pages work without it (forms post normally); it only adds liveness.
'use strict';
(function () {
  const csrf = document.querySelector('meta[name="csrf-token"]')?.getAttribute('content') ?? '';
  /** POST JSON with the CSRF header; resolves to the parsed JSON answer (or throws with its message). */
  async function postJson(url, body) {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-csrf-token': csrf, accept: 'application/json' },
      body: JSON.stringify(body),
      credentials: 'same-origin',
    });
    const data = await res.json().catch(() => ({ error: `HTTP ${res.status}` }));
    if (!res.ok) throw Object.assign(new Error(data.error ?? `HTTP ${res.status}`), { data, status: res.status });
    return data;
  }
  // <div data-refresh="/fragment/url" data-every="5000">: replaced by the fragment every few seconds.
  for (const el of document.querySelectorAll('[data-refresh]')) {
    const every = Number(el.getAttribute('data-every') ?? 5000);
    setInterval(async () => {
      // Not under someone's keyboard focus: replacing the markup would drop it.
      if (el.contains(document.activeElement) && document.activeElement !== document.body) return;
      const res = await fetch(el.getAttribute('data-refresh'), { credentials: 'same-origin' }).catch(() => null);
      // A redirect means the session ended (to the sign-in page): keep the last figures.
      if (res && res.ok && !res.redirected) el.innerHTML = await res.text();
    }, every);
  }
  window.fe = { postJson, csrf };
})();

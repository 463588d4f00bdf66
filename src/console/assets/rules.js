// The rules draft editor: live validation while typing (the engine's compiler, through
// POST /rules/validate), a pointer at the line and column of the first error, the changes against
// the active version, and the backtest run in place. Without this script the forms still work.
'use strict';
(function () {
  const area = document.getElementById('draft-content');
  if (!area || !window.fe) return;
  const status = document.getElementById('draft-status');
  const diff = document.getElementById('draft-diff');
  const pointer = document.getElementById('draft-pointer');
  const pointerLine = document.getElementById('draft-pointer-line');
  const gotoButton = document.getElementById('goto-error');
  let seq = 0;
  let timer = null;
  let first = null;

  function show(result) {
    status.replaceChildren();
    if (result.ok) {
      const p = document.createElement('p');
      p.className = 'ok-text';
      p.textContent = `Compiles: ${result.summary}.`;
      status.append(p);
      diff.textContent = result.diff.join('\n');
      area.removeAttribute('aria-invalid');
      pointer.hidden = true;
      first = null;
      return;
    }
    const ul = document.createElement('ul');
    ul.className = 'error-text';
    for (const e of result.errors) {
      const li = document.createElement('li');
      li.textContent = e.message;
      li.dataset.line = e.line ?? '';
      ul.append(li);
    }
    status.append(ul);
    diff.textContent = '(fix the errors to see the changes)';
    area.setAttribute('aria-invalid', 'true');
    first = result.errors[0] ?? null;
    if (first && first.line) {
      const text = area.value.split('\n')[first.line - 1] ?? '';
      const caret = first.column ? `\n${' '.repeat(String(first.line).length + 2 + first.column - 1)}^` : '';
      pointerLine.textContent = `${first.line}: ${text}${caret}`;
      pointer.hidden = false;
    } else pointer.hidden = true;
  }

  async function validate() {
    const mine = ++seq;
    try {
      const result = await window.fe.postJson('/rules/validate', { content: area.value });
      if (mine === seq) show(result);
    } catch (err) {
      if (mine !== seq) return;
      status.replaceChildren();
      const p = document.createElement('p');
      p.className = 'error-text';
      p.textContent = `Could not check the draft: ${err.message}`;
      status.append(p);
    }
  }

  area.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(validate, 350);
  });

  // Put the cursor on the error and scroll the editor to its line.
  gotoButton?.addEventListener('click', () => {
    if (!first) return;
    area.focus();
    area.setSelectionRange(first.offset, first.offset + 1);
    const lineHeight = parseFloat(window.getComputedStyle(area).lineHeight) || 18;
    area.scrollTop = Math.max(0, (first.line - 3) * lineHeight);
  });

  // The backtest in place: the results replace the region (aria-live) when they are ready.
  const run = document.getElementById('run-backtest');
  const results = document.getElementById('backtest-results');
  const form = document.getElementById('draft-form');
  run?.addEventListener('click', async (ev) => {
    if (!form.reportValidity()) return;
    ev.preventDefault();
    const id = form.dataset.draft;
    const from = document.getElementById('bt-from').value;
    const to = document.getElementById('bt-to').value;
    run.disabled = true;
    results.setAttribute('aria-busy', 'true'); // announced once, when the results are in
    results.replaceChildren();
    const p = document.createElement('p');
    p.textContent = 'Running the backtest…';
    results.append(p);
    try {
      const started = await window.fe.postJson(`/rules/drafts/${id}/backtest`, { content: area.value, from, to });
      // The backtest runs on the server; its state is polled until it is done.
      for (;;) {
        await new Promise((resolve) => setTimeout(resolve, 500));
        const res = await fetch(started.poll, { credentials: 'same-origin', headers: { accept: 'application/json' } });
        const job = await res.json().catch(() => ({ state: 'failed', error: `HTTP ${res.status}` }));
        if (!res.ok) throw new Error(job.error ?? `HTTP ${res.status}`);
        if (job.state === 'done') {
          results.innerHTML = job.html; // server-rendered, every value escaped (src/console/html.ts)
          break;
        }
        if (job.state === 'failed') throw new Error(job.error);
        p.textContent = `Running the backtest… ${Math.round(job.elapsed_s)} s`;
      }
    } catch (err) {
      p.className = 'error-text';
      p.setAttribute('role', 'alert');
      p.textContent = err.message;
    } finally {
      results.removeAttribute('aria-busy');
      run.disabled = false;
    }
  });
})();

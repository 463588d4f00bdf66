// The review area's client script: keyboard navigation of the queue (j / k or the arrow keys
// move between cases, Enter opens one, c claims it) and the on-demand "Explain" of a case,
// whose answer is announced in an aria-live region. Everything works without it.
'use strict';
(function () {
  const typing = (el) => el && (el.tagName === 'INPUT' || el.tagName === 'TEXTAREA' || el.tagName === 'SELECT');

  const links = () => Array.from(document.querySelectorAll('[data-case-link]'));
  if (links().length) {
    document.addEventListener('keydown', (ev) => {
      if (ev.ctrlKey || ev.metaKey || ev.altKey || typing(document.activeElement)) return;
      const all = links();
      const at = all.indexOf(document.activeElement);
      const move = { j: 1, ArrowDown: 1, k: -1, ArrowUp: -1 }[ev.key];
      if (move) {
        ev.preventDefault();
        const next = all[Math.min(all.length - 1, Math.max(0, at < 0 ? 0 : at + move))];
        next.focus();
        next.closest('tr')?.scrollIntoView({ block: 'nearest' });
      } else if (ev.key === 'c' && at >= 0) {
        const claim = all[at].closest('tr')?.querySelector('[data-claim]');
        if (claim) {
          ev.preventDefault();
          claim.click();
        }
      }
    });
  }

  const explain = document.getElementById('explain');
  const out = document.getElementById('explanation');
  if (explain && out) {
    explain.addEventListener('click', async () => {
      explain.disabled = true;
      out.textContent = 'Asking the assistant…';
      try {
        const res = await window.fe.postJson(explain.getAttribute('data-url'), {});
        out.textContent = '';
        const p = document.createElement('p');
        p.textContent = res.explanation;
        const by = document.createElement('p');
        by.className = 'muted';
        by.textContent = `${res.model}, just now`;
        out.append(p, by);
      } catch (err) {
        out.textContent = '';
        const p = document.createElement('p');
        p.className = 'error-text';
        p.setAttribute('role', 'alert');
        p.textContent = err.message;
        out.append(p);
      } finally {
        explain.disabled = false;
      }
    });
  }
})();

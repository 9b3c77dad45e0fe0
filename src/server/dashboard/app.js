// Gatehouse dashboard: plain ES module, no build step, served with a strict CSP (no inline script).
// The operator token lives in sessionStorage for this tab only.
const $ = (sel) => document.querySelector(sel);
const TOKEN_KEY = 'gatehouse.operator';
let timer;

function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

async function api(path, init = {}) {
  const res = await fetch(path, {
    ...init,
    headers: {
      authorization: `Bearer ${token()}`,
      ...(init.body ? { 'content-type': 'application/json' } : {}),
      ...init.headers,
    },
  });
  if (res.status === 401) {
    signOut('Your token was not accepted.');
    throw new Error('unauthorized');
  }
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(body.message || `${res.status}`);
  return body;
}

function el(tag, props = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c ?? '')));
  return e;
}

function showLogin(message = '') {
  clearInterval(timer);
  $('#main').hidden = true;
  $('#signout').hidden = true;
  $('#login').hidden = false;
  $('#login-error').textContent = message;
}

function signOut(message) {
  sessionStorage.removeItem(TOKEN_KEY);
  showLogin(message);
}

async function refreshStatus() {
  const h = await fetch('/healthz').then((r) => r.json());
  $('#status').textContent = `policy epoch ${h.policyEpoch} · audit seq ${h.auditSeq}`;
}

async function refreshIntegrity() {
  const v = await api('/v1/audit/verify');
  const b = $('#integrity');
  b.textContent = v.ok ? `chain verified (${v.events} events)` : `chain ${v.status} at seq ${v.firstBadSeq}`;
  b.className = `badge ${v.ok ? 'ok' : 'bad'}`;
}

async function refreshEvents() {
  const f = new FormData($('#filter'));
  const q = new URLSearchParams();
  for (const k of ['agent', 'type', 'limit']) if (f.get(k)) q.set(k, f.get(k));
  const { events } = await api(`/v1/audit/events?${q}`);
  const rows = events
    .reverse()
    .map((e) =>
      el(
        'tr',
        { onclick: () => showEvent(e), 'data-seq': e.seq },
        el('td', {}, e.seq),
        el('td', {}, new Date(e.ts).toLocaleString()),
        el('td', {}, e.type),
        el('td', {}, e.agent ?? e.actor ?? ''),
        el('td', {}, e.action?.tool ?? ''),
        el('td', { class: e.decision ? `effect-${e.decision}` : '' }, e.decision ?? ''),
        el('td', {}, (e.reasons ?? []).map((r) => r.code).join(', ')),
      ),
    );
  $('#events tbody').replaceChildren(...rows);
}

function showEvent(e) {
  const pre = $('#event-detail');
  pre.textContent = JSON.stringify(e, null, 2);
  pre.hidden = false;
}

async function refreshApprovals() {
  let list;
  try {
    list = await api('/v1/approvals?status=pending');
  } catch (err) {
    if (err.message === 'unauthorized') throw err;
    $('#approvals-empty').textContent = `Approvals are unavailable: ${err.message}`;
    $('#approvals').hidden = true;
    return;
  }
  const pending = list.approvals ?? [];
  $('#approvals-count').textContent = pending.length ? `(${pending.length})` : '';
  $('#approvals-empty').hidden = pending.length > 0;
  $('#approvals').hidden = pending.length === 0;
  const rows = pending.map((a) => {
    const reason = el('input', { placeholder: 'reason', size: 12, 'aria-label': `reason for ${a.id}` });
    const decide = (verdict) => async () => {
      await api(`/v1/approvals/${encodeURIComponent(a.id)}/${verdict}`, {
        method: 'POST',
        body: JSON.stringify({ reason: reason.value || undefined }),
      });
      await refreshAll();
    };
    return el(
      'tr',
      { 'data-approval': a.id },
      el('td', {}, new Date(a.createdAt).toLocaleString()),
      el('td', {}, a.agent),
      el('td', {}, a.tool ?? ''),
      el('td', { class: 'args' }, JSON.stringify(a.args ?? {})),
      el('td', {}, (a.reasons ?? []).map((r) => r.message ?? r.code).join('; ')),
      el(
        'td',
        {},
        reason,
        ' ',
        el('button', { class: 'approve', onclick: decide('approve') }, 'Approve'),
        ' ',
        el('button', { class: 'deny', onclick: decide('deny') }, 'Deny'),
      ),
    );
  });
  $('#approvals tbody').replaceChildren(...rows);
}

async function refreshAll() {
  try {
    await Promise.all([refreshStatus(), refreshApprovals(), refreshEvents(), refreshIntegrity()]);
  } catch (err) {
    if (err.message !== 'unauthorized') $('#status').textContent = `error: ${err.message}`;
  }
}

async function start() {
  if (!token()) return showLogin();
  $('#login').hidden = true;
  $('#main').hidden = false;
  $('#signout').hidden = false;
  await refreshAll();
  clearInterval(timer);
  timer = setInterval(refreshAll, 5000);
}

$('#login-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  sessionStorage.setItem(TOKEN_KEY, new FormData(ev.target).get('token'));
  ev.target.reset();
  await start();
});
$('#filter').addEventListener('submit', (ev) => {
  ev.preventDefault();
  refreshEvents();
});
$('#signout').addEventListener('click', () => signOut(''));
start();

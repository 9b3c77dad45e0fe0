// Gatehouse security console: plain ES module, no build step, served with a strict CSP (no inline script or style).
// Everything from the server is rendered as text (textContent, never innerHTML): agent names, tool names,
// arguments and reasons come from agents and may be hostile. The operator token lives in sessionStorage only.
const $ = (sel) => document.querySelector(sel);
const TOKEN_KEY = 'gatehouse.operator';
const VIEWS = ['overview', 'agents', 'approvals', 'incidents', 'audit', 'compliance', 'digest'];
let view = 'overview';
let stream;
let lastSeq = 0;
const pending = new Set();
let flushTimer;

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
  if (init.raw) {
    if (!res.ok) throw new Error(`${res.status}`);
    return res;
  }
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(body.message || `${res.status}`);
  return body;
}

const post = (path, body) => api(path, { method: 'POST', body: JSON.stringify(body ?? {}) });

function el(tag, props = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c ?? '')));
  return e;
}

const time = (t) => (t ? new Date(t).toLocaleString() : '');
const codes = (reasons) => (reasons ?? []).map((r) => r.code).join(', ');

async function download(path, name) {
  const res = await api(path, { raw: true });
  const url = URL.createObjectURL(await res.blob());
  const a = el('a', { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

function downloadText(text, name) {
  const url = URL.createObjectURL(new Blob([text], { type: 'text/plain' }));
  const a = el('a', { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/** A confirmation dialog asking for a reason; resolves to the reason, or null when cancelled. */
function confirmAction(title, text) {
  const d = $('#confirm');
  $('#confirm-title').textContent = title;
  $('#confirm-text').textContent = text;
  $('#confirm-reason').value = '';
  return new Promise((resolve) => {
    const done = (v) => {
      d.removeEventListener('close', onClose);
      resolve(v);
    };
    const onClose = () => done(d.returnValue === 'ok' ? $('#confirm-reason').value.trim() || null : null);
    d.addEventListener('close', onClose);
    d.returnValue = '';
    d.showModal();
    $('#confirm-reason').focus();
  });
}
$('#confirm-cancel').addEventListener('click', () => $('#confirm').close(''));

// ---- sign-in ----
function showLogin(message = '') {
  stream?.abort();
  for (const id of ['#main', '#nav', '#signout']) $(id).hidden = true;
  $('#login').hidden = false;
  $('#login-error').textContent = message;
  $('#live').textContent = 'offline';
  $('#live').className = 'badge';
}

function signOut(message) {
  sessionStorage.removeItem(TOKEN_KEY);
  showLogin(message);
}

// ---- views ----
function show(name) {
  view = VIEWS.includes(name) ? name : 'overview';
  for (const v of VIEWS) $(`#view-${v}`).hidden = v !== view;
  for (const b of document.querySelectorAll('#nav button')) {
    if (b.dataset.view === view) b.setAttribute('aria-current', 'page');
    else b.removeAttribute('aria-current');
  }
  if (location.hash !== `#${view}`) history.replaceState(null, '', `#${view}`);
  return load(view);
}

function load(name) {
  const loaders = {
    overview: loadOverview,
    agents: loadAgents,
    approvals: loadApprovals,
    incidents: loadIncidents,
    audit: loadEvents,
    compliance: loadCompliance,
    digest: loadDigest,
  };
  return loaders[name]().catch((err) => {
    if (err.message !== 'unauthorized') $('#status').textContent = `error: ${err.message}`;
  });
}

async function refreshStatus() {
  const h = await fetch('/healthz').then((r) => r.json());
  $('#status').textContent = `policy epoch ${h.policyEpoch} · audit seq ${h.auditSeq}`;
}

async function loadOverview() {
  const o = await api('/v1/console/overview');
  const i = o.integrity;
  const cp = i.checkpoint ? `; checkpoint seq ${i.checkpoint.seq}${i.checkpoint.signed ? ' (signed)' : ''}` : '';
  const p = $('#ov-integrity');
  p.textContent = `${i.ok ? 'verified' : `FAILED: ${i.status}`} · ${i.events} events${cp} · checked ${time(i.verifiedAt)}`;
  p.className = i.ok ? 'ok' : 'bad';
  $('#ov-agents').replaceChildren(
    ...Object.entries(o.agentsByStatus).map(([s, n]) => el('li', {}, el('span', { class: `st st-${s}` }, s), ` ${n}`)),
  );
  $('#ov-incidents').textContent = String(o.openIncidents);
  $('#ov-approvals').textContent = String(o.pendingApprovals);
  $('#ov-health').textContent =
    `store ${o.store.ok ? 'ok' : o.store.message} · ${o.sandbox.quarantinedAgents} agents quarantined`;
  $('#ov-deliveries').textContent = o.deadLetters ? `${o.deadLetters} dead-lettered` : 'all delivered';
  $('#ov-rate tbody').replaceChildren(
    ...o.decisionsPerMinute
      .filter((m) => m.allow + m.deny + m.review > 0)
      .reverse()
      .map((m) =>
        el(
          'tr',
          {},
          el('td', {}, new Date(m.minute).toLocaleTimeString()),
          el('td', { class: 'effect-allow' }, m.allow),
          el('td', { class: 'effect-deny' }, m.deny),
          el('td', { class: 'effect-review' }, m.review),
        ),
      ),
  );
  $('#ov-reasons tbody').replaceChildren(
    ...o.topReasons.map((r) => el('tr', {}, el('td', {}, el('code', {}, r.code)), el('td', {}, r.count))),
  );
}

// ---- agents ----
async function loadAgents() {
  const { agents } = await api('/v1/console/agents');
  $('#agents tbody').replaceChildren(
    ...agents.map((a) => {
      const act = (label, fn) =>
        el('button', { type: 'button', 'data-action': label.toLowerCase(), onclick: fn }, label);
      const actions = [];
      if (a.quarantined) actions.push(act('Restore', () => agentAction(a, 'restore')));
      else actions.push(act('Quarantine', () => agentAction(a, 'quarantine')));
      if (a.status !== 'revoked') actions.push(act('Revoke', () => agentAction(a, 'revoke')));
      if (a.key) actions.push(act('Rotate', () => agentAction(a, 'rotate')));
      return el(
        'tr',
        { 'data-agent': a.id },
        el('th', { scope: 'row' }, a.id),
        el(
          'td',
          {},
          el(
            'span',
            { class: `st st-${a.quarantined ? 'quarantined' : a.status}` },
            a.quarantined ? 'quarantined' : a.status,
          ),
        ),
        el('td', {}, a.roles.join(', ')),
        el('td', {}, time(a.nextRotationAt)),
        el('td', {}, time(a.certificateNotAfter)),
        el('td', {}, time(a.lastActivity)),
        el('td', { class: 'actions' }, ...actions),
      );
    }),
  );
}

async function agentAction(a, what) {
  const reason = await confirmAction(
    `${what[0].toUpperCase()}${what.slice(1)} agent ${a.id}?`,
    {
      quarantine: 'Its tokens are revoked and its sandboxes stopped until an operator restores it.',
      restore: 'The agent may act again under its policy.',
      revoke: 'The agent is revoked for good: it cannot get tokens again.',
      rotate: 'A new key pair is generated; the private key is downloaded once and then exists only with you.',
    }[what],
  );
  if (reason === null) return;
  const id = encodeURIComponent(a.id);
  try {
    if (what === 'quarantine') await post('/v1/response/quarantine', { agent: a.id, reason });
    if (what === 'restore') await post('/v1/response/restore', { agent: a.id, reason });
    if (what === 'revoke') await post(`/v1/agents/${id}/status`, { status: 'revoked', reason });
    if (what === 'rotate') {
      const r = await post(`/v1/agents/${id}/rotate`, { generate_key: a.key?.alg ?? 'Ed25519' });
      if (r.private_key) downloadText(r.private_key, `${a.id}-key.pem`);
    }
    $('#agents-message').textContent = `${what} ${a.id}: done`;
  } catch (err) {
    $('#agents-message').textContent = `${what} ${a.id} failed: ${err.message}`;
  }
  await loadAgents();
}

// ---- approvals: rows are added and removed, never rebuilt, so a half-typed reason survives live updates ----
async function loadApprovals() {
  const { approvals } = await api('/v1/approvals?status=pending');
  $('#approvals-count').textContent = approvals.length ? `(${approvals.length})` : '';
  $('#approvals-empty').hidden = approvals.length > 0;
  const list = $('#approvals');
  const ids = new Set(approvals.map((a) => a.id));
  for (const li of [...list.children]) if (!ids.has(li.dataset.approval)) li.remove();
  const shown = new Set([...list.children].map((li) => li.dataset.approval));
  for (const a of approvals) if (!shown.has(a.id)) list.append(approvalItem(a));
}

function approvalItem(a) {
  const reasonId = `reason-${a.id}`;
  const reason = el('input', { id: reasonId, class: 'reason', size: 24, autocomplete: 'off', maxlength: 1000 });
  const msg = el('span', { role: 'status', class: 'muted' });
  const decide = (verdict) => async () => {
    try {
      await post(`/v1/approvals/${encodeURIComponent(a.id)}/${verdict}`, { reason: reason.value || undefined });
      li.remove();
      await loadApprovals();
    } catch (err) {
      msg.textContent = `${verdict} failed: ${err.message}`;
    }
  };
  const changes = el('div', { class: 'changes' }, 'Loading what changed…');
  const li = el(
    'li',
    { 'data-approval': a.id, class: 'approval', 'aria-labelledby': `t-${a.id}` },
    el('h3', { id: `t-${a.id}` }, el('code', {}, a.tool ?? a.id), ' by ', el('span', { class: 'agent' }, a.agent)),
    el(
      'p',
      { class: 'muted' },
      `requested ${time(a.createdAt)} · session ${a.session} · tier ${a.tier} · expires ${time(a.expiresAt)}`,
    ),
    el('p', { class: 'why' }, (a.reasons ?? []).map((r) => `${r.code}: ${r.message}`).join('; ')),
    el('h4', {}, 'Arguments'),
    el('pre', { class: 'args' }, JSON.stringify(a.args ?? {}, null, 2)),
    changes,
    a.dryRun
      ? el(
          'div',
          {},
          el('h4', {}, `Dry run (${a.dryRun.status})`),
          el('pre', {}, JSON.stringify(a.dryRun.result ?? a.dryRun.error ?? null, null, 2)),
        )
      : '',
    el(
      'div',
      { class: 'decide' },
      el('label', { for: reasonId }, 'Reason'),
      reason,
      el('button', { type: 'button', class: 'approve', onclick: decide('approve') }, 'Approve'),
      el('button', { type: 'button', class: 'deny', onclick: decide('deny') }, 'Deny'),
      msg,
    ),
  );
  api(`/v1/console/approvals/${encodeURIComponent(a.id)}/context`)
    .then((c) => {
      const labels = c.sessionLabels.length ? `Session labels: ${c.sessionLabels.join(', ')}. ` : 'No session labels. ';
      if (!c.previous) {
        changes.replaceChildren(`${labels}First approval request for this tool by this agent.`);
        return;
      }
      const items = c.changes.map((d) =>
        el(
          'li',
          {},
          el('code', {}, d.key),
          ` ${d.change}`,
          d.before !== undefined ? ` from ${d.before}` : '',
          d.after !== undefined ? ` to ${d.after}` : '',
        ),
      );
      changes.replaceChildren(
        `${labels}Since the approved call of ${time(c.previous.createdAt)}: `,
        items.length ? el('ul', {}, ...items) : 'no argument changed.',
      );
    })
    .catch(() => changes.replaceChildren(''));
  return li;
}

// ---- incidents ----
let openIncident;
async function loadIncidents() {
  const [{ incidents }, { deliveries }] = await Promise.all([
    api('/v1/incidents'),
    api('/v1/alerts/deliveries?status=dead'),
  ]);
  const open = incidents.filter((i) => i.state === 'open').length;
  $('#incidents-count').textContent = open ? `(${open})` : '';
  $('#incidents tbody').replaceChildren(
    ...incidents.map((i) =>
      el(
        'tr',
        { 'data-incident': i.id },
        el(
          'td',
          {},
          el('button', { type: 'button', class: 'link', onclick: () => showIncident(i.id) }, time(i.createdAt)),
        ),
        el('td', {}, i.agent),
        el('td', {}, i.rule),
        el('td', {}, i.summary),
        el('td', {}, el('span', { class: `st st-${i.state}` }, i.state)),
        el('td', {}, i.owner ?? ''),
      ),
    ),
  );
  $('#dead tbody').replaceChildren(
    ...deliveries.map((d) =>
      el(
        'tr',
        {},
        el('td', {}, d.id),
        el('td', {}, d.channel),
        el('td', {}, d.attempts),
        el('td', {}, d.lastError ?? ''),
        el(
          'td',
          {},
          el(
            'button',
            {
              type: 'button',
              onclick: () => post(`/v1/alerts/deliveries/${encodeURIComponent(d.id)}/retry`).then(loadIncidents),
            },
            'Retry',
          ),
        ),
      ),
    ),
  );
  if (openIncident) await showIncident(openIncident, false);
}

async function showIncident(id, fillForm = true) {
  const { incident, timeline } = await api(`/v1/incidents/${encodeURIComponent(id)}`);
  const switched = openIncident !== id;
  openIncident = id;
  $('#incident').hidden = false;
  $('#incident-title').textContent = `${incident.rule} · ${incident.agent} · ${incident.state}`;
  // Refreshes never touch what the operator is typing; only opening an incident fills the form.
  if (fillForm || switched) {
    const f = $('#incident-form');
    f.state.value = incident.state;
    f.owner.value = incident.owner ?? '';
    f.note.value = '';
  }
  $('#incident-notes').replaceChildren(...incident.notes.map((n) => el('li', {}, `${time(n.at)} ${n.by}: ${n.text}`)));
  $('#incident-timeline tbody').replaceChildren(...timeline.reverse().map(eventRow));
}

$('#incident-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const f = new FormData(ev.target);
  const body = {};
  for (const k of ['state', 'owner', 'note']) if (f.get(k)) body[k] = f.get(k);
  try {
    await post(`/v1/incidents/${encodeURIComponent(openIncident)}`, body);
    $('#incident-message').textContent = 'saved';
    ev.target.note.value = '';
    await loadIncidents();
  } catch (err) {
    $('#incident-message').textContent = `not saved: ${err.message}`;
  }
});
$('#incident-export').addEventListener('click', () =>
  download(`/v1/incidents/${encodeURIComponent(openIncident)}/markdown`, `${openIncident}.md`),
);

// ---- audit ----
let selectedSeq;
function eventRow(e) {
  return el(
    'tr',
    {
      'data-seq': e.seq,
      tabindex: 0,
      onclick: () => showEvent(e),
      onkeydown: (k) => k.key === 'Enter' && showEvent(e),
    },
    el('td', {}, e.seq),
    el('td', {}, time(e.ts)),
    el('td', {}, e.type),
    el('td', {}, e.agent ?? e.actor ?? ''),
    el('td', {}, e.action?.tool ?? ''),
    el('td', { class: e.decision ? `effect-${e.decision}` : '' }, e.decision ?? ''),
    el('td', {}, codes(e.reasons)),
  );
}

function auditQuery() {
  const f = new FormData($('#filter'));
  const q = new URLSearchParams();
  for (const k of ['agent', 'session', 'tool', 'reason', 'type', 'since', 'until', 'limit'])
    if (f.get(k)) q.set(k, f.get(k));
  return q;
}

/** Whether a live event would match the search form (the server applies the same filters). */
function matchesFilter(e) {
  const q = auditQuery();
  const prefix = (v, p) => v === p || (v ?? '').startsWith(`${p}.`);
  if (q.has('agent') && e.agent !== q.get('agent')) return false;
  if (q.has('session') && e.session !== q.get('session')) return false;
  if (q.has('tool') && e.action?.tool !== q.get('tool')) return false;
  if (q.has('type') && !prefix(e.type, q.get('type'))) return false;
  if (q.has('reason') && !(e.reasons ?? []).some((r) => prefix(r.code, q.get('reason')))) return false;
  return !q.has('until');
}

async function loadEvents() {
  const { events } = await api(`/v1/audit/events?${auditQuery()}`);
  $('#events tbody').replaceChildren(...events.reverse().map(eventRow));
  const v = await api('/v1/audit/verify');
  const b = $('#integrity');
  b.textContent = v.ok ? `chain verified (${v.events} events)` : `chain ${v.status} at seq ${v.firstBadSeq}`;
  b.className = `badge ${v.ok ? 'ok' : 'bad'}`;
}

function showEvent(e) {
  selectedSeq = e.seq;
  $('#event-box').hidden = false;
  $('#event-seq').textContent = String(e.seq);
  $('#event-detail').textContent = JSON.stringify(e, null, 2);
}
$('#event-proof').addEventListener('click', () =>
  download(`/v1/audit/proof/${selectedSeq}`, `gatehouse-proof-${selectedSeq}.json`),
);
$('#filter').addEventListener('submit', (ev) => {
  ev.preventDefault();
  load('audit');
});

// ---- compliance and digest ----
async function loadCompliance() {
  const fw = new FormData($('#compliance-form')).get('framework');
  const r = await api(`/v1/console/compliance?framework=${encodeURIComponent(fw)}`);
  $('#compliance-summary').textContent =
    `${r.name}: ${r.summary.controlsWithEvidence} of ${r.summary.controls} controls have evidence; log integrity ${r.integrity.ok ? 'verified' : r.integrity.status}.`;
  $('#compliance tbody').replaceChildren(
    ...r.controls.map((c) =>
      el(
        'tr',
        {},
        el('td', {}, c.id),
        el('td', {}, c.title),
        el(
          'td',
          { class: c.status === 'evidence' ? 'ok' : 'bad' },
          c.status === 'evidence' ? 'evidence' : 'no evidence',
        ),
        el('td', {}, c.evidence.map((x) => `${x.title}: ${x.events}`).join('; ')),
      ),
    ),
  );
}
$('#compliance-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  load('compliance');
});

async function loadDigest() {
  const since = new FormData($('#digest-form')).get('since');
  const res = await api(`/v1/console/digest?since=${encodeURIComponent(since)}&format=md`, { raw: true });
  $('#digest').textContent = await res.text();
}
$('#digest-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  load('digest');
});

// ---- live updates: one SSE stream over fetch (so the token goes in a header, never in a URL) ----
function onEvent(kind, e) {
  lastSeq = Math.max(lastSeq, e.seq);
  $('#status').textContent = `audit seq ${e.seq}`;
  if (view === 'audit' && matchesFilter(e)) $('#events tbody').prepend(eventRow(e));
  if (kind === 'approval' || e.data?.approvalRequest) pending.add('approvals');
  if (kind === 'alert' || kind === 'agent' || e.type.startsWith('incident.')) pending.add('incidents');
  if (kind === 'agent' || kind === 'decision') pending.add('agents');
  pending.add('overview');
  // Coalesce bursts: at most one reload of each affected view per 250 ms.
  if (flushTimer) return;
  flushTimer = setTimeout(() => {
    flushTimer = undefined;
    const due = [...pending];
    pending.clear();
    for (const v of due) if (v === view || v === 'approvals' || v === 'incidents') load(v);
  }, 250);
}

async function connect(backoff = 500) {
  stream?.abort();
  const ctl = new AbortController();
  stream = ctl;
  try {
    const res = await fetch('/v1/events/stream', {
      headers: { authorization: `Bearer ${token()}`, ...(lastSeq ? { 'last-event-id': String(lastSeq) } : {}) },
      signal: ctl.signal,
    });
    if (res.status === 401) return signOut('Your token was not accepted.');
    if (!res.ok) throw new Error(`${res.status}`);
    $('#live').textContent = 'live';
    $('#live').className = 'badge ok';
    backoff = 500;
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buf = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += value;
      for (let i = buf.indexOf('\n\n'); i !== -1; i = buf.indexOf('\n\n')) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        let kind = 'message';
        let data = '';
        for (const line of block.split('\n')) {
          if (line.startsWith('event: ')) kind = line.slice(7);
          else if (line.startsWith('data: ')) data += line.slice(6);
        }
        if (data) onEvent(kind, JSON.parse(data));
      }
    }
  } catch {
    if (ctl.signal.aborted) return;
  }
  if (stream !== ctl || !token()) return;
  $('#live').textContent = 'reconnecting';
  $('#live').className = 'badge bad';
  setTimeout(() => connect(Math.min(backoff * 2, 10_000)), backoff);
}

async function start() {
  if (!token()) return showLogin();
  $('#login').hidden = true;
  for (const id of ['#main', '#nav', '#signout']) $(id).hidden = false;
  try {
    await api('/v1/console/overview');
  } catch {
    return;
  }
  refreshStatus().catch(() => {});
  void connect();
  void load('approvals');
  void load('incidents');
  await show(location.hash.slice(1) || 'overview');
}

$('#login-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  sessionStorage.setItem(TOKEN_KEY, new FormData(ev.target).get('token'));
  ev.target.reset();
  await start();
});
for (const b of document.querySelectorAll('#nav button')) b.addEventListener('click', () => show(b.dataset.view));
$('#signout').addEventListener('click', () => signOut(''));
void start();

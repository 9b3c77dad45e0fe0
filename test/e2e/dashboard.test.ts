import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryLog } from '../../src/audit/query.js';
import type { ConfigInput } from '../../src/config/schema.js';
import { Gatehouse } from '../../src/gatehouse.js';
import { buildServer } from '../../src/server/app.js';
import { OperatorDirectory } from '../../src/server/operators.js';
import { launchChromium } from '../helpers/browser.js';
import { tempDir } from '../helpers/tmp.js';

const CONFIG: ConfigInput = {
  version: 1,
  identity: { agents: { alpha: { roles: ['worker'] }, beta: { roles: ['worker'] } } },
  roles: { worker: { grants: [{ tools: ['fs.read', 'web.fetch', 'email.send'] }] } },
  tools: {
    'fs.read': { risk: 'low' },
    'web.fetch': { risk: 'medium' },
    'email.send': { risk: 'high', sink: 'external' },
  },
};
const OTHER = fileURLToPath(new URL('../server/fixtures/other-process.ts', import.meta.url));
const SHOTS = process.env.GATEHOUSE_SCREENSHOTS ?? join(process.cwd(), 'test-output', 'screenshots');
const XSS = '<img src=x onerror="window.__pwned=1">';

let gh: Gatehouse;
let app: FastifyInstance;
let base: string;
let browser: Browser;
let token: string;
let dir: string;
let cleanup: () => void;

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  ({ dir, cleanup } = tempDir());
  gh = await Gatehouse.open({ config: CONFIG, data: dir });
  app = await buildServer(gh);
  base = await app.listen({ host: '127.0.0.1', port: 0 });
  token = (await (await OperatorDirectory.open(gh.store, () => Date.now())).add('dash')).token;
  await gh.decide({ kind: 'tool_call', agent: 'alpha', tool: 'fs.read', args: { path: 'a' } });
  await gh.decide({ kind: 'tool_call', agent: 'beta', tool: 'no.such.tool' });
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await app?.close();
  await gh?.close();
  cleanup();
});

function runOther(actions: unknown[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn(
      process.execPath,
      ['--import', 'tsx', OTHER, dir, JSON.stringify(CONFIG), JSON.stringify(actions)],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let err = '';
    p.stderr.on('data', (d) => (err += d));
    p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`other process exited ${code}: ${err}`))));
  });
}

async function signedIn(width = 1280): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport: { width, height: 900 } });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('dialog', (d) => {
    errors.push(`unexpected dialog: ${d.message()}`);
    void d.dismiss();
  });
  await page.goto(`${base}/dashboard`);
  await page.fill('#token', token);
  await page.click('#login-form button[type=submit]');
  await page.waitForSelector('#live.ok');
  return { page, errors };
}

async function shot(page: Page, name: string, expectText: string): Promise<void> {
  await page.getByText(expectText).filter({ visible: true }).first().waitFor();
  const file = join(SHOTS, `dashboard-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  const png = readFileSync(file);
  expect(png.subarray(1, 4).toString()).toBe('PNG');
  expect(statSync(file).size).toBeGreaterThan(5000);
}

const view = (page: Page, name: string) => page.click(`#nav button[data-view=${name}]`);

describe('security console in real Chromium', () => {
  it('serves the page with a strict CSP and refuses data without an operator token', async () => {
    const r = await fetch(`${base}/dashboard`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(r.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect((await fetch(`${base}/v1/audit/events`)).status).toBe(401);
    expect((await fetch(`${base}/v1/console/overview`)).status).toBe(401);
  });

  it('signs in; the overview shows chain integrity, agents by status and decisions by effect', async () => {
    const page = await browser.newPage();
    await page.goto(`${base}/dashboard`);
    await page.fill('#token', 'ghop_wrong');
    await page.click('#login-form button[type=submit]');
    await page.waitForSelector('#login-error:text("not accepted")');
    await page.close();
    const { page: p, errors } = await signedIn();
    await p.waitForSelector('#ov-integrity.ok');
    expect(await p.textContent('#ov-integrity')).toMatch(/verified · \d+ events/);
    expect(await p.textContent('#ov-agents')).toMatch(/active 2/);
    expect(await p.textContent('#ov-reasons')).toContain('catalogue.tool_unknown');
    await shot(p, 'overview', 'Decisions per minute');
    await p.setViewportSize({ width: 390, height: 844 });
    await shot(p, 'overview-narrow', 'Chain integrity');
    expect(errors).toEqual([]);
    await p.close();
  }, 60_000);

  it('audit: a decision made by ANOTHER process appears within a second; search, detail and proof', async () => {
    const { page, errors } = await signedIn();
    await view(page, 'audit');
    await page.waitForSelector('#events tbody tr');
    await runOther([{ kind: 'tool_call', agent: 'beta', tool: 'other.process.tool' }]);
    // The decision is on disk before the other process exits; the row must follow within a second.
    await page.waitForSelector('#events tbody tr:has-text("other.process.tool")', { timeout: 1000 });
    await page.fill('#filter input[name=agent]', 'alpha');
    await page.fill('#filter input[name=type]', 'decision');
    await page.click('#filter button[type=submit]');
    await expect.poll(() => page.locator('#events tbody tr').count(), { timeout: 10_000 }).toBe(1);
    await page.fill('#filter input[name=agent]', '');
    await page.fill('#filter input[name=type]', '');
    await page.fill('#filter input[name=reason]', 'catalogue');
    await page.click('#filter button[type=submit]');
    await expect
      .poll(
        async () => {
          const rows = await page.locator('#events tbody tr').allTextContents();
          return rows.length >= 2 && rows.every((t) => t.includes('catalogue.'));
        },
        { timeout: 10_000 },
      )
      .toBe(true);
    await page.locator('#events tbody tr', { hasText: 'no.such.tool' }).click();
    const detail = JSON.parse((await page.textContent('#event-detail')) ?? '{}');
    expect(detail).toMatchObject({ agent: 'beta', decision: 'deny', type: 'decision' });
    const [dl] = await Promise.all([page.waitForEvent('download'), page.click('#event-proof')]);
    const proof = JSON.parse(readFileSync((await dl.path())!, 'utf8'));
    expect(proof).toMatchObject({ seq: detail.seq, eventHash: detail.hash });
    expect(proof.checkpoint).toContain('gatehouse');
    await shot(page, 'audit', 'chain verified');
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);

  it('approvals: a new request appears live with its full arguments; typing survives updates; approve and deny', async () => {
    const { page, errors } = await signedIn();
    await view(page, 'approvals');
    const first = await gh.decide({
      kind: 'tool_call',
      agent: 'alpha',
      session: 's1',
      tool: 'email.send',
      args: { to: 'ops@example.com', subject: 'weekly report' },
    });
    expect(first.effect).toBe('review');
    const item = page.locator(`li[data-approval="${first.approvalRequest}"]`);
    await item.waitFor();
    expect(await item.locator('pre.args').textContent()).toContain('"subject": "weekly report"');
    // A half-typed reason must survive live updates caused by other activity.
    await item.locator('input.reason').click();
    await page.keyboard.type('looks fine');
    const second = await gh.decide({
      kind: 'tool_call',
      agent: 'beta',
      session: 's2',
      tool: 'email.send',
      args: { to: 'x@example.com' },
    });
    await page.locator(`li[data-approval="${second.approvalRequest}"]`).waitFor();
    // That item arrived through a live reload of the list while the operator was typing in the first one.
    expect(await item.locator('input.reason').inputValue()).toBe('looks fine');
    expect(await item.locator('input.reason').evaluate((e) => e === e.ownerDocument.activeElement)).toBe(true);
    await shot(page, 'approvals', 'Pending approvals');
    // Keyboard: Tab from the reason to Approve, Enter.
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await item.waitFor({ state: 'detached' });
    const other = page.locator(`li[data-approval="${second.approvalRequest}"]`);
    await other.locator('input.reason').fill('not expected');
    await other.locator('button.deny').click();
    await other.waitFor({ state: 'detached' });
    expect(await gh.approvals.get(first.approvalRequest!)).toMatchObject({
      status: 'approved',
      decisionReason: 'looks fine',
    });
    expect(await gh.approvals.get(second.approvalRequest!)).toMatchObject({
      status: 'denied',
      approver: 'operator:dash',
    });
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);

  it('agents: quarantine and restore from the page, with a reason, audited; the quarantine opens an incident', async () => {
    const { page, errors } = await signedIn();
    await view(page, 'agents');
    const row = page.locator('#agents tr[data-agent="alpha"]');
    await row.locator('button[data-action=quarantine]').click();
    await page.waitForSelector('#confirm[open]');
    // Cancel does nothing.
    await page.click('#confirm-cancel');
    expect(await gh.responder.quarantined('alpha')).toBeUndefined();
    await row.locator('button[data-action=quarantine]').click();
    await page.fill('#confirm-reason', 'suspicious exfiltration attempt');
    await page.click('#confirm-ok');
    await row.locator('.st-quarantined').waitFor();
    expect(await gh.responder.quarantined('alpha')).toMatchObject({ by: 'operator:dash' });
    await shot(page, 'agents', 'quarantined');
    await row.locator('button[data-action=restore]').click();
    await page.fill('#confirm-reason', 'false positive');
    await page.click('#confirm-ok');
    await row.locator('.st-active').waitFor();
    expect(await gh.responder.quarantined('alpha')).toBeUndefined();
    await gh.audit.flush();
    const types = queryLog(join(dir, 'audit'), { agent: 'alpha' }).map((e) => `${e.type}:${e.actor}`);
    expect(types).toEqual(
      expect.arrayContaining([
        'response.quarantined:operator:dash',
        'response.restored:operator:dash',
        'operator.note:operator:dash',
      ]),
    );

    await view(page, 'incidents');
    const inc = page.locator('#incidents tbody tr', { hasText: 'alpha' });
    await inc.locator('button').click();
    await page.waitForSelector('#incident:not([hidden])');
    await page.selectOption('#incident-form select[name=state]', 'contained');
    await page.fill('#incident-form input[name=owner]', 'dash');
    await page.fill('#incident-form input[name=note]', 'restored after review');
    await page.click('#incident-form button[type=submit]');
    await page.waitForSelector('#incident-notes li:has-text("restored after review")');
    await page.waitForSelector('#incidents tbody tr:has-text("contained")');
    const [dl] = await Promise.all([page.waitForEvent('download'), page.click('#incident-export')]);
    const md = readFileSync((await dl.path())!, 'utf8');
    expect(md).toMatch(/^# Incident inc-/);
    expect(md).toContain('| response.quarantined |');
    await shot(page, 'incidents', 'Timeline');
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);

  it('renders hostile agent names, tool names, arguments and reasons as text (no script runs)', async () => {
    const { page, errors } = await signedIn();
    await view(page, 'approvals');
    // Agent ids are restricted to a safe alphabet at the edge; over HTTP a hostile one is a 400.
    const bad = await fetch(`${base}/v1/decide`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer a.b.c' },
      body: JSON.stringify({ kind: 'tool_call', agent: XSS, tool: 'fs.read' }),
    });
    expect(bad.status).toBe(400);
    const d = await gh.decide({
      kind: 'tool_call',
      agent: 'beta',
      session: 'x',
      tool: 'email.send',
      args: { to: XSS, body: '</pre><script>window.__pwned=2</script>' },
    });
    await gh.decide({ kind: 'tool_call', agent: 'beta', tool: `${XSS}.tool` });
    await page.locator('li.approval', { hasText: 'onerror' }).first().waitFor();
    if (d.approvalRequest) await gh.approvals.deny(d.approvalRequest, 'operator:dash', XSS);
    await view(page, 'audit');
    await page.waitForSelector(`#events tbody tr:has-text(".tool")`);
    await page.locator('#events tbody tr', { hasText: '.tool' }).first().click();
    await view(page, 'overview');
    await view(page, 'digest');
    await page.waitForSelector('#digest:has-text("security digest")');
    await view(page, 'audit');
    await page.waitForSelector('#events tbody tr');
    // A string, evaluated in the page: the test compiles without DOM typings.
    const r = (await page.evaluate(`({
      pwned: window.__pwned,
      imgs: document.querySelectorAll('img').length,
      scripts: [...document.querySelectorAll('script')].map((s) => s.getAttribute('src')),
      text: document.body.textContent ?? '',
    })`)) as { pwned?: number; imgs: number; scripts: string[]; text: string };
    expect(r.pwned).toBeUndefined();
    expect(r.imgs).toBe(0);
    expect(r.scripts).toEqual(['/dashboard/app.js']);
    expect(r.text).toContain('<img src=x onerror=');
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);

  it('compliance and weekly digest views', async () => {
    const { page, errors } = await signedIn();
    await view(page, 'compliance');
    await page.waitForSelector('#compliance tbody tr');
    expect(await page.textContent('#compliance-summary')).toMatch(/controls have evidence/);
    await shot(page, 'compliance', 'Compliance evidence');
    await view(page, 'digest');
    await page.waitForSelector('#digest:has-text("Decisions:")');
    expect(await page.textContent('#digest')).toMatch(/\d+ allowed, \d+ denied, \d+ sent for review/);
    await shot(page, 'digest', 'Weekly digest');
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);
});

import type { FastifyInstance } from 'fastify';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Gatehouse } from '../../src/gatehouse.js';
import { buildServer } from '../../src/server/app.js';
import { OperatorDirectory } from '../../src/server/operators.js';
import { launchChromium } from '../helpers/browser.js';
import { tempDir } from '../helpers/tmp.js';

let gh: Gatehouse;
let app: FastifyInstance;
let base: string;
let browser: Browser;
let token: string;
let cleanup: () => void;

beforeAll(async () => {
  const t = tempDir();
  cleanup = t.cleanup;
  gh = await Gatehouse.open({
    config: {
      version: 1,
      identity: { agents: { alpha: { roles: ['worker'] }, beta: { roles: ['worker'] } } },
      roles: { worker: { grants: [{ tools: ['fs.read', 'web.fetch'] }] } },
      tools: { 'fs.read': { risk: 'low' }, 'web.fetch': { risk: 'medium' } },
    },
    data: t.dir,
  });
  app = await buildServer(gh);
  base = await app.listen({ host: '127.0.0.1', port: 0 });
  token = new OperatorDirectory(gh.store, () => Date.now()).add('dash').token;
  await gh.decide({ kind: 'tool_call', agent: 'alpha', tool: 'fs.read', args: { path: 'a' } });
  await gh.decide({ kind: 'tool_call', agent: 'beta', tool: 'no.such.tool' });
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await app.close();
  await gh.close();
  cleanup();
});

describe('dashboard in real Chromium', () => {
  it('serves the page with a strict CSP and refuses data without an operator token', async () => {
    const r = await fetch(`${base}/dashboard`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect((await fetch(`${base}/v1/audit/events`)).status).toBe(401);
  });

  it('signs in with an operator token and shows the audit log with decisions and chain integrity', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${base}/dashboard`);
    await page.fill('#token', 'ghop_wrong');
    await page.click('#login-form button[type=submit]');
    await page.waitForSelector('#login-error:text("not accepted")');
    await page.fill('#token', token);
    await page.click('#login-form button[type=submit]');
    await page.waitForSelector('#events tbody tr');
    await page.waitForSelector('#integrity.ok');
    expect(await page.textContent('#integrity')).toMatch(/chain verified/);
    const denyCell = page.locator('#events tbody tr', { hasText: 'no.such.tool' }).locator('td.effect-deny');
    expect(await denyCell.textContent()).toBe('deny');
    await page.locator('#events tbody tr', { hasText: 'no.such.tool' }).click();
    const detail = JSON.parse((await page.textContent('#event-detail')) ?? '{}');
    expect(detail).toMatchObject({ agent: 'beta', decision: 'deny', type: 'decision' });
    await page.fill('#filter input[name=agent]', 'alpha');
    await page.fill('#filter input[name=type]', 'decision');
    await page.click('#filter button[type=submit]');
    await expect.poll(() => page.locator('#events tbody tr').count(), { timeout: 10_000 }).toBe(1);
    expect(await page.textContent('#events tbody')).toContain('alpha');
    await page.screenshot({
      path: `${process.env.GATEHOUSE_SCREENSHOTS ?? '/tmp'}/gatehouse-dashboard.png`,
      fullPage: true,
    });
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);
});

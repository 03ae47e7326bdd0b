// Security headers on the app's pages and files (and no CSP violation in
// the console); the portal over TLS with a throw-away CA, signed in over wss.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as h from './harness.mjs';

let salon, srv;
before(async () => {
  ({ salon, srv } = await h.salonUp());
  await h.givePassword(salon, srv);
});
after(async () => { await srv?.stop(); salon?.cleanup(); });

function checkHeaders(url, headers) {
  const csp = headers['content-security-policy'] || '';
  assert.match(csp, /default-src 'none'/, `${url}: CSP ${csp}`);
  assert.match(csp, /script-src 'self'/, url);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/, url);
  assert.equal(headers['x-content-type-options'], 'nosniff', url);
  assert.equal(headers['referrer-policy'], 'no-referrer', url);
}

test('security headers on every page and file; no CSP violation while the app runs', async () => {
  await h.withBrowser({}, async (b) => {
    const { page } = b;
    const seen = [];
    page.on('response', (r) => { if (r.url().startsWith(srv.origin) && r.request().resourceType() !== 'websocket') seen.push(r); });
    const first = await page.goto(`${srv.origin}/`);
    checkHeaders('/', first.headers());
    await h.state(page, 'signed-out');
    await h.signIn(page, srv.origin);
    for (const nav of ['nav-privacy', 'nav-account', 'nav-home']) {
      await page.locator(`a[data-testid=${nav}]`).click();
    }
    await h.state(page, 'synced');
    assert.ok(seen.length >= 3, 'files were fetched');
    for (const r of seen) if (r.status() === 200) checkHeaders(r.url(), await r.allHeaders());
    for (const path of ['/setup', '/privacy', '/app.js', '/sw.js']) {
      const r = await fetch(`${srv.origin}${path}`);
      assert.equal(r.status, 200, path);
      checkHeaders(path, Object.fromEntries(r.headers));
    }
  });
});

test('the CSP is enforced, and a violation would be caught: an injected inline script is blocked', async () => {
  const b = await h.browser();
  try {
    await b.page.goto(`${srv.origin}/`);
    await h.state(b.page, 'signed-out');
    await b.page.evaluate(() => {
      const s = document.createElement('script');
      s.textContent = 'window.ktInline = true';
      document.body.append(s);
    });
    assert.equal(await b.page.evaluate(() => window.ktInline), undefined, 'the inline script did not run');
    await h.until(() => b.cspViolations().length > 0, 'the violation in the console', 5000);
  } finally {
    await b.close();
  }
});

/** A throw-away CA and a certificate for 127.0.0.1 signed by it (openssl). */
function makeCerts(dir) {
  const ssl = (...a) => execFileSync('openssl', a, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  ssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2',
    '-subj', '/CN=Kartoteka test CA', '-keyout', 'ca.key', '-out', 'ca.pem');
  ssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=127.0.0.1',
    '-keyout', 'server.key', '-out', 'server.csr');
  writeFileSync(join(dir, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  ssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2',
    '-extfile', 'ext.cnf', '-out', 'server.pem');
  // Chromium trusts this key for this run only: base64 sha256 of its SPKI
  const spki = execFileSync('sh', ['-c', 'openssl x509 -in server.pem -pubkey -noout | openssl pkey -pubin -outform der'
    + ' | openssl dgst -sha256 -binary | base64'], { cwd: dir, encoding: 'utf8' }).trim();
  return { cert: join(dir, 'server.pem'), key: join(dir, 'server.key'), ca: join(dir, 'ca.pem'), spki };
}

test('over TLS with a test CA: a secure context, signed in over wss', { skip: !h.serveHas('--tls-cert') && 'this server has no serve --tls-cert' }, async () => {
  // a salon of its own: one server per database
  const own = new h.Salon().populate();
  const certs = makeCerts(own.tmp);
  const tls = await h.Server.start(own, { extra: ['--tls-cert', certs.cert, '--tls-key', certs.key] });
  tls.ca = certs.ca;
  try {
    own.addVisit(tls, certs.ca);
    await h.givePassword(own, tls);
    await h.withBrowser({ args: [`--ignore-certificate-errors-spki-list=${certs.spki}`] }, async (b) => {
      const { page } = b;
      const sockets = [];
      page.on('websocket', (ws) => sockets.push(ws.url()));
      const r = await page.goto(`${tls.origin}/`);
      assert.match(r.headers()['strict-transport-security'] || '', /max-age=\d+/);
      assert.equal(await page.evaluate(() => window.isSecureContext), true);
      await h.signIn(page, tls.origin);
      assert.ok(sockets.length > 0 && sockets.every((u) => u.startsWith('wss://127.0.0.1:')), sockets.join(' '));
      await h.assertOwnData(assert, page, own);
      await h.shot(page, 'home-tls');
    });
    // without the test CA's key trusted, Chromium refuses the certificate
    await h.withBrowser({}, async ({ page }) => {
      await assert.rejects(page.goto(`${tls.origin}/`), /ERR_CERT_AUTHORITY_INVALID|ERR_CERT/);
    });
  } finally {
    await tls.stop();
    own.cleanup();
  }
});

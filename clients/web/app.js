// Boot and routing. Signed in: render the local copy from IndexedDB at once, then
// connect, resume with the stored token and sync from the stored cursor.
import { render } from './vendor/preact/preact.mjs';
import { html } from './views/ui.js';
import { t, getLang, setLang, LANGS } from './i18n.js';
import { Proto, uuidv7 } from './proto.js';
import { Queue } from './queue.js';
import * as store from './store.js';
import { index, organisation, patch, rowsOf } from './model.js';
import { SignIn } from './views/signin.js';
import { Setup, ConfirmEmail } from './views/setup.js';
import { Home } from './views/home.js';
import { Privacy } from './views/privacy.js';
import { Account } from './views/account.js';
import { DeskHeader, DeskPage } from './views/desk/shell.js';
import { DeskSignIn } from './views/desk/session.js';
import { LinkPage } from './views/link.js';
import { tokenOf } from './views/feedback_model.js';

const PRIVATE = ['/', '/privacy', '/account'];
const isDesk = (r) => r === '/desk' || r.startsWith('/desk/');
// /l/TOKEN, a message's one-purpose link (views/link.js): no session, no local copy
const isLink = (r) => r.startsWith('/l/');

// Read a link's token once, then take it out of the address bar (and so out of
// history, bookmarks and screenshots). `?token=` is what older mails carried.
function takeToken() {
  const frag = new URLSearchParams(location.hash.slice(1));
  const query = new URLSearchParams(location.search);
  const tok = frag.get('token') || query.get('token') || query.get('confirm_email');
  if (tok || location.hash || location.search) history.replaceState(null, '', location.pathname);
  return tok;
}

const app = {
  route: location.pathname.replace(/\/+$/, '') || '/',
  token: null, // link token of /setup or /confirm-email
  session: false, // a token is stored: we are signed in on this device
  rows: [], by: {}, org: {}, principal: null, email: '', syncedAt: 0,
  state: 'loading',
  note: null, // why we are on the sign-in page
  kept: null, // {id, name, email, n}: the copy and queue an expired desk session left (views/desk/session.js)
  live: '', // text for the status live region
  online: false,
};

function setState(s) {
  app.state = s;
  document.documentElement.dataset.state = s;
}

const proto = new Proto({
  signedIn(principal) {
    app.session = true;
    app.online = true;
    q.connected();
    app.principal = principal;
    if (app.state !== 'synced') setState('loading');
  },
  status(s) {
    if (!app.session) return;
    if (s === 'offline') {
      app.online = false;
      q.disconnected();
      setState('offline');
      app.live = t('offline');
    } else if (s === 'synced') {
      setState('synced');
      app.live = '';
    }
    draw();
  },
  async data(d) {
    if (!useLocal(d)) await loadLocal();
    draw();
  },
  signedOut(reason, how = {}) {
    q.reset(); // its database went with the rest (store.wipe), or waits for the next sign-in
    app.session = false;
    app.rows = [];
    app.by = {};
    app.principal = null;
    app.org = {};
    app.online = false;
    app.note = reason; // a text key: the sign-in page says it in the language chosen then
    app.kept = null;
    setState('signed-out');
    go(isDesk(app.route) ? '/desk/signin' : '/signin', true);
    if (how.kept) keptCopy().then((k) => { if (!app.session) { app.kept = k; draw(); } });
  },
  wiped() { // another person signed in: the kept copy and queue went before their rows came
    q.reset();
    app.kept = null;
  },
});

// What an expired desk session left on this device: whose it is and how many edits
// wait (queued, refused, set aside); null when nothing was kept.
async function keptCopy() {
  try {
    const [principal, email, entries] = await Promise.all([store.getMeta('principal'), store.getMeta('email'), store.queueEntries()]);
    if (!principal || principal.kind !== 'staff') return null;
    return { id: principal.id, name: principal.name || '', email: email || '', n: entries.length };
  } catch (e) {
    console.warn('local copy unreadable', e);
    return null;
  }
}
proto.kind = isDesk(app.route) ? 'staff' : 'client';

// The staff's edits wait here (IndexedDB, one transaction with the row) and are pushed
// over the same connection; the portal pushes only consents, online, through proto.
const q = new Queue({
  transport: {
    get connected() { return app.session && proto.signedIn && !!proto.ws; },
    push: (muts) => proto.push(muts),
  },
});
// The queue writes rows too (an edit, a rollback, a dropped edit): when what it holds
// changes, the screens read the local copy again; a change of `pushing` alone only redraws.
let queueSeen = '';
let reloading = null;
function reloadLocal() {
  reloading ||= loadLocal().finally(() => { reloading = null; draw(); });
  return reloading;
}
q.subscribe((s) => {
  if (!app.session || !isDesk(app.route)) return;
  const seen = [s.queued, s.lastSync, ...s.rejected.map((e) => e.mid), '|', ...s.aside.map((e) => e.mid)].join(',');
  if (seen !== queueSeen) { queueSeen = seen; reloadLocal(); } else draw();
});
window.kt = { app, proto, q }; // for the browser tests and the developer's console

// Reads one after the other, so the last asked is the last to land (the queue and the
// connection both ask, and a read begun before a write must not overwrite one after it).
let loadChain = Promise.resolve();
let reading = 0; // reads of the local copy asked for and not landed yet
let epoch = 0; // bumped when a snapshot's whole copy is taken: a read begun before is dropped

function loadLocal() {
  reading++;
  loadChain = loadChain.catch(() => {}).then(readLocal).finally(() => { reading--; });
  return loadChain;
}

async function readLocal() {
  const mine = epoch;
  const [rows, principal, syncedAt, email] = await Promise.all([
    store.allRows(), store.getMeta('principal'), store.getMeta('synced_at'), store.getMeta('email')]);
  if (mine !== epoch) return;
  app.rows = rows;
  app.by = index(rows);
  app.org = organisation(app.by);
  app.principal = principal || app.principal;
  app.syncedAt = syncedAt || 0;
  app.email = email || app.email;
}

// What proto just wrote (see Proto's hooks), without reading every row back: a snapshot's
// whole copy, or the rows of one `changes` message patched into the index. False when the
// copy must be read (no d, or a read is under way and would drop the patch).
function useLocal(d) {
  if (!d || (d.changed && reading)) return false;
  if (d.rows || d.changed) {
    if (d.rows) epoch++;
    app.by = d.rows ? index(d.rows) : patch(app.by, d.changed);
    app.rows = d.rows || rowsOf(app.by);
    app.org = organisation(app.by);
  }
  if (d.syncedAt) app.syncedAt = d.syncedAt;
  return true;
}

app.signedIn = async (email) => {
  app.session = true;
  app.email = email;
  app.note = null;
  app.kept = null;
  await loadLocal();
  go(isDesk(app.route) ? '/desk' : '/', false);
};

app.signOut = async () => {
  await proto.logout();
};

// path may carry a query (/desk/client?id=...): the route is its path part.
function go(path, replace) {
  if (path !== location.pathname + location.search) history[replace ? 'replaceState' : 'pushState'](null, '', path);
  const route = path.split('?')[0];
  const moved = app.route !== route || path.includes('?');
  app.route = route;
  draw();
  // a new page: screen readers and keyboards start at its content
  if (moved) {
    window.scrollTo(0, 0);
    document.getElementById('main')?.focus({ preventScroll: true });
  }
}

window.addEventListener('popstate', () => {
  app.route = location.pathname.replace(/\/+$/, '') || '/';
  draw();
});

function NavLink({ path, id, label }) {
  return html`<a href=${path} data-testid=${id} aria-current=${app.route === path ? 'page' : undefined}
    onClick=${(e) => { if (!e.ctrlKey && !e.metaKey) { e.preventDefault(); go(path); } }}>${label}</a>`;
}

function LangSwitch() {
  return html`<div class="lang">
    <label for="lang">${getLang() === 'en' ? 'Language' : `${t('language')} (Language)`}</label>
    <select id="lang" onChange=${(e) => { setLang(e.currentTarget.value); draw(); }}>
      ${Object.entries(LANGS).map(([k, name]) => html`<option value=${k} selected=${k === getLang()} lang=${k}>${name}</option>`)}
    </select>
  </div>`;
}

function Header() {
  return html`<header class="top">
    <div class="bar">
      <a class="brand" href="/" onClick=${(e) => { if (isLink(app.route)) return; e.preventDefault(); go(app.session ? '/' : '/signin'); }}>
        <img src="/icon.svg" alt="" width="28" height="28" /><span>${app.org.name || 'Kartoteka'}</span></a>
    </div>
    ${app.session && html`<nav aria-label="Main">
      <${NavLink} path="/" id="nav-home" label=${t('nav_home')} />
      <${NavLink} path="/privacy" id="nav-privacy" label=${t('nav_privacy')} />
      <${NavLink} path="/account" id="nav-account" label=${t('nav_account')} />
      <button type="button" class="link" data-testid="signout" onClick=${() => app.signOut()}>${t('signout')}</button>
    </nav>`}
    ${app.state === 'offline' && html`<p class="badge" data-testid="offline">${t('offline')}</p>`}
  </header>`;
}

// The desk's one object for its pages (README "The desk").
const desk = {
  app, proto, q, newId: uuidv7,
  get route() { return app.route; },
  get params() { return new URLSearchParams(location.search); },
  get by() { return app.by; },
  get rows() { return app.rows; },
  get org() { return app.org; },
  get principal() { return app.principal; },
  get role() { return app.principal?.role || ''; },
  get me() { return app.by.staff?.get(app.principal?.id)?.f || null; },
  get online() { return app.online && navigator.onLine; },
  get syncedAt() { return Math.max(app.syncedAt || 0, q.state.lastSync || 0); },
  go, draw: () => draw(),
  // Branches this person sees (closed ones left out), by name.
  locations() {
    return [...(app.by.location?.values() || [])].filter((l) => !l.f.closed_at)
      .sort((a, b) => String(a.f.name).localeCompare(String(b.f.name)));
  },
  // The branch the screens show: the one picked on this device while it is still one of
  // ours, else the first; null is "all branches", which only owners can pick.
  get location() {
    const locs = this.locations();
    const saved = localStorage.getItem('kt.desk.location');
    if (saved === 'all' && this.role === 'owner') return null;
    if (saved && locs.some((l) => l.id === saved)) return saved;
    return locs[0]?.id || null;
  },
  setLocation(id) {
    localStorage.setItem('kt.desk.location', id || 'all');
    draw();
  },
  // resolves once the screens' copy (desk.by) has the edit
  async edit(tbl, id, op, fields, extra) {
    const e = await q.edit(tbl, id, op, fields, extra);
    await loadLocal();
    draw();
    return e;
  },
  // Edits the server has not taken yet (queued, set aside, refused and not answered):
  // a sign-out deletes them with the rest of the local copy.
  get unsent() { return q.state.queued + q.state.aside.length + q.state.rejected.length; },
  signOut: () => app.signOut(),
};
window.kt.desk = desk;

function Page() {
  const r = app.route;
  if (isLink(r)) return html`<${LinkPage} proto=${proto} token=${tokenOf(r)} onInfo=${linkInfo} />`;
  if (isDesk(r)) {
    if (!app.session || r === '/desk/signin') return html`<${DeskSignIn} proto=${proto} app=${app} note=${app.note && t(app.note)} kept=${app.kept} />`;
    return html`<${DeskPage} desk=${desk} />`;
  }
  if (r === '/setup') return html`<${Setup} proto=${proto} app=${app} token=${app.token} />`;
  if (r === '/confirm-email') return html`<${ConfirmEmail} proto=${proto} app=${app} token=${app.token} />`;
  if (!app.session || r === '/signin') return html`<${SignIn} proto=${proto} app=${app} note=${app.note && t(app.note)} />`;
  if (r === '/privacy') return html`<${Privacy} app=${app} proto=${proto} />`;
  if (r === '/account') return html`<${Account} app=${app} proto=${proto} />`;
  return html`<${Home} app=${app} proto=${proto} />`;
}

// The link page says whose salon it is and the client's language (unless one was
// chosen on this device; not kept: this is not the portal's sign-in).
function linkInfo({ salon, lang }) {
  app.org = { name: salon || '' };
  if (lang && !localStorage.getItem('kt.lang') && LANGS[lang]) setLang(lang, false);
  draw();
}

function App() {
  return html`<div class=${isDesk(app.route) ? 'shell desk' : 'shell'}>
    <a class="skip" href="#main">${t('skip')}</a>
    ${isDesk(app.route) && app.session ? html`<${DeskHeader} desk=${desk} org=${app.org} onSignOut=${() => app.signOut()} />` : html`<${Header} />`}
    <main id="main" tabindex="-1"><${Page} /></main>
    <div class="sr-only" role="status" aria-live="polite">${app.live}</div>
    <footer class="foot"><${LangSwitch} /></footer>
  </div>`;
}

const root = document.getElementById('app');
root.textContent = ''; // the boot line; render() keeps what it did not make
function draw() {
  document.documentElement.lang = getLang();
  document.title = app.org.name ? `${app.org.name} · Kartoteka` : 'Kartoteka';
  render(html`<${App} />`, root);
}

async function boot() {
  setState('loading');
  document.documentElement.lang = getLang();
  if (isLink(app.route)) { // signs nothing in: no stored session is read or resumed here
    setState('link');
    draw();
    if ('serviceWorker' in navigator) navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch(() => {});
    return;
  }
  // Mails sent before the fragment links carried `portal_url?token=` / `?confirm_email=`.
  const query = new URLSearchParams(location.search); // not `q`: that is the write queue
  if (query.has('token') && app.route !== '/confirm-email') app.route = '/setup';
  else if (query.has('confirm_email')) app.route = '/confirm-email';
  if (app.route === '/setup' || app.route === '/confirm-email') {
    app.token = takeToken();
    history.replaceState(null, '', app.route);
  }
  let token = null;
  try {
    token = await store.getMeta('token');
    if (token) await loadLocal();
  } catch (e) {
    console.error('local copy unreadable', e);
  }
  if (token) {
    app.session = true;
    proto.token = token;
    q.refresh().catch((e) => console.warn('queue unreadable', e));
    // the signed-in person's own screens: staff the desk, clients the portal
    const staff = app.principal && app.principal.kind === 'staff';
    if (staff && !isDesk(app.route)) app.route = '/desk';
    if (!staff && isDesk(app.route)) app.route = '/';
    proto.kind = staff ? 'staff' : 'client';
    history.replaceState(null, '', app.route + location.search);
    if (!navigator.onLine) setState('offline');
    if (app.route === '/signin') go('/', true);
    if (app.route === '/desk/signin') go('/desk', true);
    draw();
    proto.resume();
  } else {
    setState('signed-out');
    if (isDesk(app.route)) app.kept = await keptCopy(); // a session that expired left its edits here
    if (PRIVATE.includes(app.route)) go('/signin', true);
    else if (isDesk(app.route) && app.route !== '/desk/signin') go('/desk/signin', true);
    draw();
  }
  if ('serviceWorker' in navigator) {
    navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch((e) => console.warn('no service worker', e));
  }
}

boot();

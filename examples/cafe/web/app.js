// The café's web client: one module, no framework, no build step.
//
// How it keeps the login depends on the server's mode:
// - sessions: the browser keeps an HttpOnly cookie; this script never sees it.
// - hybrid: the access token lives in this module's memory only, and the
//   refresh token in an HttpOnly cookie that only /refresh and /logout
//   receive.
// - jwt: both tokens in localStorage, where any script on the page can read
//   them. This is the risky choice the book warns about, shown on purpose.

const mode = document.querySelector('meta[name="cafe-auth"]').content;
const STORAGE_KEY = 'cafe-tokens';

// The hybrid's access token: in memory, gone when the tab closes.
let accessInMemory = null;


// ANCHOR: storage
function accessToken() {
  if (mode === 'hybrid') return accessInMemory;
  if (mode === 'jwt') return JSON.parse(localStorage.getItem(STORAGE_KEY) ?? 'null')?.access;
  return null;
}

function keepTokens(body) {
  if (mode === 'hybrid') accessInMemory = body.access_token;
  if (mode === 'jwt') {
    localStorage.setItem(STORAGE_KEY, JSON.stringify({
      access: body.access_token,
      refresh: body.refresh_token,
    }));
  }
}

function forgetTokens() {
  accessInMemory = null;
  localStorage.removeItem(STORAGE_KEY);
}
// ANCHOR_END: storage

// ANCHOR: refresh
// One refresh at a time. Within this tab, every caller that meets a 401
// while a refresh is under way waits for that same refresh; across tabs, the
// Web Locks API lets one tab refresh while the others wait, so two tabs never
// present the same refresh token (which the server would take for theft).
// `failed` is the access token that was refused: if the token has changed
// since, someone else has refreshed already, and there is nothing to do.
let refreshing = null;

function refreshOnce(failed) {
  refreshing ??= refreshAcrossTabs(failed).finally(() => { refreshing = null; });
  return refreshing;
}

async function refreshAcrossTabs(failed) {
  // The lock is free: no other tab is refreshing, so this one does.
  const alone = await navigator.locks.request(
    'cafe-refresh', { ifAvailable: true },
    (lock) => (lock ? refreshHoldingTheLock(failed) : null),
  );
  if (alone !== null) return alone;
  // Another tab is refreshing: wait for it to finish. With tokens in
  // localStorage, its new tokens reach this tab a moment later (another
  // renderer process), so wait for them too, or its refresh token would be
  // presented a second time, which the server takes for theft.
  return navigator.locks.request('cafe-refresh', async () => {
    if (mode === 'jwt') await tokensChangedFrom(failed, 2000);
    return refreshHoldingTheLock(failed);
  });
}

// Resolves once the stored access token is no longer `failed`, or after
// `ms` milliseconds.
function tokensChangedFrom(failed, ms) {
  return new Promise((resolve) => {
    const done = () => {
      window.removeEventListener('storage', check);
      clearTimeout(timer);
      resolve();
    };
    const check = () => { if (accessToken() !== failed) done(); };
    const timer = setTimeout(done, ms);
    window.addEventListener('storage', check);
    check();
  });
}

async function refreshHoldingTheLock(failed) {
  if (accessToken() && accessToken() !== failed) return true;
  const request = mode === 'jwt'
    ? {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          refresh_token: JSON.parse(localStorage.getItem(STORAGE_KEY) ?? 'null')?.refresh,
        }),
      }
    : { method: 'POST' }; // hybrid: the cookie is the credential
  const answer = await fetch('/refresh', request);
  if (!answer.ok) {
    forgetTokens();
    return false;
  }
  keepTokens(await answer.json());
  return true;
}

// Every API call goes through here: the token attached, and on a 401 one
// refresh (shared, as above) and one retry.
async function api(path, options = {}) {
  const sentWith = accessToken();
  const send = () => {
    const headers = new Headers(options.headers);
    const token = accessToken();
    if (token) headers.set('authorization', `Bearer ${token}`);
    return fetch(path, { ...options, headers });
  };
  let answer = await send();
  if (answer.status === 401 && mode !== 'sessions' && await refreshOnce(sentWith)) {
    answer = await send();
  }
  return answer;
}
// ANCHOR_END: refresh

function show(element, visible) {
  document.getElementById(element).hidden = !visible;
}

// A line under the page: an error, or (`ok`) what just happened.
function say(text, ok = false) {
  const status = document.getElementById('status');
  status.textContent = text;
  status.classList.toggle('ok', ok);
}

// An answer's JSON body, or null if it has none.
function jsonOf(answer) {
  return answer.json().catch(() => null);
}

// Why the café refused: its own words, and when to try again after a 429.
function refusal(answer, body) {
  const reason = body?.error ?? `the café answered ${answer.status}`;
  const retryAfter = answer.headers.get('retry-after');
  return answer.status === 429 && retryAfter ? `${reason} (in ${retryAfter} s)` : reason;
}

// A moment the café sent as seconds since 1970, as a <time> showing the
// reader's local date and time.
function localTime(seconds) {
  const date = new Date(seconds * 1000);
  const time = document.createElement('time');
  time.dateTime = date.toISOString();
  time.textContent = date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
  return time;
}

async function showAccount() {
  const me = await api('/me');
  if (me.status !== 200) {
    show('account', false);
    show('login', true);
    return;
  }
  const user = await me.json();
  document.getElementById('who').textContent = user.name;
  document.getElementById('role').textContent = user.role;
  document.querySelector('#password [name=username]').value = user.name;
  const orders = await (await api('/orders')).json();
  const list = document.getElementById('orders');
  list.replaceChildren(...orders.map((order) => {
    const item = document.createElement('li');
    item.textContent = `#${order.id} ${order.item}`;
    return item;
  }));
  await showLogins();
  show('login', false);
  show('account', true);
}

// ANCHOR: logins
// "Your logins": every live login of the account, from GET /me/logins. The
// user agent and the address are whatever a client sent, so each node is
// built with createElement and filled with text, never parsed as HTML.
async function showLogins() {
  const answer = await api('/me/logins');
  if (!answer.ok) return;
  const logins = await answer.json();
  document.getElementById('logins').replaceChildren(...logins.map(loginItem));
}

function loginItem(login) {
  const item = document.createElement('li');
  item.dataset.login = login.id;
  const agent = document.createElement('span');
  agent.className = 'user-agent';
  agent.textContent = login.user_agent || 'an unnamed client';
  item.append(agent);
  if (login.current) {
    const marker = document.createElement('strong');
    marker.className = 'this-device';
    marker.textContent = 'this device';
    item.append(' ', marker);
  }
  const details = document.createElement('span');
  details.className = 'login-details';
  // A session is used by every request; a token login leaves a trace on
  // the server only when it refreshes.
  const lastUsed = mode === 'sessions' ? ', last used ' : ', last refreshed ';
  details.append(
    `from ${login.client}, logged in `, localTime(login.created_at),
    lastUsed, localTime(login.last_used_at), ' ',
  );
  const end = document.createElement('button');
  end.type = 'button';
  end.className = 'end';
  end.textContent = 'End';
  end.setAttribute('aria-label', `End the login of ${agent.textContent}`);
  end.setAttribute('aria-expanded', 'false');
  end.addEventListener('click', () => askToEnd(item, login, end));
  details.append(end);
  item.append(details);
  return item;
}

// Ending a login asks for the current password first (ASVS 5.0 7.5.2), so
// that someone holding only a stolen cookie or token cannot end the
// owner's logins and keep their own. The End button opens a small form
// under that login; one is open at a time.
function askToEnd(item, login, endButton) {
  const open = item.querySelector('.end-prompt');
  if (open) {
    open.elements.current_password.focus();
    return;
  }
  closePrompts();
  const form = document.createElement('form');
  form.className = 'end-prompt';
  // For password managers: whose password this is.
  const username = document.createElement('input');
  username.name = 'username';
  username.autocomplete = 'username';
  username.hidden = true;
  username.readOnly = true;
  username.value = document.getElementById('who').textContent;
  const label = document.createElement('label');
  const password = document.createElement('input');
  password.name = 'current_password';
  password.type = 'password';
  password.autocomplete = 'current-password';
  password.required = true;
  label.append('Your current password, to end this login ', password);
  const confirmButton = document.createElement('button');
  confirmButton.type = 'submit';
  confirmButton.textContent = 'End this login';
  const cancel = document.createElement('button');
  cancel.type = 'button';
  cancel.className = 'cancel';
  cancel.textContent = 'Cancel';
  cancel.addEventListener('click', () => {
    closePrompts();
    endButton.focus();
  });
  form.append(username, label, confirmButton, ' ', cancel);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    confirmButton.disabled = true; // one attempt per click: each is counted
    try {
      await endLogin(login, password);
    } finally {
      confirmButton.disabled = false;
    }
  });
  item.append(form);
  endButton.setAttribute('aria-expanded', 'true');
  password.focus();
}

function closePrompts() {
  for (const prompt of document.querySelectorAll('#logins .end-prompt')) {
    prompt.closest('li').querySelector('button.end').setAttribute('aria-expanded', 'false');
    prompt.remove();
  }
}

// Ends one login, with the password typed into its prompt. This device's
// own is a logout; for another, the café says what it could end: in the
// token modes, an access token that device already holds works until it
// expires. Refused (a wrong password, a throttled one), the login stays
// listed and its prompt open for another try.
async function endLogin(login, password) {
  const answer = await api(`/me/logins/${encodeURIComponent(login.id)}`, {
    method: 'DELETE',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ current_password: password.value }),
  });
  const body = await jsonOf(answer);
  if (answer.ok && login.current) {
    await logOut();
    say('You ended the login of this device: you are logged out.', true);
    return;
  }
  if (!answer.ok) {
    say(refusal(answer, body));
    if (answer.status === 401) {
      await showAccount(); // this page's own login is gone
    } else if (answer.status === 404) {
      await showLogins(); // that login had ended already
    } else {
      password.value = '';
      password.focus();
    }
    return;
  }
  if (body.access_token_works_until) {
    const until = new Date(body.access_token_works_until * 1000).toLocaleString();
    say('The login has ended: it can no longer be refreshed, but an access token it '
      + `already holds works until ${until}.`, true);
  } else {
    say(`${body.note[0].toUpperCase()}${body.note.slice(1)}.`, true);
  }
  await showLogins();
}
// ANCHOR_END: logins

document.getElementById('login').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  const answer = await fetch('/login', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: form.get('username'), password: form.get('password') }),
  });
  const body = await answer.json();
  if (!answer.ok) {
    say(body.error);
    return;
  }
  say('');
  keepTokens(body);
  await showAccount();
});

document.getElementById('order').addEventListener('submit', async (event) => {
  event.preventDefault();
  const item = new FormData(event.target).get('item');
  const answer = await api('/orders', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ item }),
  });
  say(answer.ok ? '' : (await answer.json()).error);
  await showAccount();
});

// ANCHOR: change_password
// A password change ends every login of the account, this one included, and
// is answered like a login: the new credential is kept as the login keeps
// it (sessions and the hybrid's refresh token: the cookie the café sets;
// tokens: keepTokens).
document.getElementById('password').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = event.target;
  const fields = new FormData(form);
  const answer = await api('/me/password', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      current_password: fields.get('current_password'),
      new_password: fields.get('new_password'),
    }),
  });
  const body = await jsonOf(answer);
  if (!answer.ok) {
    say(refusal(answer, body));
    // 409: another change won, and every login ended with it.
    if (answer.status === 409 || answer.status === 401) await showAccount();
    return;
  }
  keepTokens(body);
  form.reset();
  const ended = body.logins_ended;
  const stillWorking = mode === 'sessions'
    ? ''
    : ' Another device can no longer refresh, but an access token it already holds may work '
      + 'until it expires.';
  say(`Password changed. ${ended} login${ended === 1 ? '' : 's'} ended, this device's too; `
    + `this device is logged in again.${stillWorking}`, true);
  await showAccount();
});
// ANCHOR_END: change_password

document.getElementById('reload-logins').addEventListener('click', showLogins);

// Logout names the login by every credential the page has: the access token
// (attached by api), the refresh token in the body (jwt), or the cookie the
// browser attaches (hybrid). So it ends the login even when the access
// token is gone.
async function logOut() {
  const refresh = mode === 'jwt'
    ? JSON.parse(localStorage.getItem(STORAGE_KEY) ?? 'null')?.refresh
    : null;
  await api('/logout', refresh
    ? {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ refresh_token: refresh }),
    }
    : { method: 'POST' });
  forgetTokens();
  await showAccount();
}

document.getElementById('logout').addEventListener('click', logOut);

document.getElementById('mode').textContent = {
  sessions: 'Server-side session: an HttpOnly cookie this page cannot read.',
  hybrid: 'Hybrid: a 5-minute token in memory, the refresh token in an HttpOnly cookie.',
  jwt: 'JWT in localStorage: any script on this page can read it.',
}[mode] ?? mode;

// ANCHOR: page_start
// A browser that ran this page under --auth jwt may still hold that mode's
// tokens in localStorage, and no other mode ever reads them. Left there,
// any script on the page could still take them, so they go as the page
// starts, before its first request (ASVS 5.0 14.3.1): whether or not the
// refresh below succeeds, and in sessions mode, which never refreshes.
// A tab still running the old page can write them again later (its refresh
// sends {}, the browser attaches the cookie, and it stores the answer), so
// they also go whenever another tab writes them.
if (mode !== 'jwt') {
  localStorage.removeItem(STORAGE_KEY);
  window.addEventListener('storage', (event) => {
    if (event.key === STORAGE_KEY && event.newValue !== null) {
      localStorage.removeItem(STORAGE_KEY);
    }
  });
}

// For tests and the curious: the wrapper every request goes through.
window.cafe = { api, refreshOnce, ready: null };

// The hybrid's access token does not survive a reload: get a new one with
// the refresh cookie, if there is one.
window.cafe.ready = (async () => {
  if (mode === 'hybrid') await refreshOnce(null);
  await showAccount();
})();
// ANCHOR_END: page_start

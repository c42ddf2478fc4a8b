// The token lab's page script. It loads the café's own token checks,
// compiled from Rust to WebAssembly (examples/token-lab), and wires the
// editor to them. Everything happens in this page: the only requests are
// for this book's own files (the WebAssembly and vectors.json).
const here = (file) => new URL(file, import.meta.url);
const $ = (id) => document.getElementById(id);

/** The `ok` of one of the lab's JSON answers, or an Error with its `error`. */
function unwrap(answer) {
  const parsed = JSON.parse(answer);
  if ('error' in parsed) throw new Error(parsed.error);
  return parsed.ok;
}

let lab;             // the WebAssembly exports
let keptSignature = '';  // the signature the loaded token came with
let vectorFile;      // the attack lab's tokens, fetched once

const vectors = () => {
  vectorFile ??= fetch(here('vectors.json')).then((reply) => reply.json());
  return vectorFile;
};

function showTime() {
  const seconds = Number($('lab-now').value);
  $('lab-now-date').textContent = Number.isFinite(seconds)
    ? new Date(seconds * 1000).toISOString().replace('.000Z', 'Z')
    : '';
}

/** Asks the café's checks about the token in the box, and shows the answer. */
function judge() {
  showTime();
  const verdict = unwrap(lab.check($('lab-token').value, $('lab-kind').value, Number($('lab-now').value)));
  const shown = $('lab-verdict');
  shown.textContent = verdict.accepted ? 'valid: the café accepts it' : `refused: ${verdict.reason}`;
  shown.className = verdict.accepted ? 'lab-accepted' : 'lab-refused';
}

/** Shows a token's header and claims for editing; keeps its signature. */
function takeApart() {
  try {
    const parts = unwrap(lab.take_apart($('lab-token').value));
    $('lab-header').value = parts.header;
    $('lab-payload').value = parts.payload;
    keptSignature = parts.signature;
    $('lab-problem').textContent = '';
  } catch (error) {
    $('lab-header').value = '';
    $('lab-payload').value = '';
    keptSignature = '';
    $('lab-problem').textContent = `Cannot take it apart: ${error.message}`;
  }
  $('lab-signature').value = 'keep';
  judge();
}

/** Puts the edited header and claims together again, signed as chosen. */
function putTogether() {
  try {
    $('lab-token').value = unwrap(lab.put_together(
      $('lab-header').value, $('lab-payload').value, $('lab-signature').value, keptSignature));
    $('lab-problem').textContent = '';
  } catch (error) {
    $('lab-problem').textContent = `Cannot sign it: ${error.message}`;
  }
  judge();
}

function load(token, kind, now, about) {
  $('lab-token').value = token;
  $('lab-kind').value = kind;
  $('lab-now').value = now;
  $('lab-about').textContent = about;
  takeApart();
}

/** Loads one of the vector file's tokens: an ordinary login's, or an attack's. */
function loadVector(vector) {
  const description = vector.description[0].toUpperCase() + vector.description.slice(1);
  const sent = vector.kind === 'access' ? 'a bearer token' : 'a refresh token';
  load(vector.token, vector.kind, vector.now,
    `${description}. Sent as ${sent}; the café's clock then: ${vector.now}.`);
}

/** Fills the preset list from the vector file, one group per origin. */
async function fillPresets() {
  const select = $('lab-preset');
  const file = await vectors();
  const groups = new Map();
  file.vectors.forEach((vector, index) => {
    const title = vector.attack === 'valid'
      ? 'From an ordinary login'
      : `From the attack lab, against a café signing with ${vector.algorithm}`;
    if (!groups.has(title)) {
      const group = document.createElement('optgroup');
      group.label = title;
      groups.set(title, group);
      select.append(group);
    }
    const repeat = file.vectors.slice(0, index)
      .filter((v) => v.attack === vector.attack && v.algorithm === vector.algorithm
        && v.kind === vector.kind).length;
    const name = vector.attack === 'valid' ? `alice's ${vector.kind} token` : vector.attack;
    const label = `${name} (${vector.algorithm}${repeat ? `, #${repeat + 1}` : ''})`;
    groups.get(title).append(new Option(label, String(index)));
  });
  select.addEventListener('change', () => loadVector(file.vectors[Number(select.value)]));
  // The first entry is an ordinary login's access token.
  loadVector(file.vectors[0]);
}

async function start() {
  try {
    const glue = await import(here('pkg/token_lab.js'));
    await glue.default({ module_or_path: here('pkg/token_lab_bg.wasm') });
    lab = glue;
  } catch (error) {
    $('lab-problem').textContent = 'The lab could not load its WebAssembly. Built locally? '
      + `Run bash .ci/build-token-lab first. (${error.message})`;
    return;
  }
  $('lab-secret').textContent = lab.demo_secret();
  $('lab-token').addEventListener('input', takeApart);
  $('lab-header').addEventListener('input', putTogether);
  $('lab-payload').addEventListener('input', putTogether);
  $('lab-signature').addEventListener('change', putTogether);
  $('lab-kind').addEventListener('change', judge);
  $('lab-now').addEventListener('input', judge);
  await fillPresets();
  // For the book's tests: the same functions the editor calls.
  window.tokenLab = {
    ready: true,
    vectors,
    check: (token, kind, now) => unwrap(lab.check(token, kind, now)),
  };
}

start();

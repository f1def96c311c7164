// copydesk web page: plain ES module, no build step, talks only to this origin.
// User text is only ever placed with textContent, never parsed as HTML.

const $ = (id) => document.getElementById(id);
const form = $('form');
const textArea = $('text');
const fileInput = $('file');
const checkButton = $('check');
const statusLine = $('status');
const tokenRow = $('token-row');
const tokenInput = $('token');
const result = $('result');
const sentencesBox = $('sentences');
const detail = $('sentence-detail');
const tip = $('tip');

const TOKEN_KEY = 'copydesk-token';

tokenInput.value = sessionStorage.getItem(TOKEN_KEY) ?? '';
if (tokenInput.value) tokenRow.hidden = false;

function headers(extra = {}) {
  const h = { ...extra };
  const token = tokenInput.value.trim();
  if (token) h.authorization = `Bearer ${token}`;
  return h;
}

function setStatus(message, isError = false) {
  statusLine.textContent = message;
  statusLine.classList.toggle('error', isError);
}

function percent(p) {
  const v = p * 100;
  return `${v < 1 || v > 99 ? v.toFixed(1) : Math.round(v)}%`;
}

function formatP(p) {
  if (p === undefined || p === null) return 'n/a';
  return p < 0.001 ? p.toExponential(1) : p.toFixed(3);
}

function bin(p) {
  return Math.min(4, Math.max(0, Math.floor(p * 5)));
}

const BIN_WORDS = ['human-like', 'leaning human', 'unsure', 'leaning machine', 'machine-like'];

function countWords() {
  const n = (textArea.value.match(/\S+/g) ?? []).length;
  $('count').textContent = `${n.toLocaleString()} word${n === 1 ? '' : 's'}`;
}

async function loadModel() {
  try {
    const response = await fetch('/v1/models', { headers: headers() });
    if (response.status === 401) {
      tokenRow.hidden = false;
      $('model-version').textContent = '(enter the access token)';
      return;
    }
    const body = await response.json();
    $('model-version').textContent = body.models?.[0]?.version ?? 'unknown';
  } catch {
    $('model-version').textContent = 'unavailable';
  }
}

async function check() {
  const text = textArea.value;
  if (!text.trim()) {
    setStatus('Paste some text or open a text file first.', true);
    textArea.focus();
    return;
  }
  checkButton.disabled = true;
  setStatus('Checking…');
  try {
    const response = await fetch('/v1/detect', {
      method: 'POST',
      headers: headers({ 'content-type': 'application/json' }),
      body: JSON.stringify({ text }),
    });
    const body = await response.json().catch(() => null);
    if (!response.ok) {
      if (response.status === 401) {
        tokenRow.hidden = false;
        tokenInput.focus();
      }
      const retry = response.headers.get('retry-after');
      const message = body?.message ?? `the server answered ${response.status}`;
      setStatus(`Could not check the text: ${message}${retry ? ` (try again in ${retry} s)` : ''}.`, true);
      return;
    }
    if (tokenInput.value) sessionStorage.setItem(TOKEN_KEY, tokenInput.value);
    render(text, body);
    setStatus(`Checked ${textArea.value.length.toLocaleString()} characters.`);
    result.focus();
  } catch (error) {
    setStatus(`Could not reach the server: ${error.message}.`, true);
  } finally {
    checkButton.disabled = false;
  }
}

const VERDICT_WORDS = {
  human: 'Likely human-written',
  machine: 'Likely machine-written',
  uncertain: 'Cannot judge this text',
};

/** What each `reasons` code means, for a reader deciding what to do next. */
const REASON_WORDS = {
  too_short: 'It is too short: below the length at which the detector was measured to be reliable. Paste a longer passage.',
  not_english: 'It does not look like English, the only language the detector was trained on.',
  not_prose: 'It looks like markup, code or a table (HTML, JSON, columns of figures) rather than running prose. Paste the text of the article without it.',
  not_news: 'It does not read like news (an abstract, a review, fiction …); the detector is built and calibrated for news, so its score is not reliable here.',
  unlike_training_data: 'It is unlike the texts the detector was trained on (its style or vocabulary), so its score is not reliable here.',
  repeated_text: 'It is one passage repeated (pasted twice?). Each copy raises the score, so it is not reliable here: paste a single copy.',
};

/** A "human" verdict's `cautions`: the score was low, but on such text a low score says less. */
const CAUTION_WORDS = {
  not_news: 'It does not read like news (an abstract, a review, fiction …). Its score is low, but the detector is built for news and misses more machine-written text of other kinds.',
  unlike_training_data: 'It is unlike the texts the detector was trained on (its style or vocabulary). Its score is low, but on such text the detector misses more machine-written text.',
  repeated_text: 'It is one passage repeated (pasted twice?). Its score is low, but the score of a single copy is the one to go by.',
};

function render(text, r) {
  result.hidden = false;
  const verdict = $('verdict');
  verdict.className = `verdict ${r.verdict === 'uncertain' ? 'uncertain' : r.verdict === 'machine' ? 'machine' : 'human'}`;
  verdict.textContent = VERDICT_WORDS[r.verdict] ?? VERDICT_WORDS.human;
  // Why it was not judged (uncertain), or what to bear in mind about a "human" verdict (cautions).
  const uncertain = r.verdict === 'uncertain';
  const listed = (uncertain ? r.reasons : r.verdict === 'human' ? r.cautions : undefined) ?? [];
  const words = uncertain ? REASON_WORDS : CAUTION_WORDS;
  const reasons = $('reasons');
  reasons.hidden = listed.length === 0;
  reasons.classList.toggle('cautions', !uncertain);
  reasons.setAttribute('aria-label', uncertain ? 'Why this text was not judged' : 'Cautions about this verdict');
  reasons.replaceChildren(
    ...listed.map((reason) => {
      const item = document.createElement('li');
      item.dataset.reason = reason;
      item.textContent = words[reason] ?? reason;
      return item;
    }),
  );
  $('probability').textContent = percent(r.machine_probability);
  $('probability-label').textContent = 'probability that a machine wrote it';
  $('meter-fill').style.left = `calc(${(r.machine_probability * 100).toFixed(2)}% - 1px)`;
  $('meter-threshold').style.left = `${(r.threshold * 100).toFixed(2)}%`;
  $('threshold').textContent = `Flagged as machine-written at ${percent(r.threshold)} or more (dashed mark).`;
  // On text with reasons or cautions the server withholds machine passages whatever the p-value: not decided, not "none".
  const withheld = listed.length > 0 && r.machine_passage !== true;
  $('mixture').textContent =
    typeof r.mixture_p_value === 'number'
      ? `Mixed-authorship test: p = ${formatP(r.mixture_p_value)}` +
        (withheld
          ? ` — passages are not marked in a text ${uncertain ? 'the detector cannot judge' : 'with cautions'} (see above).`
          : r.machine_passage === true
            ? ' — the text likely contains machine-written passages (marked ▲).'
            : r.machine_passage === false
              ? ' — no machine-written passage detected.'
              : ' (small values mean some sentences are unlikely to be human-written).')
      : '';
  $('result-model').textContent = r.model_version;
  renderSentences(text, r.sentences, r.sentences_truncated === true ? r.sentence_count : undefined);
  renderEvidence(r.evidence ?? []);
}

/** `total`: how many sentences the text has, when the server listed only the first ones (sentences_truncated). */
function renderSentences(text, sentences, total) {
  sentencesBox.replaceChildren();
  detail.textContent = '';
  if (!Array.isArray(sentences) || sentences.length === 0) {
    const note = document.createElement('p');
    note.className = 'note';
    note.textContent = 'This model gives no sentence-level scores (its file has no sentence calibration), so only the whole-document result is shown.';
    sentencesBox.append(note, document.createTextNode(text));
    return;
  }
  const ordered = [...sentences].sort((a, b) => a.start - b.start);
  const of = Math.max(total ?? 0, ordered.length);
  let at = 0;
  const spans = [];
  ordered.forEach((s, i) => {
    if (s.start < at || s.end > text.length || s.end < s.start) return; // overlapping or out of range: skip
    if (s.start > at) sentencesBox.append(document.createTextNode(text.slice(at, s.start)));
    const span = document.createElement('span');
    const b = bin(s.machine_probability);
    span.className = `s b${b}${s.machine_passage ? ' flagged' : ''}`;
    span.textContent = text.slice(s.start, s.end);
    span.tabIndex = spans.length === 0 ? 0 : -1;
    span.dataset.index = String(spans.length);
    span.dataset.summary =
      `Sentence ${i + 1} of ${of}: ${percent(s.machine_probability)} machine probability (${BIN_WORDS[b]}); ` +
      `p-value under the human-writer null ${formatP(s.p_value)}${s.machine_passage ? '; part of a likely machine-written passage (▲)' : ''}.`;
    span.setAttribute('aria-label', `${span.dataset.summary} ${span.textContent}`);
    sentencesBox.append(span);
    spans.push(span);
    at = s.end;
  });
  if (at < text.length) sentencesBox.append(document.createTextNode(text.slice(at)));
  const count = spans.filter((s) => /\bb[34]\b/.test(s.className)).length;
  const lean = `${count} lean towards machine writing (60% or more).`;
  detail.textContent =
    of > ordered.length
      ? `Scores of the first ${spans.length} of ${of} sentences (the server lists no more per text; the verdict uses them all): ${lean} Check the rest in parts for their scores.`
      : `${spans.length} sentences; ${lean}`;
}

function renderEvidence(evidence) {
  const list = $('evidence');
  list.replaceChildren();
  $('evidence-box').hidden = evidence.length === 0;
  for (const e of evidence) {
    const li = document.createElement('li');
    li.textContent = `${e.weight > 0 ? '→ machine' : '→ human'}: ${e.description}`;
    list.append(li);
  }
}

// Sentence details on hover and focus; arrow keys move between sentences (one tab stop for the text).
function showTip(span) {
  tip.textContent = span.dataset.summary;
  tip.hidden = false;
  const box = span.getBoundingClientRect();
  const top = window.scrollY + box.bottom + 6;
  const left = Math.max(8, Math.min(window.scrollX + box.left, window.scrollX + document.documentElement.clientWidth - tip.offsetWidth - 8));
  tip.style.top = `${top}px`;
  tip.style.left = `${left}px`;
}

function hideTip() {
  tip.hidden = true;
}

sentencesBox.addEventListener('mouseover', (event) => {
  const span = event.target.closest?.('.s');
  if (span) showTip(span);
});
sentencesBox.addEventListener('mouseout', (event) => {
  if (event.target.closest?.('.s') && document.activeElement !== event.target) hideTip();
});
sentencesBox.addEventListener('focusin', (event) => {
  const span = event.target.closest?.('.s');
  if (!span) return;
  showTip(span);
  detail.textContent = span.dataset.summary;
});
sentencesBox.addEventListener('focusout', hideTip);
sentencesBox.addEventListener('keydown', (event) => {
  const span = event.target.closest?.('.s');
  if (!span) return;
  const spans = [...sentencesBox.querySelectorAll('.s')];
  const i = Number(span.dataset.index);
  const next = {
    ArrowRight: i + 1, ArrowDown: i + 1, ArrowLeft: i - 1, ArrowUp: i - 1, Home: 0, End: spans.length - 1,
  }[event.key];
  if (event.key === 'Escape') {
    hideTip();
    return;
  }
  if (next === undefined || next < 0 || next >= spans.length) return;
  event.preventDefault();
  span.tabIndex = -1;
  spans[next].tabIndex = 0;
  spans[next].focus();
});

async function readFile(file) {
  if (!file) return;
  if (file.size > 5 * 1024 * 1024) {
    setStatus(`${file.name} is ${(file.size / 1048576).toFixed(1)} MB; open a plain-text article instead.`, true);
    return;
  }
  textArea.value = await file.text();
  $('file-name').textContent = file.name;
  countWords();
  await check();
}

fileInput.addEventListener('change', () => readFile(fileInput.files?.[0]));
textArea.addEventListener('dragover', (event) => event.preventDefault());
textArea.addEventListener('drop', (event) => {
  const file = event.dataTransfer?.files?.[0];
  if (!file) return;
  event.preventDefault();
  readFile(file);
});
textArea.addEventListener('input', countWords);
textArea.addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
    event.preventDefault();
    check();
  }
});
form.addEventListener('submit', (event) => {
  event.preventDefault();
  check();
});
$('clear').addEventListener('click', () => {
  textArea.value = '';
  fileInput.value = '';
  $('file-name').textContent = '';
  result.hidden = true;
  setStatus('');
  countWords();
  textArea.focus();
});
tokenInput.addEventListener('change', loadModel);

countWords();
loadModel();

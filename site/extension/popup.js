// The toolbar popup: "Pick a face on this page", and the last answer in full — the crop, the
// verdict worded as in the demo (verdict.js), the candidates with their match percentage, and
// "Wrong? It's …" (an alternative or a typed name) which teaches the crop in one step.
import { T, msg, LAST } from './messages.js';
import { verdict, distinct, level } from './verdict.js';

const $ = (id) => document.getElementById(id);
const send = async (type, data) => {
  const r = await chrome.runtime.sendMessage(msg(type, 'background', data));
  if (r && r.error) throw new Error(r.error);
  return r;
};

$('pick').addEventListener('click', async () => {
  try {
    const [tab] = await chrome.tabs.query({ active: true, currentWindow: true });
    if (!tab) throw new Error('no active tab');
    await send(T.START_PICK, { tabId: tab.id });
    window.close();
  } catch (err) {
    $('pick-status').textContent = `Cannot pick on this page: ${err.message}`;
  }
});

// Live names on the page's main video (content.js: the largest in view), toggled there after.
$('live').addEventListener('click', async () => {
  try {
    const [tab] = await chrome.tabs.query({ active: true, currentWindow: true });
    if (!tab) throw new Error('no active tab');
    await send(T.START_LIVE, { tabId: tab.id });
    window.close();
  } catch (err) {
    $('pick-status').textContent = `Cannot show live names here: ${err.message}`;
  }
});

function render(last) {
  $('last').hidden = !last;
  $('none').hidden = !!last;
  if (!last) return;
  const r = last.answer, v = verdict(r);
  $('last').dataset.kind = v.kind;
  $('crop').src = last.region;
  $('verdict').textContent = v.text;
  $('match').textContent = v.sentence;
  const answers = distinct(r.answers).slice(0, 5);
  $('answers').replaceChildren(...answers.map((a) => {
    const li = document.createElement('li');
    li.append(Object.assign(document.createElement('strong'), { textContent: a.name }),
      Object.assign(document.createElement('span'), { className: 'pc', textContent: ` ${level(a.score, v.rule)}` }),
      Object.assign(document.createElement('span'), { className: 'hint', textContent: a.series ? ` — ${a.series}` : '' }));
    return li;
  }));
  const alts = (v.kind === 'known' ? answers.slice(1) : answers).slice(0, 3);
  $('teach-title').firstElementChild.textContent = v.kind === 'known' ? 'Wrong? It\'s …' : v.kind === 'unknown' ? 'Who is it? It\'s …' : 'Which is it? It\'s …';
  $('alts').replaceChildren(...alts.map((a) => {
    const b = Object.assign(document.createElement('button'), { type: 'button', className: 'alt', textContent: a.name });
    b.setAttribute('aria-label', `It's ${a.name}: teach this crop as ${a.name}`);
    b.addEventListener('click', () => teach(a.name));
    return b;
  }));
  $('names').replaceChildren(...answers.map((a) => Object.assign(document.createElement('option'), { value: a.name })));
}

async function teach(name) {
  name = name.trim();
  if (!name) return;
  $('teach-status').textContent = `Teaching "${name}"…`;
  try {
    const c = await send(T.TEACH, { name });
    $('teach-name').value = '';
    render((await chrome.storage.session.get(LAST))[LAST]);
    $('teach-status').textContent = `Learned: this is ${c.name} (${c.examples} example${c.examples === 1 ? '' : 's'}${c.pack ? ' added to the pack character' : ''}).`;
    document.body.dataset.taught = c.name; // for the browser test
  } catch (err) {
    $('teach-status').textContent = `Could not teach: ${err.message}`;
  }
}
$('teach').addEventListener('submit', (e) => { e.preventDefault(); teach($('teach-name').value); });

chrome.storage.session.get(LAST).then((s) => { render(s[LAST]); document.body.dataset.ready = '1'; });
chrome.storage.onChanged.addListener((changes, area) => { if (area === 'session' && changes[LAST]) render(changes[LAST].newValue); });

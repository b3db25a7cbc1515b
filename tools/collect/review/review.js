// toonid collect review page: shows proposals.json as clusters of thumbnails; a person names a
// cluster (or accepts the pack's suggestion), unticks wrong crops, rejects clusters, and exports
// labels.tsv for `toonid collect apply`. No framework, no build step, nothing leaves the browser.
//
// A classic script on purpose, not an ES module: browsers refuse module scripts and fetch() on
// pages opened from file://, and this page must work by double-clicking review.html. The data
// comes from proposals.js (the same JSON, assigned to globalThis.toonidProposals) or, when that
// is missing, from fetch('proposals.json') or a file picker. Work in progress is saved in
// localStorage under the run id, so a reload or a crash loses nothing.
'use strict';
(() => {
  const $ = (s) => document.querySelector(s);
  const LABELS_HEADER = 'proposal\tidentity\tname\tseries\tcredit';

  let P = null;               // proposals.json
  let S = null;               // review state, saved per run
  let cur = 0;                // index of the current cluster in P.clusters
  const els = [];             // cluster section elements, by index

  // slug makes an identity from a name: lower-case ASCII words joined by "-"; a name with no
  // ASCII letters keeps its own characters (identities are any text without tabs).
  function slug(name) {
    const s = name.normalize('NFKD').replace(/[\u0300-\u036f]/g, '').toLowerCase()
      .replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '');
    return s || name.trim().replace(/\s+/g, '-');
  }

  // clean keeps a cell free of tabs, newlines and other control characters.
  const clean = (s) => String(s || '').replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ').trim();

  const key = () => `toonid-collect:${P.run}`;
  function save() {
    try { localStorage.setItem(key(), JSON.stringify(S)); } catch { /* private mode: state lives until reload */ }
  }
  function restore() {
    S = { clusters: {}, series: '', credit: '' };
    try {
      const s = JSON.parse(localStorage.getItem(key()) || 'null');
      if (s && typeof s === 'object' && s.clusters && typeof s.clusters === 'object') S = { ...S, ...s };
    } catch { /* a broken entry: start afresh */ }
  }
  const st = (c) => (S.clusters[c.id] ||= { status: 'todo', name: '', identity: '', series: '', credit: '', off: [] });

  // labelsTSV is the export: one row per ticked crop of every named cluster, in review order.
  function labelsTSV() {
    const lines = [`# toonid-collect-labels run=${P.run}`, LABELS_HEADER];
    let rows = 0;
    for (const c of P.clusters) {
      const s = S.clusters[c.id];
      if (!s || s.status !== 'named' || !clean(s.identity)) continue;
      const off = new Set(s.off);
      for (const m of c.members) {
        if (off.has(m.id)) continue;
        lines.push([m.id, clean(s.identity), clean(s.name), clean(s.series), clean(s.credit)].join('\t'));
        rows++;
      }
    }
    return { text: lines.join('\n') + '\n', rows };
  }

  function message(text, error = false) {
    const el = $('#message');
    el.textContent = text;
    el.className = error ? 'error' : '';
  }

  function progress() {
    let named = 0, rejected = 0;
    for (const c of P.clusters) {
      const s = S.clusters[c.id];
      if (s?.status === 'named') named++;
      else if (s?.status === 'rejected') rejected++;
    }
    const todo = P.clusters.length - named - rejected;
    const v = P.params.video;
    $('#progress').textContent = `${P.clusters.length} ${v ? 'tracks' : 'clusters'}, ${P.stats.clustered + P.stats.suggested} crops` +
      ` from ${v ? `${P.stats.images} frames of ${v.file}` : `${P.stats.images} images`} (run ${P.run}): ${named} named, ${rejected} rejected, ${todo} to do`;
    const known = new Map();
    for (const c of P.clusters) {
      const s = S.clusters[c.id];
      if (s?.status === 'named' && s.name) known.set(s.name, s.identity);
      if (c.suggestion) known.set(c.suggestion.name, c.suggestion.id);
    }
    const dl = $('#known');
    dl.replaceChildren(...[...known.keys()].sort().map((n) => { const o = document.createElement('option'); o.value = n; return o; }));
    return { named, rejected, todo };
  }

  // knownIdentity returns the identity already used for a name (so two clusters of one character
  // merge), or the slug of the name.
  function knownIdentity(name) {
    for (const c of P.clusters) {
      const s = S.clusters[c.id];
      if (s?.status === 'named' && s.name === name && s.identity) return s.identity;
      if (c.suggestion && c.suggestion.name === name) return c.suggestion.id;
    }
    return slug(name);
  }

  function paint(i) {
    const c = P.clusters[i], s = st(c), el = els[i];
    el.classList.toggle('named', s.status === 'named');
    el.classList.toggle('rejected', s.status === 'rejected');
    el.querySelector('.badge').textContent = s.status === 'named' ? `named: ${s.name}` : s.status === 'rejected' ? 'rejected' : 'to do';
    el.querySelector('.reject').textContent = s.status === 'rejected' ? 'Undo reject' : 'Reject';
    const off = new Set(s.off);
    for (const lab of el.querySelectorAll('.m')) {
      const on = !off.has(lab.dataset.id);
      lab.querySelector('input').checked = on;
      lab.classList.toggle('off', !on);
    }
    const f = $('#filter').value;
    el.hidden = !(f === 'all' || s.status === f);
  }

  function setCurrent(i, focus = true) {
    if (!els.length) return;
    i = Math.max(0, Math.min(els.length - 1, i));
    els[cur]?.classList.remove('current');
    cur = i;
    els[cur].classList.add('current');
    if (focus) {
      els[cur].focus({ preventScroll: true });
      els[cur].scrollIntoView({ block: 'nearest' });
    }
  }

  // step moves to the next (or previous) visible cluster.
  function step(d) {
    for (let i = cur + d; i >= 0 && i < els.length; i += d) {
      if (!els[i].hidden) return setCurrent(i);
    }
  }

  function name(i, nameText, identity, series, credit) {
    const c = P.clusters[i], s = st(c);
    nameText = clean(nameText);
    if (!nameText) { message('A name is needed: type one, or press a to accept the suggestion.', true); return false; }
    s.name = nameText;
    s.identity = clean(identity) || knownIdentity(nameText);
    s.series = clean(series ?? S.series);
    s.credit = clean(credit ?? S.credit);
    s.status = 'named';
    const el = els[i];
    el.querySelector('.name').value = s.name;
    el.querySelector('.ident').value = s.identity;
    save(); paint(i); progress();
    message(`${c.id}: ${s.name} (${s.identity})`);
    return true;
  }

  function accept(i) {
    const g = P.clusters[i].suggestion;
    if (!g) { message(`${P.clusters[i].id} has no pack suggestion.`, true); return false; }
    return name(i, g.name, g.id, g.series || S.series, g.credit || S.credit);
  }

  function reject(i) {
    const s = st(P.clusters[i]);
    s.status = s.status === 'rejected' ? 'todo' : 'rejected';
    save(); paint(i); progress();
  }

  function reset(i) {
    st(P.clusters[i]).status = 'todo';
    save(); paint(i); progress();
  }

  function toggle(i, id, on) {
    const s = st(P.clusters[i]);
    const off = new Set(s.off);
    if (on ?? off.has(id)) off.delete(id); else off.add(id);
    s.off = [...off];
    save(); paint(i);
  }

  function invert(i) {
    const c = P.clusters[i], s = st(c);
    const off = new Set(s.off);
    s.off = c.members.filter((m) => !off.has(m.id)).map((m) => m.id);
    save(); paint(i);
  }

  function exportLabels() {
    const { text, rows } = labelsTSV();
    if (!rows) { message('Nothing to export yet: name a cluster first.', true); return null; }
    const a = document.createElement('a');
    a.href = URL.createObjectURL(new Blob([text], { type: 'text/tab-separated-values' }));
    a.download = 'labels.tsv';
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10000);
    message(`labels.tsv: ${rows} crops. Next: toonid collect apply -review THIS_FOLDER -labels labels.tsv -o GALLERY_DIR`);
    return text;
  }

  // clock shows ms of video as m:ss.s.
  function clock(ms) {
    const s = ms / 1000;
    return `${Math.floor(s / 60)}:${(s % 60).toFixed(1).padStart(4, '0')}`;
  }

  function build() {
    const box = $('#clusters');
    const frag = document.createDocumentFragment();
    P.clusters.forEach((c, i) => {
      const s = st(c);
      const el = document.createElement('section');
      el.className = 'cluster';
      el.tabIndex = 0;
      el.dataset.index = i;
      el.dataset.id = c.id;
      const tk = c.track, fps = P.params.video?.fps;
      el.setAttribute('aria-label', `${tk ? 'track' : 'cluster'} ${c.id}, ${c.members.length} crops`);

      const h = document.createElement('h2');
      const title = document.createElement('span');
      title.textContent = c.id;
      const meta = document.createElement('span');
      meta.className = 'meta';
      const dups = c.members.reduce((n, m) => n + (m.dups || 0), 0);
      meta.textContent = tk
        ? `track ${clock(tk.start_ms)}–${clock(tk.end_ms)}, face in ${tk.detections} frames: ${c.members.length} crops shown${dups ? ` (+${dups} near-duplicates)` : ''}, one name labels them all`
        : `${c.members.length} crops${dups ? ` (+${dups} near-duplicates)` : ''}, cohesion ${c.cohesion.toFixed(2)}`;
      const badge = document.createElement('span');
      badge.className = 'badge';
      h.append(title, meta, badge);
      if (c.suggestion) {
        const g = document.createElement('span');
        g.className = 'meta';
        g.textContent = `${tk ? 'the tracker\'s vote' : 'pack suggests'} ${c.suggestion.name}${c.suggestion.series ? ` (${c.suggestion.series})` : ''}, mean score ${c.suggestion.score.toFixed(2)}`;
        h.append(g);
      }

      const form = document.createElement('div');
      form.className = 'form';
      const nm = document.createElement('input');
      nm.type = 'text'; nm.className = 'name'; nm.setAttribute('list', 'known');
      nm.placeholder = c.suggestion ? `${c.suggestion.name} (Enter or a to accept)` : 'character name';
      nm.setAttribute('aria-label', `name for ${c.id}`);
      nm.value = s.name;
      const id = document.createElement('input');
      id.type = 'text'; id.className = 'ident'; id.placeholder = 'identity (from the name)';
      id.setAttribute('aria-label', `identity for ${c.id}`);
      id.value = s.identity;
      nm.addEventListener('input', () => { if (!id.dataset.edited) id.value = nm.value ? knownIdentity(clean(nm.value)) : ''; });
      id.addEventListener('input', () => { id.dataset.edited = id.value ? '1' : ''; });
      const ok = document.createElement('button');
      ok.type = 'button'; ok.textContent = 'Name';
      ok.addEventListener('click', () => { if (nm.value.trim()) name(i, nm.value, id.value); else accept(i); });
      const acc = document.createElement('button');
      acc.type = 'button'; acc.className = 'quiet accept'; acc.textContent = 'Accept suggestion';
      acc.hidden = !c.suggestion;
      acc.addEventListener('click', () => accept(i));
      const rej = document.createElement('button');
      rej.type = 'button'; rej.className = 'quiet reject';
      rej.addEventListener('click', () => reject(i));
      form.append(nm, id, ok, acc, rej);
      nm.addEventListener('keydown', (e) => {
        if (e.key === 'Enter') {
          e.preventDefault();
          if (nm.value.trim() ? name(i, nm.value, id.value) : accept(i)) step(1);
        } else if (e.key === 'Escape') {
          e.preventDefault();
          setCurrent(i);
        }
      });
      id.addEventListener('keydown', (e) => { if (e.key === 'Escape') { e.preventDefault(); setCurrent(i); } });

      const ms = document.createElement('div');
      ms.className = tk ? 'members strip' : 'members';
      for (const m of c.members) {
        const lab = document.createElement('label');
        lab.className = 'm';
        lab.dataset.id = m.id;
        const match = m.match ? `\npack: ${m.match.name} ${m.match.score.toFixed(2)}` : '';
        lab.title = `${m.id}\n${m.path}\nbox ${m.box.join(',')}\nscore ${m.score.toFixed(2)}${m.dups ? `\n${m.dups} near-duplicates dropped` : ''}${match}`;
        const cb = document.createElement('input');
        cb.type = 'checkbox';
        cb.setAttribute('aria-label', `${m.id} from ${m.path} belongs to this cluster`);
        cb.addEventListener('change', () => toggle(i, m.id, cb.checked));
        const img = document.createElement('img');
        img.loading = 'lazy';
        img.decoding = 'async';
        img.alt = `${m.id}: ${m.path}`;
        img.src = `thumbs/${encodeURIComponent(m.id)}.jpg`;
        lab.append(cb, img);
        if (tk && fps) {
          const at = document.createElement('span');
          at.className = 'at';
          at.textContent = clock(1000 * m.image / fps);
          lab.append(at);
        }
        if (m.dups) {
          const d = document.createElement('span');
          d.className = 'dups';
          d.textContent = `+${m.dups}`;
          lab.append(d);
        }
        ms.append(lab);
      }
      el.append(h, form, ms);
      el.addEventListener('focusin', () => { if (cur !== i) setCurrent(i, false); });
      el.addEventListener('click', (e) => { if (e.target === el || e.target.closest('h2')) setCurrent(i); });
      els.push(el);
      frag.append(el);
    });
    box.replaceChildren(frag);
    P.clusters.forEach((_, i) => paint(i));
    progress();
    if (!P.clusters.length) message('No clusters: nothing recurred. Try a lower -link, -min-size 1 or a finer -grid.');
    else setCurrent(0);
  }

  function onKey(e) {
    if (!P || e.ctrlKey || e.metaKey || e.altKey) return;
    const t = e.target;
    if (t instanceof HTMLInputElement && t.type === 'text' || t instanceof HTMLSelectElement) return;
    if ($('#keys').open) return;
    const k = e.key;
    const act = {
      j: () => step(1), ArrowDown: () => step(1), k: () => step(-1), ArrowUp: () => step(-1),
      n: () => els[cur].querySelector('.name').focus(),
      Enter: () => { if (t === els[cur]) els[cur].querySelector('.name').focus(); else return false; },
      a: () => { if (accept(cur)) step(1); },
      x: () => { reject(cur); if (st(P.clusters[cur]).status === 'rejected') step(1); },
      u: () => reset(cur),
      i: () => invert(cur),
      e: () => exportLabels(),
      '?': () => $('#keys').showModal(),
    }[k];
    if (act && act() !== false) e.preventDefault();
  }

  function start(p) {
    if (!p || p.format !== 'toonid-collect-proposals' || p.version !== 1 || !Array.isArray(p.clusters)) {
      message('This is not a toonid collect proposals.json (format toonid-collect-proposals, version 1).', true);
      return;
    }
    P = p;
    restore();
    $('#series').value = S.series || '';
    $('#credit').value = S.credit || '';
    $('#open').style.display = 'none';
    build();
  }

  async function load() {
    if (globalThis.toonidProposals) return start(globalThis.toonidProposals);
    try {
      const r = await fetch('proposals.json');
      if (r.ok) return start(await r.json());
    } catch { /* file:// without proposals.js: ask for the file */ }
    $('#progress').textContent = '';
    $('#open').style.display = 'block';
  }

  $('#file').addEventListener('change', async (e) => {
    const f = e.target.files[0];
    if (!f) return;
    try { start(JSON.parse(await f.text())); } catch (err) { message(`${f.name}: ${err.message}`, true); }
  });
  $('#series').addEventListener('input', (e) => { if (S) { S.series = e.target.value; save(); } });
  $('#credit').addEventListener('input', (e) => { if (S) { S.credit = e.target.value; save(); } });
  $('#filter').addEventListener('change', () => { if (P) P.clusters.forEach((_, i) => paint(i)); });
  $('#export').addEventListener('click', () => { if (P) exportLabels(); });
  $('#help').addEventListener('click', () => $('#keys').showModal());
  document.addEventListener('keydown', onKey);

  // For tests and the console.
  globalThis.toonidReview = { labelsTSV: () => labelsTSV().text, slug, state: () => S, load: start };
  load();
})();

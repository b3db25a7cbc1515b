// md.js — the little Markdown CREDITS.md uses (headings, paragraphs, "- " lists, pipe tables,
// `code`, **bold**, [links](https://…)) rendered as DOM nodes. Every piece of text goes in through
// textContent / createTextNode, never innerHTML, and only http(s) links become <a>, so a credit
// line cannot inject markup or script.

export function render(md, doc = document) {
  const out = doc.createDocumentFragment();
  const lines = String(md).replace(/\r\n?/g, '\n').split('\n');
  let i = 0;
  const el = (tag, ...kids) => { const e = doc.createElement(tag); e.append(...kids); return e; };
  while (i < lines.length) {
    const line = lines[i];
    if (!line.trim()) { i++; continue; }
    const h = line.match(/^(#{1,6})\s+(.*)$/);
    if (h) {
      // Headings sit under the dialog's own h2/h3, so they start at h4.
      out.append(el(`h${Math.min(6, h[1].length + 3)}`, ...inline(h[2], doc)));
      i++;
      continue;
    }
    if (/^\s*\|/.test(line)) {
      const rows = [];
      while (i < lines.length && /^\s*\|/.test(lines[i])) rows.push(cells(lines[i++]));
      const table = doc.createElement('table');
      const sep = rows.length > 1 && rows[1].every((c) => /^:?-{2,}:?$/.test(c.trim()));
      const body = sep ? rows.slice(2) : rows;
      if (sep) table.append(el('thead', el('tr', ...rows[0].map((c) => el('th', ...inline(c, doc))))));
      table.append(el('tbody', ...body.map((r) => el('tr', ...r.map((c) => el('td', ...inline(c, doc)))))));
      out.append(el('div', table));
      out.lastChild.className = 'md-table';
      continue;
    }
    if (/^\s*[-*]\s+/.test(line)) {
      const ul = doc.createElement('ul');
      while (i < lines.length && lines[i].trim() && !/^#{1,6}\s/.test(lines[i]) && !/^\s*\|/.test(lines[i])) {
        const m = lines[i].match(/^\s*[-*]\s+(.*)$/);
        if (m) ul.append(el('li', ...inline(m[1], doc)));
        else ul.lastChild?.append(' ', ...inline(lines[i].trim(), doc)); // a wrapped list item
        i++;
      }
      out.append(ul);
      continue;
    }
    const para = [];
    while (i < lines.length && lines[i].trim() && !/^(#{1,6}\s|\s*\||\s*[-*]\s+)/.test(lines[i])) para.push(lines[i++].trim());
    out.append(el('p', ...inline(para.join(' '), doc)));
  }
  return out;
}

// cells splits a table row on unescaped pipes ("\|" is a literal pipe).
function cells(line) {
  const s = line.trim().replace(/^\|/, '').replace(/\|$/, '');
  const out = [];
  let cur = '';
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '\\' && s[i + 1] === '|') { cur += '|'; i++; } else if (s[i] === '|') { out.push(cur.trim()); cur = ''; } else cur += s[i];
  }
  out.push(cur.trim());
  return out;
}

// inline turns `code`, **bold** and [text](http…) into nodes; everything else is text.
export function inline(s, doc = document) {
  const nodes = [];
  const re = /`([^`]+)`|\*\*([^*]+)\*\*|\[([^\]]+)\]\(([^)\s]+)\)/g;
  let at = 0, m;
  while ((m = re.exec(s))) {
    if (m.index > at) nodes.push(doc.createTextNode(s.slice(at, m.index)));
    if (m[1] !== undefined) nodes.push(Object.assign(doc.createElement('code'), { textContent: m[1] }));
    else if (m[2] !== undefined) nodes.push(Object.assign(doc.createElement('strong'), { textContent: m[2] }));
    else if (/^https?:\/\//i.test(m[4])) {
      const a = Object.assign(doc.createElement('a'), { textContent: m[3], href: m[4], rel: 'noopener noreferrer', target: '_blank' });
      nodes.push(a);
    } else nodes.push(doc.createTextNode(m[3]));
    at = re.lastIndex;
  }
  if (at < s.length) nodes.push(doc.createTextNode(s.slice(at)));
  return nodes;
}
